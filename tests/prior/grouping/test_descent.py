"""The fused NN-descent of the CPU searches: recall, exclusions, and the torch path without numba."""

from __future__ import annotations

import pytest
import torch

from hoirecon.prior.grouping import descent
from hoirecon.prior.grouping.knn import GroupingConfig, group_images, recall_at_k
from hoirecon.prior.grouping.search import Exclusion, exact_knn, nndescent_knn, unit_flat
from hoirecon.prior.synthetic import synthetic_interactions


@pytest.fixture(scope="module")
def data() -> torch.Tensor:
    return synthetic_interactions(2000, n_clusters=20, jitter=0.03, pixel_noise=0.002, seed=4).x25d


def test_fused_search_finds_the_exact_neighbours(data: torch.Tensor) -> None:
    queries = torch.arange(0, 2000, 10)
    exact, _ = exact_knn(data, 16, queries=queries)
    idx, dist = descent.nndescent_fused(unit_flat(data)[1], 16, Exclusion(data[:, -1].float()), block=700)
    assert recall_at_k(idx[queries], exact) >= 0.95
    assert (dist[:, 1:] >= dist[:, :-1]).all() and not (idx == torch.arange(2000)[:, None]).any()


def test_fused_search_respects_adjacent_frames(data: torch.Tensor) -> None:
    video, frame = torch.arange(2000) // 50, torch.arange(2000) % 50
    exclusion = Exclusion(data[:, -1].float(), video, frame, min_frame_gap=3)
    idx, _ = descent.nndescent_fused(unit_flat(data)[1], 8, exclusion)
    n = idx.clamp_min(0)
    close = (video[n] == video[:, None]) & ((frame[n] - frame[:, None]).abs() <= 3) & (idx >= 0)
    assert not close.any()


def test_cpu_grouping_uses_the_fused_rounds_and_keeps_a_torch_path(data: torch.Tensor,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    fused = descent.nndescent_fused
    monkeypatch.setattr(descent, "nndescent_fused", lambda *a, **kw: calls.append(1) or fused(*a, **kw))
    config = GroupingConfig(k=16, method="nndescent", max_distance=None)
    found = group_images(data, config, device="cpu")
    assert calls == [1]
    monkeypatch.setattr(descent, "available", lambda: False)
    plain = group_images(data, config, device="cpu")
    assert calls == [1] and recall_at_k(plain.neighbours, found.neighbours) >= 0.95
    direct, _ = nndescent_knn(data, 16, Exclusion(data[:, -1].float()))
    assert recall_at_k(direct, plain.neighbours) == 1.0
