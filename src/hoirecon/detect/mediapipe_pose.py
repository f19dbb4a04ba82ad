"""MediaPipe's Pose solution on one RGB image, using only the models inside the mediapipe wheel.

This is the one module that talks to mediapipe. ``mediapipe`` is an optional dependency
(``pip install 'hoirecon[detect]'``), imported only when a detection runs.

Nothing is downloaded: the wheel ships the person detector (``pose_detection.tflite``) and the
full landmark model (``pose_landmark_full.tflite``, model complexity 1), which also predicts the
person's segmentation. MediaPipe fetches the lite and heavy landmark models (complexity 0 and 2)
from the network on first use, so those are never asked for, and :func:`bundled_model_files`
checks that the shipped files are present before the graph starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from hoirecon.detect.landmarks import landmark_confidence

INSTALL_HINT = "pip install 'hoirecon[detect]'"

FULL_MODEL_COMPLEXITY = 1
"""MediaPipe's ``model_complexity`` of ``pose_landmark_full``, the landmark model the wheel ships."""

BUNDLED_MODELS: tuple[str, ...] = (
    "modules/pose_detection/pose_detection.tflite",
    "modules/pose_landmark/pose_landmark_full.tflite",
)
"""The model files the Pose graph reads at complexity 1, relative to the mediapipe package."""


class DetectorUnavailableError(ImportError):
    """The person detector cannot run here: mediapipe or one of its bundled models is missing."""


@dataclass
class PoseOutput:
    """What the Pose graph found on one image of H x W pixels."""

    landmarks: np.ndarray
    """(33, 3) normalised x (by width), y (by height) and confidence in [0, 1] per landmark."""
    segmentation: np.ndarray
    """(H, W) float32 probability that each pixel belongs to the person."""


def require_mediapipe() -> ModuleType:
    """The ``mediapipe`` module, or a :class:`DetectorUnavailableError` saying how to install it."""
    # Imported here rather than at the top of the module only because mediapipe is an optional
    # extra: the rest of hoirecon must import and run without it.
    try:
        return importlib.import_module("mediapipe")
    except ImportError as err:
        raise DetectorUnavailableError(
            f"person detection needs the optional dependency mediapipe: {INSTALL_HINT}") from err


def bundled_model_files(mediapipe: ModuleType) -> list[Path]:
    """The model files the detector uses, inside the installed mediapipe package.

    Raises :class:`DetectorUnavailableError` naming any file that is missing (a broken or
    stripped install), since mediapipe would otherwise fail deep inside its graph.
    """
    root = Path(mediapipe.__file__).resolve().parent
    paths = [root / relative for relative in BUNDLED_MODELS]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise DetectorUnavailableError(
            f"the installed mediapipe lacks its bundled model files {missing}; reinstall: {INSTALL_HINT}")
    return paths


def landmark_array(landmarks: Sequence[Any]) -> np.ndarray:
    """MediaPipe ``NormalizedLandmark`` messages to an array.

    Args:
        landmarks: K messages with ``x``, ``y``, ``visibility`` and optionally ``presence``.

    Returns:
        (K, 3) normalised x, y and confidence (see
        :func:`~hoirecon.detect.landmarks.landmark_confidence`).
    """
    xy = np.array([[mark.x, mark.y] for mark in landmarks], dtype=np.float64).reshape(-1, 2)
    visibility = np.array([mark.visibility for mark in landmarks], dtype=np.float64)
    presence = None
    if landmarks and all(mark.HasField("presence") for mark in landmarks):
        presence = np.array([mark.presence for mark in landmarks], dtype=np.float64)
    return np.concatenate([xy, landmark_confidence(visibility, presence)[:, None]], axis=1)


def run_pose(rgb: np.ndarray, min_detection_confidence: float = 0.5) -> PoseOutput | None:
    """Run MediaPipe Pose once, in static-image mode with segmentation, on one image.

    Args:
        rgb: (H, W, 3) uint8 RGB image.
        min_detection_confidence: the person detector's score threshold.

    Returns:
        The most prominent person's landmarks and segmentation, or None when no person is found.
    """
    mediapipe = require_mediapipe()
    bundled_model_files(mediapipe)
    with mediapipe.solutions.pose.Pose(static_image_mode=True, model_complexity=FULL_MODEL_COMPLEXITY,
                                       enable_segmentation=True,
                                       min_detection_confidence=min_detection_confidence) as pose:
        result = pose.process(np.ascontiguousarray(rgb))
    if result.pose_landmarks is None:
        return None
    mask = result.segmentation_mask
    segmentation = np.zeros(rgb.shape[:2], np.float32) if mask is None else np.asarray(mask, np.float32)
    return PoseOutput(landmarks=landmark_array(result.pose_landmarks.landmark), segmentation=segmentation)
