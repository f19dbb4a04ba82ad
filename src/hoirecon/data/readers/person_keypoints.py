"""Person keypoints from the JSON files public 2D pose detectors write, in their own joint sets.

:func:`read_people` recognises the layout from the file's structure:

* COCO keypoint results (mmpose's ``CocoMetric``, ViTPose, our detector): a list of
  ``{"image_id", "category_id", "keypoints": [x, y, score] * 17, "score", "bbox"?}`` with
  ``bbox`` as x, y, width, height. COCO-WholeBody results split the 133 joints into
  ``keypoints`` (17 body), ``foot_kpts`` (6), ``face_kpts`` (68), ``lefthand_kpts`` (21) and
  ``righthand_kpts`` (21), which are joined back in that order.
* COCO annotations ``{"annotations": [...], "images"?: [...]}`` (same records, no ``score``);
  their visibility flags v (0 unlabelled, 1 occluded, 2 visible) become confidence 1 where v > 0.
* mmpose 1.x predictions, one dict per instance ``{"keypoints": [[x, y]] * K,
  "keypoint_scores": [K], "bbox": [[x1, y1, x2, y2]], "bbox_score"}`` (K = 17 or 133): a bare list
  (the inferencer's per-image file), a list of ``{"frame_id", "instances"}`` (its video file),
  ``{"meta_info", "instance_info": ...}`` (``topdown_demo_with_mmdet.py``, either form inside)
  or the inferencer's returned ``{"predictions": [[instances] per image]}``.
* OpenPose ``{"version", "people": [{"pose_keypoints_2d": [x, y, c] * 25 | * 18, ...}]}``: 75
  numbers are BODY_25, 54 are COCO-18.
* BEHAVE ``k*.color.json`` ``{"body_joints": [x, y, c] * 25, "face_joints", ...}`` (BODY_25).

A person with no keypoint of positive confidence (BEHAVE's all-zero files, an empty OpenPose
slot) is no detection and is left out, so such a file reads as an empty list. Malformed
content raises :class:`~hoirecon.data.readers.common.SampleError` (a ``ValueError``) naming
the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.data.readers.common import SampleError, as_array, field, load_json
from hoirecon.data.readers.openpose import COCO_FROM_BODY25, COCO_FROM_COCO18

JOINT_SETS: dict[str, int] = {"coco17": 17, "coco_wholebody133": 133, "body25": 25, "coco18": 18}
"""Joint set name -> number of joints."""

COCO17_FROM: dict[str, tuple[int, ...]] = {
    "coco17": tuple(range(17)), "coco_wholebody133": tuple(range(17)),
    "body25": COCO_FROM_BODY25, "coco18": COCO_FROM_COCO18,
}
"""Joint set -> index of each COCO-17 keypoint in it (WholeBody starts with the COCO-17 body)."""

WHOLEBODY_PARTS: tuple[tuple[str, int], ...] = (
    ("keypoints", 17), ("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21), ("righthand_kpts", 21))
"""COCO-WholeBody record keys and joint counts, in the order of the 133 joints."""

_OPENPOSE_SETS = {75: "body25", 54: "coco18"}


@dataclass(frozen=True)
class PersonKeypoints:
    """One detected person's 2D keypoints in the detector's joint set."""

    keypoints: np.ndarray
    """(J, 3) u, v pixels and confidence, in the order of ``joint_set``; confidence 0 = not detected."""
    joint_set: str
    """One of :data:`JOINT_SETS`: ``coco17``, ``coco_wholebody133``, ``body25``, ``coco18``."""
    box: np.ndarray
    """(4,) x, y, width, height in pixels: the detector's box, else the detected keypoints' extent."""
    score: float
    """The detector's person score; the mean confidence of the detected keypoints when it has none."""
    frame: Any = None
    """``image_id`` / ``frame_id`` of the record; None when the file describes one image."""
    source: str = ""
    """File format: ``coco-results``, ``coco-annotations``, ``mmpose``, ``openpose`` or ``behave``."""


