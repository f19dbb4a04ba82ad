"""Grouping quality: true neighbours score their known distance, far below random pairs; the
result does not depend on the block size; images without neighbours are counted."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hoirecon.prior.grouping import Grouping, streamed_quality


def _pairs_grouping(n: int) -> Grouping:
    """Image 2i and 2i+1 are each other's only neighbour; the last image has none."""
    neighbours = torch.tensor([[i ^ 1] for i in range(n)])
    neighbours[-1] = -1
    distances = torch.where(neighbours >= 0, 0.0, float("inf"))
    return Grouping(neighbours, distances.float(), (neighbours >= 0).float())


def test_paired_images_score_their_offset_far_below_chance() -> None:
    rng = np.random.default_rng(0)
    n, k = 41, 5
    x3d = np.repeat(rng.uniform(-2, 2, (n // 2 + 1, k, 3)), 2, axis=0)[:n]
    x3d[1::2] += np.array([0.01, 0.0, 0.0])
    grouping = _pairs_grouping(n)
    quality = streamed_quality(x3d, grouping, block=n)
    assert quality.neighbour_median_m == pytest.approx(0.01, abs=1e-6)
    assert quality.random_median_m > 50 * quality.neighbour_median_m
    assert quality.images_with_neighbours == pytest.approx((n - 1) / n)
    assert streamed_quality(x3d, grouping, block=4) == quality
