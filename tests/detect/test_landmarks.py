"""MediaPipe's 33 landmarks to COCO-17: names and sides against mediapipe's own enum, pixels."""

from __future__ import annotations

import numpy as np
import pytest
from mediapipe.python.solutions.pose import PoseLandmark

from hoirecon.detect.landmarks import (
    COCO_KEYPOINT_NAMES,
    MEDIAPIPE_INDEX_OF_COCO,
    NUM_MEDIAPIPE_LANDMARKS,
    coco_keypoints_from_landmarks,
    landmark_confidence,
    mediapipe_to_coco,
    normalized_to_pixels,
)


def test_every_coco_keypoint_maps_to_the_mediapipe_landmark_of_the_same_name() -> None:
    assert len(COCO_KEYPOINT_NAMES) == len(MEDIAPIPE_INDEX_OF_COCO) == 17
    assert len(PoseLandmark) == NUM_MEDIAPIPE_LANDMARKS
    mapped = [PoseLandmark(index).name.lower() for index in MEDIAPIPE_INDEX_OF_COCO]
    assert mapped == list(COCO_KEYPOINT_NAMES)


def test_the_sides_are_the_persons_own_and_never_swapped() -> None:
    for name, index in zip(COCO_KEYPOINT_NAMES, MEDIAPIPE_INDEX_OF_COCO, strict=True):
        side = name.split("_")[0]
        if side in ("left", "right"):
            assert PoseLandmark(index).name.startswith(side.upper() + "_"), name
    # COCO's order alternates left, right from the eyes on: the mapped indices must too.
    lefts = [MEDIAPIPE_INDEX_OF_COCO[i] for i in range(1, 17, 2)]
    rights = [MEDIAPIPE_INDEX_OF_COCO[i] for i in range(2, 17, 2)]
    assert all(PoseLandmark(i).name.startswith("LEFT_") for i in lefts)
    assert all(PoseLandmark(i).name.startswith("RIGHT_") for i in rights)


def test_selection_keeps_batch_dims_and_picks_the_listed_rows() -> None:
    landmarks = np.arange(2 * 33 * 3, dtype=float).reshape(2, 33, 3)
    coco = mediapipe_to_coco(landmarks)
    assert coco.shape == (2, 17, 3)
    np.testing.assert_array_equal(coco[1, :, 0], landmarks[1, list(MEDIAPIPE_INDEX_OF_COCO), 0])


def test_selection_rejects_a_wrong_landmark_count() -> None:
    with pytest.raises(ValueError, match="landmarks"):
        mediapipe_to_coco(np.zeros((17, 3)))


def test_normalised_coordinates_scale_by_width_and_height() -> None:
    points = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.25], [-0.1, 1.2]])
    pixels = normalized_to_pixels(points, (640, 425))
    np.testing.assert_allclose(pixels, [[0, 0], [640, 425], [320, 106.25], [-64, 510]])


def test_confidence_is_visibility_times_presence_clipped_to_unit_range() -> None:
    visibility = np.array([0.9, 0.5, 1.2])
    np.testing.assert_allclose(landmark_confidence(visibility), [0.9, 0.5, 1.0])
    np.testing.assert_allclose(landmark_confidence(visibility, np.array([0.5, 1.0, 0.5])), [0.45, 0.5, 0.6])


def test_landmarks_become_coco_keypoints_in_pixels() -> None:
    rng = np.random.default_rng(0)
    landmarks = np.concatenate([rng.uniform(0, 1, (33, 2)), rng.uniform(0, 1, (33, 1))], axis=1)
    keypoints = coco_keypoints_from_landmarks(landmarks, (640, 425))
    assert keypoints.shape == (17, 3)
    left_wrist = COCO_KEYPOINT_NAMES.index("left_wrist")
    x, y, confidence = landmarks[PoseLandmark.LEFT_WRIST]
    np.testing.assert_allclose(keypoints[left_wrist], [x * 640, y * 425, confidence])


def test_landmarks_of_the_wrong_shape_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"landmarks: expected shape \(33, 3\)"):
        coco_keypoints_from_landmarks(np.zeros((33, 4)), (640, 425))