def box_from_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """x, y, width, height (4,) of the keypoints (J, 3) with positive confidence (zeros if none)."""
    seen = keypoints[keypoints[:, 2] > 0, :2]
    if not len(seen):
        return np.zeros(4)
    lo, hi = seen.min(0), seen.max(0)
    return np.concatenate([lo, hi - lo])


def _person(keypoints: np.ndarray, joint_set: str, path: Path, key: str, *, box: Any = None,
            box_format: str = "xywh", score: Any = None, frame: Any = None, source: str = ""
            ) -> PersonKeypoints | None:
    """A validated record (None when no keypoint has positive confidence)."""
    if np.any(keypoints[:, 2] < 0):
        raise SampleError(path, f"key {key!r}: negative confidence")
    if not np.any(keypoints[:, 2] > 0):
        return None
    if box is None:
        box_xywh = box_from_keypoints(keypoints)
    else:
        box_xywh = as_array(box, (4,), path, f"{key} box")
        if box_format == "xyxy":
            box_xywh = np.concatenate([box_xywh[:2], box_xywh[2:] - box_xywh[:2]])
        if np.any(box_xywh[2:] < 0):
            raise SampleError(path, f"key {key!r}: box has a negative width or height")
    mean = float(keypoints[keypoints[:, 2] > 0, 2].mean())
    value = mean if score is None else float(as_array(score, (1,), path, f"{key} score")[0])
    return PersonKeypoints(keypoints, joint_set, box_xywh, value, frame, source)


def _list(value: Any, path: Path, key: str) -> list:
    """``value`` when it is a list (a JSON array), else an error naming ``key``."""
    if not isinstance(value, list):
        raise SampleError(path, f"key {key!r}: expected a list, got {type(value).__name__}")
    return value


