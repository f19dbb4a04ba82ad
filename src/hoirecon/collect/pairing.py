"""Human-object pairs by box overlap (paper Sec. 4.1: a person and an object interact when their
boxes overlap enough).

The rule, per image: every (person, object) pair gets the IoU of their boxes and the gap between
them (0 when they touch, else the distance between the nearest edges) relative to the person
box's diagonal. A pair is a candidate when ``IoU >= min_iou`` and ``gap <= max_gap``: by
default any overlap, or boxes apart by at most a quarter of the person's diagonal (a ball in
the air next to the player); the paper's stricter rule is e.g. ``min_iou=0.1, max_gap=0``. Candidates are
taken greedily, highest IoU first (then smallest gap), each person and each object at most
once, so an image with two people and two objects gives two rows. Unpaired objects are
reported with why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_IOU = 0.0
"""Default smallest box IoU of an interacting pair (a held ball's box is small beside the person's)."""
MAX_GAP = 0.25
"""Default largest gap between apart boxes, in person box diagonals."""


@dataclass(frozen=True)
class Pair:
    """One human-object pair of an image."""

    person: int
    """Index into the image's persons."""
    object: int
    """Index into the image's objects."""
    iou: float
    gap: float
    """Gap between the boxes in person box diagonals (0 when they overlap or touch)."""


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes (4,) x0, y0, x1, y1."""
    side = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None)
    inter = float(np.prod(side))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2])) - inter
    return inter / union if union > 0 else 0.0


def box_gap(person: np.ndarray, thing: np.ndarray) -> float:
    """Distance between the nearest edges of two boxes (4,) x0, y0, x1, y1, in person diagonals."""
    apart = np.clip(np.maximum(person[:2], thing[:2]) - np.minimum(person[2:], thing[2:]), 0, None)
    diagonal = float(np.linalg.norm(person[2:] - person[:2]))
    return float(np.linalg.norm(apart)) / max(diagonal, 1e-9)


def check_boxes(boxes: np.ndarray, what: str) -> np.ndarray:
    """Boxes (N, 4) x0, y0, x1, y1 as float64; ValueError naming ``what`` when malformed."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not np.all(np.isfinite(boxes)) or np.any(boxes[:, 2:] < boxes[:, :2]):
        raise ValueError(f"{what}: boxes must be finite x0, y0, x1, y1 with x1 >= x0 and y1 >= y0")
    return boxes


def pair_boxes(persons: np.ndarray, objects: np.ndarray, min_iou: float = MIN_IOU,
               max_gap: float = MAX_GAP) -> list[Pair]:
    """The human-object pairs of one image (see the module docstring).

    Args:
        persons: (P, 4) person boxes x0, y0, x1, y1.
        objects: (O, 4) object boxes.
    """
    persons, objects = check_boxes(persons, "persons"), check_boxes(objects, "objects")
    candidates = []
    for p, person in enumerate(persons):
        for o, thing in enumerate(objects):
            iou, gap = box_iou(person, thing), box_gap(person, thing)
            if iou >= min_iou and gap <= max_gap:
                candidates.append(Pair(p, o, iou, gap))
    candidates.sort(key=lambda c: (-c.iou, c.gap))
    pairs, used_p, used_o = [], set(), set()
    for c in candidates:
        if c.person not in used_p and c.object not in used_o:
            pairs.append(c)
            used_p.add(c.person)
            used_o.add(c.object)
    return sorted(pairs, key=lambda c: c.object)
