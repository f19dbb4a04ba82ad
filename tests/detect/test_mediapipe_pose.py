"""The mediapipe boundary: bundled models only, nothing downloaded, a clear error without mediapipe."""

from __future__ import annotations

import socket
import sys
import types
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from mediapipe.framework.formats import landmark_pb2
from mediapipe.python.solutions import download_utils

from hoirecon.detect import DetectorUnavailableError, detect_person
from hoirecon.detect.mediapipe_pose import (
    BUNDLED_MODELS,
    INSTALL_HINT,
    bundled_model_files,
    landmark_array,
    require_mediapipe,
    run_pose,
)


def test_the_wheel_ships_the_models_the_detector_uses() -> None:
    mediapipe = require_mediapipe()
    paths = bundled_model_files(mediapipe)
    assert [path.name for path in paths] == ["pose_detection.tflite", "pose_landmark_full.tflite"]
    package = Path(mediapipe.__file__).resolve().parent
    assert all(path.is_file() and path.is_relative_to(package) and path.stat().st_size > 100_000 for path in paths)


def test_a_stripped_install_is_reported_with_the_missing_files(tmp_path: Path) -> None:
    fake = types.ModuleType("mediapipe")
    fake.__file__ = str(tmp_path / "__init__.py")
    with pytest.raises(DetectorUnavailableError, match="pose_detection.tflite") as info:
        bundled_model_files(fake)
    assert INSTALL_HINT in str(info.value)
    assert len(BUNDLED_MODELS) == 2


def test_missing_mediapipe_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, real_photo: Path) -> None:
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` fail
    with pytest.raises(ImportError, match=r"pip install 'hoirecon\[detect\]'"):
        require_mediapipe()
    with pytest.raises(DetectorUnavailableError, match=r"pip install 'hoirecon\[detect\]'"):
        detect_person(real_photo)


def test_detection_runs_with_the_network_closed(monkeypatch: pytest.MonkeyPatch, real_photo: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the detector tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(download_utils, "download_oss_model", refuse)
    rgb = cv2.cvtColor(cv2.imread(str(real_photo)), cv2.COLOR_BGR2RGB)
    pose = run_pose(rgb)
    assert pose is not None
    assert pose.landmarks.shape == (33, 3)
    assert pose.segmentation.shape == rgb.shape[:2]
    assert pose.segmentation.min() >= 0.0 and pose.segmentation.max() <= 1.0


def test_no_pose_on_a_blank_image() -> None:
    assert run_pose(np.full((240, 320, 3), 128, np.uint8)) is None


def _landmark(x: float, y: float, visibility: float, presence: float | None) -> landmark_pb2.NormalizedLandmark:
    mark = landmark_pb2.NormalizedLandmark(x=x, y=y, visibility=visibility)
    if presence is not None:
        mark.presence = presence
    return mark


def test_landmark_messages_become_an_array_with_presence_used_when_given() -> None:
    without = landmark_array([_landmark(0.25, 0.5, 0.8, None), _landmark(1.0, 0.0, 0.4, None)])
    np.testing.assert_allclose(without, [[0.25, 0.5, 0.8], [1.0, 0.0, 0.4]], rtol=1e-6)
    with_presence = landmark_array([_landmark(0.25, 0.5, 0.8, 0.5), _landmark(1.0, 0.0, 0.4, 1.0)])
    np.testing.assert_allclose(with_presence[:, 2], [0.4, 0.4], rtol=1e-6)
