"""One frame of a build: every problem becomes a reason code and a message, never an exception."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hoirecon.body import load_body_model
from hoirecon.collect.annotations import read_annotations
from hoirecon.collect.item import ItemContext, process_image
from hoirecon.collect.object_pose import PoseConfig
from hoirecon.objects import load_template


@pytest.fixture(scope="module")
def body_model():
    return load_body_model()


def _context(folder: Path, out: Path, body_model, annotations: bool = True) -> ItemContext:
    doc = read_annotations(folder / "skateboard.annotations.json") if annotations else None
    return ItemContext("skateboard", load_template("skateboard"), body_model, folder, out, doc, "train", None,
                       False, 0.0, 0.25, PoseConfig())


def _person_file(folder: Path, image_id: str) -> Path:
    return folder / f"{image_id}.keypoints.json"


def test_a_good_frame_is_kept_with_its_pose_info(photo_folder, body_model, tmp_path: Path) -> None:
    folder, truth = photo_folder
    image_id = sorted(truth)[0]
    result = process_image(_context(folder, tmp_path, body_model), image_id, folder / f"{image_id}.png")
    assert result.kept and result.info["method"] == "pnp" and result.info["body_source"] == "estimate"
    assert result.sample["image_id"] == image_id and len(result.sample["keypoints_2d"]) == 30


@pytest.mark.parametrize("damage, code, words", [
    (lambda f, i: _person_file(f, i).write_text("[]"), "no-person", "no person"),
    (lambda f, i: _person_file(f, i).write_text(json.dumps(
        [{"image_id": 1, "category_id": 1, "score": 1.0, "keypoints": [5000.0, 5000.0, 1.0] * 17}])),
     "bad-evidence", "outside"),
    (lambda f, i: _person_file(f, i).write_text(json.dumps(
        [{"image_id": 1, "category_id": 1, "score": 1.0, "bbox": [0, 0, 10, 10],
          "keypoints": ([2.0, 2.0, 1.0] * 3) + [0.0, 0.0, 0.0] * 14}])), "no-pair", "overlaps"),
    (lambda f, i: (f / f"{i}.body.npz").unlink() or _person_file(f, i).write_text(json.dumps(
        [{"image_id": 1, "category_id": 1, "score": 1.0, "bbox": [0, 0, 256, 256],
          "keypoints": ([128.0, 128.0, 1.0] * 3) + [0.0, 0.0, 0.0] * 14}])), "body", "too few body keypoints"),
    (lambda f, i: (f / f"{i}.body.npz").write_bytes(b"junk"), "bad-evidence", ".body.npz"),
    (lambda f, i: (f / f"{i}.camera.json").write_text("{}"), "unreadable", ".camera.json"),
])
def test_problems_become_reasons(photo_folder, body_model, tmp_path: Path, damage, code: str, words: str) -> None:
    folder, truth = photo_folder
    image_id = sorted(truth)[1]
    damage(folder, image_id)
    result = process_image(_context(folder, tmp_path, body_model), image_id, folder / f"{image_id}.png")
    assert not result.kept and result.code == code and words in result.reason


def test_object_evidence_from_files_without_annotations(photo_folder, body_model, tmp_path: Path) -> None:
    folder, truth = photo_folder
    image_id = sorted(truth)[2]
    clicks = np.array(read_annotations(folder / "skateboard.annotations.json")["images"][image_id]["keypoints"])
    ctx = _context(folder, tmp_path, body_model, annotations=False)
    missing = process_image(ctx, image_id, folder / f"{image_id}.png")
    assert missing.code == "no-object-evidence"
    (folder / f"{image_id}.object_keypoints.json").write_text(json.dumps(
        {"keypoints": np.c_[clicks[:, :2], (clicks[:, 2] > 0) * 0.9].tolist()}))
    found = process_image(ctx, image_id, folder / f"{image_id}.png")
    assert found.kept and found.info["method"] == "pnp"
