"""The COCO keypoint results JSON and the person mask PNG: round trips and layout."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from hoirecon.detect import PersonDetection, coco_result, write_detection
from hoirecon.detect.writers import KEYPOINTS_FILE, MASK_FILE, write_mask_png
from hoirecon.io.masks import load_mask


def _detection(height: int = 30, width: int = 40) -> PersonDetection:
    rng = np.random.default_rng(0)
    keypoints = np.concatenate([rng.uniform(0, [width, height], (17, 2)), rng.uniform(0, 1, (17, 1))], axis=1)
    mask = np.zeros((height, width), bool)
    mask[5:20, 10:25] = True
    return PersonDetection(keypoints=keypoints, box=np.array([10.0, 5.0, 15.0, 15.0]), mask=mask, score=0.75)


@pytest.mark.parametrize("image_id", [785, "coco_000000000785"])
def test_results_json_round_trips_every_field(tmp_path: Path, image_id: int | str) -> None:
    detection = _detection()
    files = write_detection(detection, tmp_path / "out", image_id)
    assert files.keypoints == tmp_path / "out" / KEYPOINTS_FILE
    results = json.loads(files.keypoints.read_text())
    assert isinstance(results, list) and len(results) == 1
    entry = results[0]
    assert set(entry) == {"image_id", "category_id", "keypoints", "score", "bbox"}
    assert entry["image_id"] == image_id and entry["category_id"] == 1
    assert len(entry["keypoints"]) == 51
    np.testing.assert_allclose(np.reshape(entry["keypoints"], (17, 3)), detection.keypoints)
    assert entry["score"] == pytest.approx(0.75)
    assert entry["bbox"] == [10.0, 5.0, 15.0, 15.0]
    assert entry == coco_result(detection, image_id)


def test_mask_png_is_the_image_size_with_values_0_and_255(tmp_path: Path) -> None:
    detection = _detection(height=30, width=40)
    files = write_detection(detection, tmp_path, 1)
    assert files.mask == tmp_path / MASK_FILE
    stored = cv2.imread(str(files.mask), cv2.IMREAD_UNCHANGED)
    assert stored.shape == (30, 40) and stored.dtype == np.uint8
    assert set(np.unique(stored)) == {0, 255}
    np.testing.assert_array_equal(stored == 255, detection.mask)
    np.testing.assert_array_equal(load_mask(files.mask, (40, 30), "human"), detection.mask)


def test_writing_leaves_only_the_two_files(tmp_path: Path) -> None:
    write_detection(_detection(), tmp_path, 1)
    write_detection(_detection(), tmp_path, 2)  # overwrites in place
    assert sorted(path.name for path in tmp_path.iterdir()) == [KEYPOINTS_FILE, MASK_FILE]
    assert json.loads((tmp_path / KEYPOINTS_FILE).read_text())[0]["image_id"] == 2


def test_the_real_detection_writes_a_mask_of_the_photo_size(tmp_path: Path, real_detection: PersonDetection,
                                                            ground_truth) -> None:
    files = write_detection(real_detection, tmp_path, 785)
    stored = cv2.imread(str(files.mask), cv2.IMREAD_UNCHANGED)
    width, height = ground_truth.image_size
    assert stored.shape == (height, width)
    assert set(np.unique(stored)) == {0, 255}
    entry = json.loads(files.keypoints.read_text())[0]
    assert len(entry["keypoints"]) == 51 and entry["image_id"] == 785


@pytest.mark.parametrize("image_id", [True, "", 1.5, None])
def test_a_bad_image_id_is_rejected_by_name(image_id: object) -> None:
    with pytest.raises(ValueError, match="image_id"):
        coco_result(_detection(), image_id)  # type: ignore[arg-type]


def test_a_mask_that_is_not_bool_is_rejected_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="person_mask.png"):
        write_mask_png(tmp_path / "person_mask.png", np.zeros((3, 4), np.uint8))
    assert not any(tmp_path.iterdir())
