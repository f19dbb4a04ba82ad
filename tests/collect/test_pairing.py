"""Human-object pairs by box overlap: IoU, gap, one-to-one greedy matching."""

from __future__ import annotations

import numpy as np
import pytest

from hoirecon.collect.pairing import box_gap, box_iou, pair_boxes


def test_iou_and_gap_values() -> None:
    a, b = np.array([0.0, 0, 10, 10]), np.array([5.0, 0, 15, 10])
    assert box_iou(a, b) == pytest.approx(50 / 150)
    assert box_gap(a, b) == 0.0
    far = np.array([13.0, 14, 20, 20])  # 3 right and 4 below: 5 px apart, person diagonal 10 sqrt 2
    assert box_gap(a, far) == pytest.approx(5 / np.hypot(10, 10))


def test_each_object_goes_to_the_most_overlapping_free_person() -> None:
    persons = np.array([[0.0, 0, 100, 200], [150, 0, 250, 200]])
    objects = np.array([[160.0, 50, 200, 100], [40, 150, 120, 210]])
    pairs = pair_boxes(persons, objects)
    assert [(p.person, p.object) for p in pairs] == [(1, 0), (0, 1)]


def test_gap_and_iou_thresholds_drop_pairs() -> None:
    person = np.array([[0.0, 0, 100, 200]])
    apart = np.array([[120.0, 0, 140, 20]])  # 20 px from a 224 px diagonal: 0.09 diagonals
    assert len(pair_boxes(person, apart)) == 1
    assert pair_boxes(person, apart, max_gap=0.05) == []
    small = np.array([[10.0, 10, 20, 20]])  # IoU 0.005
    assert len(pair_boxes(person, small)) == 1 and pair_boxes(person, small, min_iou=0.1) == []


def test_a_person_is_paired_once() -> None:
    persons = np.array([[0.0, 0, 100, 200]])
    objects = np.array([[10.0, 10, 60, 60], [20, 20, 90, 90]])
    pairs = pair_boxes(persons, objects)
    assert len(pairs) == 1 and pairs[0].object == 1


def test_malformed_boxes_raise() -> None:
    with pytest.raises(ValueError, match="objects"):
        pair_boxes(np.array([[0.0, 0, 1, 1]]), np.array([[5.0, 5, 1, 1]]))
    with pytest.raises(ValueError, match="persons"):
        pair_boxes(np.array([[0.0, np.nan, 1, 1]]), np.zeros((0, 4)))