def _triplets(value: Any, counts: Sequence[int], path: Path, key: str) -> np.ndarray:
    """Flat [x, y, c] * J numbers -> (J, 3) for J in ``counts``, else an error naming ``key``."""
    try:
        size = np.asarray(value, dtype=np.float64).size
    except (TypeError, ValueError) as err:
        raise SampleError(path, f"key {key!r}: not a numeric array ({err})") from err
    if size not in [3 * c for c in counts]:
        expected = " or ".join(f"{3 * c} ({c} joints)" for c in counts)
        raise SampleError(path, f"key {key!r}: expected {expected} numbers, got {size}")
    return as_array(value, (size // 3, 3), path, key)


def _coco_record(record: Any, path: Path, key: str, source: str) -> PersonKeypoints | None:
    """One COCO results / annotations record (COCO-17 or COCO-WholeBody)."""
    if isinstance(record, Mapping) and all(part in record for part, _ in WHOLEBODY_PARTS):
        keypoints = np.concatenate([_triplets(record[part], (n,), path, f"{key}.{part}")
                                    for part, n in WHOLEBODY_PARTS])
    else:
        keypoints = _triplets(field(record, "keypoints", path), (17, 133), path, f"{key}.keypoints")
    if source == "coco-annotations":
        keypoints[:, 2] = keypoints[:, 2] > 0
    joint_set = "coco17" if len(keypoints) == 17 else "coco_wholebody133"
    return _person(keypoints, joint_set, path, key, box=record.get("bbox"), score=record.get("score"),
                   frame=record.get("image_id"), source=source)


def _mmpose_instance(instance: Any, path: Path, key: str, frame: Any) -> PersonKeypoints | None:
    """One mmpose 1.x instance dict (17 or 133 joints)."""
    xy = field(instance, "keypoints", path)
    count = len(xy) if isinstance(xy, list) else 0
    if count not in (17, 133):
        raise SampleError(path, f"key {key + '.keypoints'!r}: expected a list of 17 or 133 [x, y] pairs")
    pixels = as_array(xy, (count, 2), path, f"{key}.keypoints")
    scores = as_array(field(instance, "keypoint_scores", path), (count,), path, f"{key}.keypoint_scores")
    joint_set = "coco17" if count == 17 else "coco_wholebody133"
    return _person(np.c_[pixels, scores], joint_set, path, key, box=instance.get("bbox"), box_format="xyxy",
                   score=instance.get("bbox_score"), frame=frame, source="mmpose")


def _mmpose_items(items: list, path: Path, key: str, frame: Any = None) -> list[PersonKeypoints | None]:
    """Instances, or ``{"frame_id", "instances"}`` frames of instances."""
    people: list[PersonKeypoints | None] = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        if isinstance(item, Mapping) and "instances" in item:
            inner = _list(item["instances"], path, f"{where}.instances")
            people += _mmpose_items(inner, path, f"{where}.instances", item.get("frame_id"))
        else:
            people.append(_mmpose_instance(item, path, where, frame))
    return people


def _mmpose_predictions(data: Mapping, path: Path) -> list[PersonKeypoints | None]:
    """The inferencer's ``{"predictions": [[instances] per image]}``; frames numbered from 0."""
    images = _list(data["predictions"], path, "predictions")
    people: list[PersonKeypoints | None] = []
    for j, image in enumerate(images):
        key = f"predictions[{j}]"
        people += _mmpose_items(_list(image, path, key), path, key, j if len(images) > 1 else None)
    return people


def _openpose(data: Mapping, path: Path) -> list[PersonKeypoints | None]:
    """OpenPose ``people``: BODY_25 (75 numbers) or COCO-18 (54)."""
    people = []
    for i, person in enumerate(_list(data["people"], path, "people")):
        key = f"people[{i}].pose_keypoints_2d"
        keypoints = _triplets(field(person, "pose_keypoints_2d", path), (25, 18), path, key)
        people.append(_person(keypoints, _OPENPOSE_SETS[keypoints.size], path, key, source="openpose"))
    return people


def _behave(data: Mapping, path: Path) -> list[PersonKeypoints | None]:
    """BEHAVE's ``body_joints`` (BODY_25); all zeros is no detection."""
    keypoints = _triplets(data["body_joints"], (25,), path, "body_joints")
    return [_person(keypoints, "body25", path, "body_joints", source="behave")]


def _parse_mapping(data: Mapping, path: Path) -> list[PersonKeypoints | None]:
    """The dict layouts: OpenPose, BEHAVE, COCO annotations, mmpose demo / inferencer result."""
    if "people" in data:
        return _openpose(data, path)
    if "body_joints" in data:
        return _behave(data, path)
    if "annotations" in data:
        records = _list(data["annotations"], path, "annotations")
        return [_coco_record(r, path, f"annotations[{i}]", "coco-annotations") for i, r in enumerate(records)]
    if "instance_info" in data:
        return _mmpose_items(_list(data["instance_info"], path, "instance_info"), path, "instance_info")
    if "predictions" in data:
        return _mmpose_predictions(data, path)
    raise SampleError(path, f"unknown keypoint file layout (keys {sorted(map(str, data))}); expected "
                            "'people' (OpenPose), 'body_joints' (BEHAVE), 'annotations' (COCO), "
                            "'instance_info' or 'predictions' (mmpose)")


def _parse(data: Any, path: Path) -> list[PersonKeypoints | None]:
    """Every record of a loaded keypoint file (None for empty detections)."""
    if isinstance(data, Mapping):
        return _parse_mapping(data, path)
    if not isinstance(data, list):
        raise SampleError(path, f"expected a JSON object or list, got {type(data).__name__}")
    first = data[0] if data else None
    if not isinstance(first, Mapping):
        return [] if first is None else [_coco_record(first, path, "[0]", "coco-results")]
    if "instances" in first or "keypoint_scores" in first:
        return _mmpose_items(data, path, "")
    return [_coco_record(r, path, f"[{i}]", "coco-results") for i, r in enumerate(data)]


def read_people(path: str | Path, frame: Any = None) -> list[PersonKeypoints]:
    """Every person detected in a keypoint file (layout recognised, see the module docstring).

    Args:
        path: the detector's JSON file.
        frame: keep only the records of this ``image_id`` / ``frame_id`` (compared as text too).

    Returns:
        The people in file order; empty when nothing was detected (e.g. an all-zero BEHAVE
        file), which the caller may treat as it sees fit.

    Raises:
        ValueError: (a :class:`~hoirecon.data.readers.common.SampleError`) naming the file and key.
    """
    path = Path(path)
    people = [p for p in _parse(load_json(path), path) if p is not None]
    if frame is not None:
        people = [p for p in people if p.frame == frame or str(p.frame) == str(frame)]
    return people


def to_coco17(person: PersonKeypoints) -> PersonKeypoints:
    """The same person in COCO-17 order (17, 3): BODY_25 and COCO-18 map joint for joint,
    WholeBody keeps its first 17 joints; the box, score and frame are kept."""
    if person.joint_set not in COCO17_FROM:
        raise ValueError(f"joint_set: expected one of {sorted(COCO17_FROM)}, got {person.joint_set!r}")
    keypoints = np.asarray(person.keypoints, dtype=np.float64)[list(COCO17_FROM[person.joint_set])]
    return replace(person, keypoints=keypoints, joint_set="coco17")


def _evidence_box(evidence: np.ndarray) -> np.ndarray:
    """A box (4,) x, y, w, h as given, or the box of a mask (H, W)'s nonzero pixels."""
    if evidence.shape == (4,):
        return evidence.astype(np.float64)
    if evidence.ndim != 2:
        raise ValueError(f"evidence: expected a box (4,) or a mask (H, W), got shape {evidence.shape}")
    rows, cols = np.nonzero(evidence)
    if not len(rows):
        return np.zeros(4)
    return np.array([cols.min(), rows.min(), cols.max() + 1 - cols.min(), rows.max() + 1 - rows.min()], float)


def _overlap(box: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Intersection area of two x, y, w, h boxes, and minus their gap when they are apart."""
    lo, hi = np.maximum(box[:2], other[:2]), np.minimum(box[:2] + box[2:], other[:2] + other[2:])
    side = hi - lo
    return float(np.prod(np.clip(side, 0, None))), -float(np.linalg.norm(np.clip(-side, 0, None)))


def _mask_overlap(box: np.ndarray, mask: np.ndarray) -> float:
    """Number of mask (H, W) pixels inside an x, y, w, h box."""
    x0, y0 = np.floor(box[:2]).astype(int).clip(0)
    x1, y1 = np.ceil(box[:2] + box[2:]).astype(int)
    return float(np.count_nonzero(mask[y0:max(y0, y1), x0:max(x0, x1)]))


def choose_person(people: Sequence[PersonKeypoints], evidence: np.ndarray | None = None,
                  index: int | None = None) -> PersonKeypoints:
    """The person a fit should use among several detections.

    ``index`` picks directly. Otherwise, with object ``evidence`` (a box (4,) x, y, w, h or a
    mask (H, W)), the person whose box overlaps it most (mask pixels inside the box, or the
    boxes' intersection area; apart boxes: the nearest); ties and no evidence fall to the
    highest score. Raises ValueError when ``people`` is empty or ``index`` is out of range.
    """
    if not people:
        raise ValueError("people: no person detected")
    if index is not None:
        if not -len(people) <= index < len(people):
            raise ValueError(f"index: {index} is out of range for {len(people)} detected people")
        return people[index]
    if evidence is None:
        return max(people, key=lambda p: p.score)
    evidence = np.asarray(evidence)
    target = _evidence_box(evidence)

    def rank(person: PersonKeypoints) -> tuple[float, float, float]:
        area, gap = _overlap(person.box, target)
        if evidence.ndim == 2:
            area = _mask_overlap(person.box, evidence)
        return area, gap, person.score

    return max(people, key=rank)
