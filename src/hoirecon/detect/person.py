"""One image file to person evidence: COCO-17 keypoints, a box, a silhouette and a score.

The evidence is that of the most prominent person (MediaPipe Pose finds one person per image),
in pixels of the image as stored on disk, after its EXIF orientation is applied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hoirecon.detect.landmarks import COCO_KEYPOINT_NAMES, coco_keypoints_from_landmarks
from hoirecon.detect.mediapipe_pose import run_pose

log = logging.getLogger(__name__)


class NoPersonError(ValueError):
    """The detector found no person in an image; the message names the file."""


@dataclass
class DetectorConfig:
    """Thresholds of :func:`detect_person`."""

    min_detection_confidence: float = 0.5
    """Score the person detector must reach for a person to be reported."""
    mask_threshold: float = 0.5
    """Segmentation probability above which a pixel belongs to the person mask."""
    min_keypoint_confidence: float = 0.5
    """Confidence a keypoint needs to widen the person box."""

    def __post_init__(self) -> None:
        for name in ("min_detection_confidence", "mask_threshold", "min_keypoint_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"DetectorConfig.{name} must lie in [0, 1], got {value}")


@dataclass
class PersonDetection:
    """One person found on an image of H x W pixels."""

    keypoints: np.ndarray
    """(17, 3) u, v in pixels and confidence in [0, 1], in COCO's keypoint order."""
    box: np.ndarray
    """(4,) x, y, width, height in pixels (COCO's bbox layout) around the mask and confident keypoints."""
    mask: np.ndarray
    """(H, W) bool, True on the person's pixels."""
    score: float
    """Person score in [0, 1]: the mean keypoint confidence."""

    def __post_init__(self) -> None:
        if self.keypoints.shape != (len(COCO_KEYPOINT_NAMES), 3):
            raise ValueError(f"PersonDetection.keypoints: expected shape (17, 3), got {self.keypoints.shape}")
        if self.box.shape != (4,):
            raise ValueError(f"PersonDetection.box: expected shape (4,), got {self.box.shape}")
        if self.mask.ndim != 2 or self.mask.dtype != np.bool_:
            raise ValueError(f"PersonDetection.mask: expected an (H, W) bool array, "
                             f"got {self.mask.dtype} of shape {self.mask.shape}")

    @property
    def image_size(self) -> tuple[int, int]:
        """(width, height) of the image the person was found on."""
        return self.mask.shape[1], self.mask.shape[0]


def read_rgb(image_path: str | Path) -> np.ndarray:
    """The image at ``image_path`` as (H, W, 3) uint8 RGB.

    Raises ValueError naming the file when it is missing or not a readable image.
    """
    path = Path(image_path)
    if not path.is_file():
        raise ValueError(f"{path}: no such image file")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not a readable image (expected a JPEG, PNG or another format OpenCV reads)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def person_box(mask: np.ndarray, keypoints: np.ndarray, min_confidence: float) -> np.ndarray | None:
    """The smallest box around the mask's pixels and the confident keypoints inside the image.

    Args:
        mask: (H, W) bool person mask.
        keypoints: (K, 3) u, v in pixels and confidence.
        min_confidence: keypoints below it are left out.

    Returns:
        (4,) x, y, width, height, or None when there is no such pixel or keypoint.
    """
    height, width = mask.shape
    rows, cols = np.nonzero(mask)
    uv = keypoints[:, :2]
    inside = ((keypoints[:, 2] >= min_confidence) & (uv[:, 0] >= 0) & (uv[:, 0] <= width)
              & (uv[:, 1] >= 0) & (uv[:, 1] <= height))
    # A pixel (c, r) covers [c, c + 1) x [r, r + 1), so the mask contributes both of its corners.
    lows = np.concatenate([np.stack([cols, rows], axis=1), uv[inside]])
    highs = np.concatenate([np.stack([cols + 1, rows + 1], axis=1), uv[inside]])
    if len(lows) == 0:
        return None
    x0, y0 = lows.min(axis=0)
    x1, y1 = highs.max(axis=0)
    return np.array([x0, y0, x1 - x0, y1 - y0], dtype=np.float64)


def detect_person(image_path: str | Path, config: DetectorConfig | None = None) -> PersonDetection:
    """Find the most prominent person on an image file, on the CPU and offline.

    Args:
        image_path: an image file OpenCV reads (JPEG, PNG, ...).
        config: thresholds; the defaults of :class:`DetectorConfig` when None.

    Returns:
        The person's keypoints, box and mask in pixels of the image, and a score.

    Raises:
        ValueError: the file is missing or not a readable image.
        NoPersonError: no person was found.
        DetectorUnavailableError: mediapipe (the ``detect`` extra) is not installed.
    """
    config = config or DetectorConfig()
    rgb = read_rgb(image_path)
    height, width = rgb.shape[:2]
    pose = run_pose(rgb, config.min_detection_confidence)
    if pose is None:
        raise NoPersonError(f"{image_path}: no person found")
    keypoints = coco_keypoints_from_landmarks(pose.landmarks, (width, height))
    mask = pose.segmentation > config.mask_threshold
    box = person_box(mask, keypoints, config.min_keypoint_confidence)
    if box is None:
        raise NoPersonError(f"{image_path}: a pose was found but no keypoint or pixel of it lies in the image")
    score = float(keypoints[:, 2].mean())
    log.debug("%s: person with score %.3f, box %s", image_path, score, np.round(box, 1).tolist())
    return PersonDetection(keypoints=keypoints, box=box, mask=mask, score=score)
