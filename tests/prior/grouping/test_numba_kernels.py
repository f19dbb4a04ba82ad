"""The fused numba kernels of the out-of-core search, against plain torch on small sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hoirecon.prior.grouping import _numba as kernels
from hoirecon.prior.grouping.chunked import finish_block
from hoirecon.prior.grouping.descent import exclusion_arrays
from hoirecon.prior.grouping.distances import PARALLEL_EPS, paired_ray_distance
from hoirecon.prior.grouping.knn import GroupingConfig
from hoirecon.prior.grouping.outofcore import _finish
from hoirecon.prior.grouping.search import Exclusion, unit_flat
from hoirecon.prior.synthetic import synthetic_interactions

N, K = 300, 6


@pytest.fixture(scope="module")
def x25d() -> torch.Tensor:
    return synthetic_interactions(N, object_keypoints=2, n_clusters=10, jitter=0.03, pixel_noise=0.002, seed=3).x25d


def _update(flat: np.ndarray, idx: np.ndarray, dist: np.ndarray, graph: np.ndarray, graph_new: np.ndarray,
            extra: np.ndarray, exclusion: Exclusion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = np.empty_like(idx), np.empty_like(dist), np.empty(idx.shape, dtype=bool)
    kernels.descent_rows(flat, 0, idx, dist, graph, graph_new, extra, *exclusion_arrays(exclusion, len(flat)), PARALLEL_EPS**2, *out)
    return out


@pytest.mark.parametrize("with_video", [False, True])
def test_descent_rows_keeps_the_best_of_old_and_candidates(x25d: torch.Tensor, with_video: bool) -> None:
    rng = np.random.default_rng(0)
    x, flat = unit_flat(x25d)
    video = torch.from_numpy(rng.integers(0, 20, N)) if with_video else None
    frame = torch.from_numpy(rng.integers(0, 5, N)) if with_video else None
    exclusion = Exclusion(x[:, -1], video, frame, min_frame_gap=1)
    idx = np.stack([rng.choice(np.delete(np.arange(N), q), K, replace=False) for q in range(N)])
    dist = paired_ray_distance(x[:, None], x[torch.from_numpy(idx)]).numpy().astype(np.float32)
    order = np.argsort(dist, 1)
    idx, dist = np.take_along_axis(idx, order, 1), np.take_along_axis(dist, order, 1)
    idx[:, -2:], dist[:, -2:] = -1, np.inf
    graph = np.concatenate([idx, rng.integers(-1, N, (N, K))], 1)
    graph_new = rng.random(graph.shape) < 0.5
    extra = rng.integers(0, N, (N, 4))
    new_idx, new_dist, fresh = _update(flat, idx, dist, graph, graph_new, extra, exclusion)
    for q in range(0, N, 7):
        cand = set(extra[q]) | {int(h) for h in graph[q] if h >= 0}
        for a, hop in enumerate(graph[q]):
            if hop >= 0:
                cand |= {int(s) for b, s in enumerate(graph[hop]) if s >= 0 and (graph_new[q, a] or graph_new[hop, b])}
        cand -= set(idx[q].tolist())
        cand = torch.tensor(sorted(cand))
        cand = cand[~exclusion.mask(torch.tensor([[q]]), cand[None])[0]]
        d = paired_ray_distance(x[q][None], x[cand]).numpy()
        pool_d = np.concatenate([dist[q], d])
        expected = np.sort(pool_d)[:K]
        assert np.allclose(new_dist[q], expected, rtol=1e-4)
        kept_new = new_idx[q][fresh[q]]
        assert set(kept_new.tolist()) <= set(cand.tolist())
        assert set(new_idx[q][~fresh[q] & (new_idx[q] >= 0)].tolist()) <= set(idx[q].tolist())
    assert not (new_idx == np.arange(N)[:, None]).any()


def test_reverse_sample_lists_only_real_reverse_edges(x25d: torch.Tensor) -> None:
    rng = np.random.default_rng(1)
    idx = np.stack([rng.choice(np.delete(np.arange(40), i), 5, replace=False) for i in range(40)])
    idx[rng.random(idx.shape) < 0.2] = -1
    fresh = rng.random(idx.shape) < 0.5
    rev, rev_new = kernels.reverse_sample(idx, fresh, 3, 7)
    indegree = np.bincount(idx[idx >= 0], minlength=40)
    assert ((rev >= 0).sum(1) == np.minimum(indegree, 3)).all()
    for j in range(40):
        for i, new in zip(rev[j], rev_new[j]):
            if i >= 0:
                slots = np.nonzero(idx[i] == j)[0]
                assert len(slots) == 1 and new == fresh[i, slots[0]]
    again = kernels.reverse_sample(idx, fresh, 3, 7)
    assert (again[0] == rev).all()


@pytest.mark.parametrize("max_distance", [None, 0.05])
def test_finish_matches_the_chunked_search(x25d: torch.Tensor, max_distance: float | None) -> None:
    rows = np.ascontiguousarray(x25d.numpy().astype(np.float32))
    rng = np.random.default_rng(2)
    idx = torch.from_numpy(rng.integers(-1, N, (50, K)))
    config = GroupingConfig(k=K, max_distance=max_distance)
    ours, reference = _finish(rows, 100, idx, config), finish_block(rows, 100, idx, config)
    assert ours.dropped_far == reference.dropped_far
    assert torch.equal(ours.neighbours, reference.neighbours)
    assert torch.allclose(ours.distances, reference.distances, rtol=1e-6)
