"""Detection files: the COCO keypoint results JSON and the person mask PNG, written atomically.

The results file is the list that COCO's keypoint evaluation reads (``COCO.loadRes`` then
``COCOeval`` with ``iouType="keypoints"``): one entry per person with ``image_id``,
``category_id`` 1 (person), ``keypoints`` as 17 flat x, y, v triples in COCO's keypoint order,
``score`` and ``bbox`` = x, y, width, height. In results, v is the keypoint's confidence; the
evaluation reads only x and y. The mask PNG is 8-bit grey, 255 on the person and 0 elsewhere,
the layout :func:`hoirecon.io.masks.load_mask` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hoirecon.detect.person import PersonDetection
from hoirecon.io.atomic import atomic_write_bytes, atomic_write_json

KEYPOINTS_FILE = "keypoints.json"
"""Name of the COCO results file in a detection folder."""
MASK_FILE = "person_mask.png"
"""Name of the person mask in a detection folder."""
PERSON_CATEGORY_ID = 1
"""COCO's category id of ``person``."""


@dataclass
class DetectionFiles:
    """The files :func:`write_detection` wrote."""

    keypoints: Path
    """The COCO keypoint results JSON (a list with one entry)."""
    mask: Path
    """The person mask PNG (0 / 255), the size of the image."""


def _check_image_id(image_id: int | str) -> None:
    valid_int = isinstance(image_id, int) and not isinstance(image_id, bool)
    if not (valid_int or (isinstance(image_id, str) and image_id)):
        raise ValueError(f"image_id: expected an int or a non-empty str, got {image_id!r}")


def coco_result(detection: PersonDetection, image_id: int | str) -> dict[str, Any]:
    """One entry of a COCO keypoint results list for ``detection`` on image ``image_id``.

    ``keypoints`` holds 51 numbers (17 x, y, v triples, v the confidence); ``bbox`` is
    x, y, width, height in pixels.
    """
    _check_image_id(image_id)
    return {
        "image_id": image_id,
        "category_id": PERSON_CATEGORY_ID,
        "keypoints": [float(value) for value in detection.keypoints.reshape(-1)],
        "score": float(detection.score),
        "bbox": [float(value) for value in detection.box],
    }


def write_coco_results(path: str | Path, results: list[dict[str, Any]]) -> Path:
    """Write a COCO keypoint results list (entries from :func:`coco_result`) as JSON; returns the path."""
    return atomic_write_json(path, results)


def write_mask_png(path: str | Path, mask: np.ndarray) -> Path:
    """Write an (H, W) bool mask as an 8-bit PNG, 255 inside and 0 outside; returns the path."""
    if mask.ndim != 2 or mask.dtype != np.bool_:
        raise ValueError(f"mask for {path}: expected an (H, W) bool array, got {mask.dtype} of shape {mask.shape}")
    ok, encoded = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    if not ok:
        raise ValueError(f"mask for {path}: OpenCV could not encode it as PNG")
    return atomic_write_bytes(path, encoded.tobytes())


def write_detection(detection: PersonDetection, out_dir: str | Path, image_id: int | str) -> DetectionFiles:
    """Write ``keypoints.json`` (COCO results with this one person) and ``person_mask.png`` into
    ``out_dir`` (created if needed); returns their paths."""
    out = Path(out_dir)
    keypoints = write_coco_results(out / KEYPOINTS_FILE, [coco_result(detection, image_id)])
    mask = write_mask_png(out / MASK_FILE, detection.mask)
    return DetectionFiles(keypoints=keypoints, mask=mask)
