"""detect_person on a real photo against its COCO ground truth, the person box, and bad inputs."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from hoirecon.detect import COCO_KEYPOINT_NAMES, DetectorConfig, NoPersonError, PersonDetection, detect_person
from hoirecon.detect.person import person_box, read_rgb

log = logging.getLogger(__name__)

# COCO's keypoint order swapped left for right (nose stays).
SWAP_SIDES = [0] + [i + 1 if i % 2 else i - 1 for i in range(1, 17)]


def pck(predicted: np.ndarray, truth: np.ndarray, box: np.ndarray, alpha: float = 0.1) -> float:
    """Fraction of the labelled keypoints within ``alpha`` x the box diagonal of the truth.

    predicted: (K, 2+) pixels; truth: (K, 3) pixels and COCO visibility flag; box: (4,) x, y, w, h.
    """
    labelled = truth[:, 2] > 0
    errors = np.linalg.norm(predicted[labelled, :2] - truth[labelled, :2], axis=1)
    return float(np.mean(errors <= alpha * np.hypot(box[2], box[3])))


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    low, high = np.maximum(a[:2], b[:2]), np.minimum(a[:2] + a[2:], b[:2] + b[2:])
    inter = float(np.prod(np.clip(high - low, 0, None)))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_keypoints_on_the_real_photo_reach_pck_0_1_of_0_8(real_detection: PersonDetection, ground_truth) -> None:
    value = pck(real_detection.keypoints, ground_truth.keypoints, ground_truth.box)
    log.info("PCK@0.1 on coco_000000000785: %.3f", value)
    assert value >= 0.8
    # The same score with the ground truth's sides swapped must fail, or the test could not see a swap.
    assert pck(real_detection.keypoints, ground_truth.keypoints[SWAP_SIDES], ground_truth.box) < 0.8


def test_detection_on_the_real_photo_has_the_documented_layout(real_detection: PersonDetection, ground_truth) -> None:
    width, height = ground_truth.image_size
    assert real_detection.keypoints.shape == (len(COCO_KEYPOINT_NAMES), 3)
    assert np.all((real_detection.keypoints[:, 2] >= 0) & (real_detection.keypoints[:, 2] <= 1))
    assert real_detection.mask.shape == (height, width) and real_detection.mask.dtype == np.bool_
    assert real_detection.image_size == (width, height)
    assert 0.5 <= real_detection.score <= 1.0


def test_box_and_mask_match_the_annotated_person(real_detection: PersonDetection, ground_truth) -> None:
    assert box_iou(real_detection.box, ground_truth.box) >= 0.8
    assert abs(real_detection.mask.sum() / ground_truth.area - 1.0) <= 0.25


def test_person_box_covers_mask_pixels_and_confident_keypoints_in_the_image() -> None:
    mask = np.zeros((6, 12), bool)
    mask[2:4, 1:5] = True  # pixels x 1..4, y 2..3
    keypoints = np.array([[10.0, 1.0, 0.9], [11.0, 5.0, 0.1], [20.0, 3.0, 0.9], [3.0, -1.0, 0.9]])
    np.testing.assert_allclose(person_box(mask, keypoints, 0.5), [1, 1, 9, 3])
    np.testing.assert_allclose(person_box(mask, keypoints[:0], 0.5), [1, 2, 4, 2])
    assert person_box(np.zeros((6, 12), bool), keypoints[1:], 0.5) is None


def test_a_text_file_named_jpg_is_rejected_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("not an image")
    with pytest.raises(ValueError, match="notes.jpg: not a readable image") as info:
        detect_person(path)
    assert not isinstance(info.value, NoPersonError)


def test_a_missing_file_is_rejected_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="absent.png: no such image file"):
        detect_person(tmp_path / "absent.png")
    with pytest.raises(ValueError, match="no such image file"):
        read_rgb(tmp_path)  # a folder is not an image file either


def test_an_image_without_a_person_raises_no_person_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((425, 640, 3), 128, np.uint8))
    with pytest.raises(NoPersonError, match="grey.png: no person found"):
        detect_person(path)


def test_read_rgb_returns_rgb_in_the_stored_size(tmp_path: Path) -> None:
    path = tmp_path / "red.png"
    bgr = np.zeros((5, 7, 3), np.uint8)
    bgr[..., 2] = 255
    cv2.imwrite(str(path), bgr)
    rgb = read_rgb(path)
    assert rgb.shape == (5, 7, 3) and rgb.dtype == np.uint8
    assert np.all(rgb[..., 0] == 255) and np.all(rgb[..., 1:] == 0)


def test_config_thresholds_outside_the_unit_range_are_rejected() -> None:
    with pytest.raises(ValueError, match="DetectorConfig.mask_threshold"):
        DetectorConfig(mask_threshold=1.5)


def test_a_detection_of_the_wrong_shape_is_rejected_naming_the_field() -> None:
    mask = np.zeros((4, 4), bool)
    with pytest.raises(ValueError, match="PersonDetection.keypoints"):
        PersonDetection(keypoints=np.zeros((33, 3)), box=np.zeros(4), mask=mask, score=0.5)
    with pytest.raises(ValueError, match="PersonDetection.box"):
        PersonDetection(keypoints=np.zeros((17, 3)), box=np.zeros(2), mask=mask, score=0.5)
    with pytest.raises(ValueError, match="PersonDetection.mask"):
        PersonDetection(keypoints=np.zeros((17, 3)), box=np.zeros(4), mask=mask.astype(np.uint8), score=0.5)
