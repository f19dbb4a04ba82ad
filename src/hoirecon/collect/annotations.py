"""The annotation file the annotation page writes and ``hoirecon data build`` reads.

One JSON file per category and image folder::

    {"format": "hoirecon-annotations", "version": 1,
     "category": "skateboard", "keypoint_names": ["nose_left", ...],
     "images": {"<image id>": {"keypoints": [[u, v, state], ...], "box": [x0, y0, x1, y1] | null,
                               "swap_left_right": false, "done": true,
                               "category": "skateboard", "num_keypoints": 8}}}

``keypoints`` follow the template's keypoint order; ``state`` is COCO's visibility flag:
0 = not annotated (out of view, or marked invisible), 1 = placed but hidden behind something,
2 = visible. ``box`` is the object's box in pixels (pixel edges). ``swap_left_right`` says the
person detector confused the body's left and right, so the build mirrors its keypoint labels.
``category`` / ``num_keypoints`` repeat, per image, which template the clicks were made for:
an image annotated for another template is reported and skipped by the build, never matched
against the wrong 3D points. The page writes the whole file atomically after every image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.io.atomic import atomic_write_json

FORMAT_NAME = "hoirecon-annotations"
FORMAT_VERSION = 1
HIDDEN, VISIBLE = 1, 2
"""COCO visibility flags of a placed keypoint (0 = not annotated)."""


class AnnotationError(ValueError):
    """An annotation file or record does not follow the format; the message names file and field."""


@dataclass(frozen=True)
class ImageAnnotation:
    """The object annotation of one image, checked against the category's template."""

    keypoints: np.ndarray
    """(k, 3) u, v pixels and the visibility state (0, 1 or 2), template order."""
    box: np.ndarray | None
    """(4,) x0, y0, x1, y1 pixels, or None."""
    swap_left_right: bool
    done: bool

    @property
    def placed(self) -> np.ndarray:
        """(k,) bool: the keypoints that were clicked (state 1 or 2)."""
        return self.keypoints[:, 2] > 0


def empty_annotations(category: str, keypoint_names: list[str]) -> dict[str, Any]:
    """A new, empty annotation document for a category."""
    return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "category": category,
            "keypoint_names": list(keypoint_names), "images": {}}


def read_annotations(path: str | Path) -> dict[str, Any]:
    """The parsed document; :class:`AnnotationError` naming the file when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise AnnotationError(f"{path}: annotation file not found") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnnotationError(f"{path}: not a readable JSON file ({err})") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise AnnotationError(f"{path}: key 'format': expected {FORMAT_NAME!r} (a file the annotation page wrote)")
    if data.get("version") != FORMAT_VERSION:
        raise AnnotationError(f"{path}: key 'version': expected {FORMAT_VERSION}, got {data.get('version')!r}")
    if not isinstance(data.get("images"), dict):
        raise AnnotationError(f"{path}: key 'images': expected an object of image id -> record")
    return data


def load_or_create(path: str | Path, category: str, keypoint_names: list[str]) -> dict[str, Any]:
    """The document at ``path`` when it exists (to continue it), else an empty one.

    An existing file for another category is refused: its clicks belong to another template.
    """
    if not Path(path).is_file():
        return empty_annotations(category, keypoint_names)
    data = read_annotations(path)
    if data.get("category") != category:
        raise AnnotationError(f"{path}: key 'category': the file annotates {data.get('category')!r}, not {category!r}")
    return data


def write_annotations(path: str | Path, data: dict[str, Any]) -> Path:
    """Write the document atomically (a crash never leaves a half-written file)."""
    return atomic_write_json(path, data)


def _keypoints(value: Any, k: int, where: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise AnnotationError(f"{where}: key 'keypoints': not a list of [u, v, state] ({err})") from err
    if array.shape != (k, 3):
        raise AnnotationError(f"{where}: key 'keypoints': expected {k} rows of [u, v, state], got shape {array.shape}")
    if not np.all(np.isfinite(array)) or not np.all(np.isin(array[:, 2], (0, HIDDEN, VISIBLE))):
        raise AnnotationError(f"{where}: key 'keypoints': values must be finite and each state 0, 1 or 2")
    return array


def _box(value: Any, where: str) -> np.ndarray | None:
    if value is None:
        return None
    box = np.asarray(value, dtype=np.float64) if isinstance(value, list) else np.zeros(0)
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise AnnotationError(f"{where}: key 'box': expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0, got {value!r}")
    return box


def image_annotation(data: dict[str, Any], image_id: str, category: str, keypoint_names: list[str],
                     source: str = "annotations") -> ImageAnnotation | None:
    """The checked annotation of one image (None when the image has none).

    Raises :class:`AnnotationError` naming ``source`` and the image when the record is malformed
    or was made for another template (category or keypoint count).
    """
    record = data["images"].get(image_id)
    if record is None:
        return None
    where = f"{source}: image {image_id!r}"
    if not isinstance(record, dict):
        raise AnnotationError(f"{where}: expected an object")
    k = len(keypoint_names)
    made_for = (record.get("category", data.get("category")), record.get("num_keypoints", k))
    if made_for != (category, k) or list(data.get("keypoint_names", keypoint_names)) != list(keypoint_names):
        raise AnnotationError(f"{where}: annotated for template {made_for[0]!r} with {made_for[1]} keypoints, "
                              f"not {category!r} with {k} ({', '.join(keypoint_names)})")
    return ImageAnnotation(_keypoints(record.get("keypoints"), k, where), _box(record.get("box"), where),
                           bool(record.get("swap_left_right", False)), bool(record.get("done", False)))


def record(annotation: ImageAnnotation, category: str) -> dict[str, Any]:
    """The JSON record of an image annotation (what the page writes)."""
    return {"keypoints": annotation.keypoints.tolist(),
            "box": None if annotation.box is None else annotation.box.tolist(),
            "swap_left_right": annotation.swap_left_right, "done": annotation.done,
            "category": category, "num_keypoints": len(annotation.keypoints)}
