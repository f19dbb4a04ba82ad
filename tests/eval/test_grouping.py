"""Grouping recall and precision against true instances, on hand-made groupings."""

import math

import numpy as np
import pytest
import torch

from hoirecon.eval.grouping import score_grouping
from hoirecon.prior.grouping import Grouping


def _grouping(neighbours: list[list[int]]) -> Grouping:
    idx = torch.tensor(neighbours)
    dist = torch.where(idx >= 0, 0.01, float("inf"))
    return Grouping(idx, dist, (idx >= 0).float())


# images 0-2 are instance 0, images 3-4 instance 1, image 5 is alone (instance 2)
INSTANCES = np.array([0, 0, 0, 1, 1, 2])
VIDEOS = np.array([10, 10, 11, 12, 13, 14])


def test_perfect_grouping_scores_one() -> None:
    g = _grouping([[1, 2], [0, 2], [0, 1], [4, -1], [3, -1], [-1, -1]])
    score = score_grouping(g, INSTANCES)
    assert score.recall_at_k == 1.0 and score.precision == 1.0 and score.images == 5 and score.k == 2


def test_counts_by_hand() -> None:
    # image 0 finds 1 (right) and 3 (wrong); image 1 finds 0; image 2 finds 5 (wrong); 3 finds 4; 4 none; 5 finds 0
    g = _grouping([[1, 3], [0, -1], [5, -1], [4, -1], [-1, -1], [0, -1]])
    score = score_grouping(g, INSTANCES, VIDEOS)
    # recall per scored image (min(k=2, group size)): 1/2, 1/2, 0/2, 1/1, 0/1 -> mean 0.4
    assert math.isclose(score.recall_at_k, 0.4)
    assert math.isclose(score.precision, 3 / 6)
    # of the 3 same-instance links, 0-1 and 1-0 share video 10: only 3-4 is another view
    assert math.isclose(score.other_view_share, 1 / 6)


def test_no_links_gives_nan_precision_and_zero_recall() -> None:
    score = score_grouping(_grouping([[-1]] * 6), INSTANCES)
    assert math.isnan(score.precision) and score.recall_at_k == 0.0


@pytest.mark.parametrize("instances, video, message", [
    (np.array([0, 1]), None, "instances: expected shape"),
    (INSTANCES, np.array([1, 2]), "video: expected shape"),
])
def test_wrong_shapes_are_named(instances: np.ndarray, video: np.ndarray | None, message: str) -> None:
    g = _grouping([[1], [0], [-1], [-1], [-1], [-1]])
    with pytest.raises(ValueError, match=message):
        score_grouping(g, instances, video)


def test_indices_beyond_the_set_are_refused() -> None:
    with pytest.raises(ValueError, match="beyond"):
        score_grouping(_grouping([[9], [0], [-1], [-1], [-1], [-1]]), INSTANCES)
