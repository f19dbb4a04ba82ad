"""MediaPipe's 33 pose landmarks as the 17 COCO person keypoints, in pixels.

MediaPipe names sides from the person's point of view, as COCO does, so ``left_wrist`` maps to
MediaPipe's ``LEFT_WRIST`` with no swap. The keypoint layout is (K, 3) = u, v, confidence with
u, v in pixels of the image the landmarks were found on (MediaPipe normalises x by the width
and y by the height).
"""

from __future__ import annotations

import numpy as np

COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
"""The 17 COCO person keypoints, in COCO's order."""

NUM_MEDIAPIPE_LANDMARKS = 33
"""Landmarks of MediaPipe's pose landmark model (BlazePose)."""

MEDIAPIPE_INDEX_OF_COCO: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
"""For each COCO keypoint, the index of the MediaPipe landmark at the same body point
(``left_eye`` is MediaPipe's ``LEFT_EYE``, the pupil, not its inner or outer corner)."""


def mediapipe_to_coco(landmarks: np.ndarray) -> np.ndarray:
    """Select the 17 COCO keypoints from MediaPipe landmarks.

    Args:
        landmarks: (*, 33, C) any per-landmark values (coordinates, confidences).

    Returns:
        (*, 17, C) the rows of the COCO keypoints, in COCO's order.
    """
    if landmarks.ndim < 2 or landmarks.shape[-2] != NUM_MEDIAPIPE_LANDMARKS:
        raise ValueError(f"landmarks: expected shape (*, {NUM_MEDIAPIPE_LANDMARKS}, C), got {landmarks.shape}")
    return landmarks[..., MEDIAPIPE_INDEX_OF_COCO, :]


def normalized_to_pixels(points: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Normalised image coordinates (x / width, y / height) to pixels.

    Args:
        points: (*, K, 2) normalised x, y; points outside [0, 1] stay outside the image.
        image_size: (width, height) in pixels.

    Returns:
        (*, K, 2) u, v in pixels.
    """
    width, height = image_size
    return points * np.array([width, height], dtype=np.float64)


def landmark_confidence(visibility: np.ndarray, presence: np.ndarray | None = None) -> np.ndarray:
    """Per-landmark confidence in [0, 1]: the visibility, times the presence when it is given.

    Args:
        visibility: (*, K) MediaPipe's likelihood that the landmark is visible.
        presence: (*, K) its likelihood that the landmark lies in the image, or None when the
            model output does not carry it (MediaPipe's Pose solution clears it).

    Returns:
        (*, K) confidences.
    """
    confidence = visibility if presence is None else visibility * presence
    return np.clip(confidence, 0.0, 1.0)


def coco_keypoints_from_landmarks(landmarks: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """MediaPipe landmarks to COCO-17 keypoints in pixels.

    Args:
        landmarks: (33, 3) normalised x, y and confidence per MediaPipe landmark.
        image_size: (width, height) of the image they were found on.

    Returns:
        (17, 3) u, v in pixels and confidence, in COCO's order.
    """
    if landmarks.shape != (NUM_MEDIAPIPE_LANDMARKS, 3):
        raise ValueError(f"landmarks: expected shape ({NUM_MEDIAPIPE_LANDMARKS}, 3), got {landmarks.shape}")
    coco = mediapipe_to_coco(landmarks.astype(np.float64))
    uv = normalized_to_pixels(coco[:, :2], image_size)
    return np.concatenate([uv, coco[:, 2:3]], axis=1)
