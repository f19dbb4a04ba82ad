"""Ground-truth contacts: a bat touches the body at the hands, never at the feet;
precision and recall of id sets on a hand-computed case."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hoirecon.body import load_body_model
from hoirecon.data.dataset import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.contact_truth import ContactCounts, contact_truth, precision_recall
from hoirecon.fitting.body_parts import body_part_vertices
from hoirecon.objects import get_category_template


def test_precision_recall_of_id_sets() -> None:
    scores = precision_recall(np.array([1, 2, 3, 4]), np.array([2, 4, 9]))
    assert (scores.precision, scores.recall) == (0.5, 2 / 3)
    empty = precision_recall(np.array([], int), np.array([1]))
    assert math.isnan(empty.precision) and empty.recall == 0.0


def test_counts_micro_average_over_images() -> None:
    counts = ContactCounts()
    counts.add(np.array([1, 2, 3, 4]), np.array([2, 4, 9]))  # 2 hits of 4 predicted, 3 true
    counts.add(np.array([7]), np.array([7, 8]))  # 1 of 1, 2 true
    scores = counts.result()
    # micro: (2 + 1) / (4 + 1) and (2 + 1) / (3 + 2), not the mean of the per-image ratios
    assert (scores.precision, scores.recall) == (0.6, 0.6)
    assert math.isnan(ContactCounts().result().precision)


def test_true_contacts_of_a_held_bat_are_on_the_hands(tmp_path: Path) -> None:
    generate(tmp_path, SynthConfig(categories=("baseball_bat",), train=6, test=0, image_size=48, seed=1))
    body = load_body_model()
    parts = body_part_vertices(body)
    hands = np.concatenate([parts["left_hand"], parts["right_hand"]])
    feet = np.concatenate([parts["left_foot"], parts["right_foot"]])
    template = get_category_template("baseball_bat")
    on_hands = touching = 0
    for sample in load_dataset(tmp_path).samples("baseball_bat", "train"):
        truth = contact_truth(sample, template, body)
        on_hands += int(np.isin(truth.human_ids, hands).any())
        touching += int(len(truth.human_ids) > 0)
        assert not np.isin(truth.human_ids, feet).any()
        assert truth.object_ids.max(initial=-1) < len(template.vertices)
    assert touching >= 1 and on_hands == touching
    sample = next(iter(load_dataset(tmp_path).samples("baseball_bat", "train")))
    with pytest.raises(ValueError, match="no ground truth"):
        contact_truth(type(sample)(**{**sample.__dict__, "gt": None}), template, body)
