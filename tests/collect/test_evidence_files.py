"""Per-image evidence files: discovery, cameras, boxes, and the cache fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hoirecon.collect.evidence_files import find_evidence, fingerprint, read_intrinsics, read_object_box


def test_files_are_found_by_their_suffix(tmp_path: Path) -> None:
    for name in ("a.keypoints.json", "a.body.npz", "a.object_mask.png", "b.keypoints.json"):
        (tmp_path / name).write_text("x")
    found = find_evidence("a", tmp_path)
    assert found.person_keypoints == tmp_path / "a.keypoints.json" and found.body_estimate == tmp_path / "a.body.npz"
    assert found.object_keypoints is None and len(found.present()) == 3


def test_intrinsics_from_camera_file_focal_or_default(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.new("RGB", (200, 100)).save(image)
    assert read_intrinsics(image, None, None)[0, 0] == 200 and read_intrinsics(image, None, 150.0)[0, 0] == 150
    cam = tmp_path / "a.camera.json"
    cam.write_text(json.dumps({"focal": 321}))
    assert read_intrinsics(image, cam, None)[1, 1] == 321
    cam.write_text(json.dumps({"intrinsics": [[1, 0, 2], [0, 1, 3], [0, 0, 1]]}))
    assert read_intrinsics(image, cam, None)[0, 2] == 2
    cam.write_text(json.dumps({"intrinsics": [[-1, 0, 2], [0, 1, 3], [0, 0, 1]]}))
    with pytest.raises(ValueError, match="a.camera.json"):
        read_intrinsics(image, cam, None)


def test_object_box_file(tmp_path: Path) -> None:
    path = tmp_path / "a.object_box.json"
    path.write_text(json.dumps({"box": [1, 2, 3, 4]}))
    assert np.allclose(read_object_box(path), [1, 2, 3, 4])
    path.write_text(json.dumps({"box": [3, 2, 1, 4]}))
    with pytest.raises(ValueError, match="x1 > x0"):
        read_object_box(path)


def test_fingerprint_changes_with_files_and_settings(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("1")
    first = fingerprint([f], {"x": 1})
    assert fingerprint([f], {"x": 1}) == first and fingerprint([f], {"x": 2}) != first
    f.write_text("12")
    assert fingerprint([f], {"x": 1}) != first
