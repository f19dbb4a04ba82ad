"""The real photo with its COCO ground truth, and one detection on it shared by the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hoirecon.detect import PersonDetection, detect_person

REAL_DIR = Path(__file__).resolve().parents[1] / "data" / "real" / "coco_000000000785"


@dataclass
class GroundTruth:
    """The photo's annotated person."""

    keypoints: np.ndarray
    """(17, 3) u, v in pixels and COCO's visibility flag (0: not labelled)."""
    box: np.ndarray
    """(4,) x, y, width, height."""
    area: float
    """Area of the annotated segmentation, in pixels."""
    image_size: tuple[int, int]
    """(width, height)."""


@pytest.fixture(scope="session")
def real_photo() -> Path:
    return REAL_DIR / "image.jpg"


@pytest.fixture(scope="session")
def ground_truth() -> GroundTruth:
    data = json.loads((REAL_DIR / "keypoints_gt.json").read_text())
    annotation, image = data["annotations"][0], data["images"][0]
    return GroundTruth(keypoints=np.array(annotation["keypoints"], float).reshape(17, 3),
                       box=np.array(annotation["bbox"], float), area=float(annotation["area"]),
                       image_size=(image["width"], image["height"]))


@pytest.fixture(scope="session")
def real_detection(real_photo: Path) -> PersonDetection:
    return detect_person(real_photo)
