"""Nearest-neighbour search under the ray distance of eq. (11): exact and approximate.

* :func:`exact_knn` scans all pairs in chunks with the batched kernel of
  :mod:`hoirecon.prior.grouping.distances` (``O(N^2 K)``; ~1 min for 10k images on 2 cores).
* :func:`nndescent_knn` is NN-descent (Dong et al., 2011) written for this distance: start from
  random neighbours, then repeatedly score the neighbours of each image's neighbours (forward
  and reverse, through at least one edge that changed in the last round) and keep the best
  ``k``; once settled, also score the views with the nearest camera centres. The candidate
  bookkeeping is vectorised torch; distances come from a numba kernel when numba is installed
  (a torch fallback otherwise).
* :func:`pynndescent_knn` runs the pynndescent library with a numba custom metric. It works,
  but compiles its search for the custom metric in every new process (~40-50 s on 2 cores) and
  has no nearest-camera step, which is why the in-house NN-descent is the default.

Excluded pairs (the image itself, near-duplicates, adjacent frames of one video) are described
by an :class:`Exclusion` and never enter a result. Every search returns ``(indices (Q, k) int64,
distances (Q, k))`` sorted by distance, padded with ``-1`` / ``inf``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from hoirecon.prior.grouping.distances import (
    PARALLEL_EPS,
    RaySet,
    paired_ray_distance,
    pairwise_ray_distance,
)

logger = logging.getLogger(__name__)

QUERY_TILE = 64
"""Query rows per distance call of :func:`exact_knn` (and of the chunked search, which must use
the same calls to give bit-identical distances)."""
BASE_TILE = 2048
"""Candidate columns per distance call of :func:`exact_knn`, aligned at multiples of this."""


@dataclass
class Exclusion:
    """Pairs that may not be neighbours: an image and itself, views from the same point, and
    nearby frames of one video."""

    centers: Tensor | None = None
    """Camera centre per image ``(N, 3)``; enables the same-viewpoint test."""
    video: Tensor | None = None
    """Video id per image ``(N,)`` int64, or None when the images are unrelated stills."""
    frame: Tensor | None = None
    """Frame index per image ``(N,)`` int64 (required with ``video``)."""
    min_frame_gap: int = 1
    """Images of the same video whose frames differ by at most this are near-duplicates."""
    duplicate_distance: float = 1e-3
    """Camera centres closer than this (metres) see the interaction from the same point: their
    ray distance is 0 whatever the keypoints, so such a pair (e.g. a repeated image) carries no
    multi-view information."""

    def mask(self, rows: Tensor, candidates: Tensor) -> Tensor:
        """True where ``candidates (Q, C)`` may not be a neighbour of ``rows (Q, 1)`` -> ``(Q, C)``."""
        bad = (candidates == rows) | (candidates < 0)
        safe = candidates.clamp_min(0)
        if self.centers is not None:
            gap = (self.centers[safe] - self.centers[rows]).square().sum(-1)
            bad |= gap < self.duplicate_distance**2
        if self.video is not None and self.frame is not None:
            same = self.video[safe] == self.video[rows]
            close = (self.frame[safe] - self.frame[rows]).abs() <= self.min_frame_gap
            bad |= same & close
        return bad


def padded_topk(distances: Tensor, indices: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Best ``k`` columns per row of ``distances (Q, C)``; missing ones as ``-1`` / ``inf``."""
    if distances.shape[1] < k:
        pad = k - distances.shape[1]
        distances = torch.cat([distances, distances.new_full((len(distances), pad), float("inf"))], 1)
        indices = torch.cat([indices, indices.new_full((len(indices), pad), -1)], 1)
    best, order = distances.topk(k, dim=1, largest=False)
    chosen = indices.gather(1, order).masked_fill(torch.isinf(best), -1)
    return chosen, best


def exact_knn(x25d: Tensor, k: int, exclusion: Exclusion | None = None,
              queries: Tensor | None = None, query_chunk: int = QUERY_TILE,
              base_chunk: int = BASE_TILE) -> tuple[Tensor, Tensor]:
    """Exact ``k`` nearest images of each query: ``x25d (N, K + 1, 3) -> (Q, k), (Q, k)``.

    ``queries (Q,)`` selects the query images (default: all). Computed in float32 chunks of
    ``query_chunk x base_chunk`` pairs; distances are returned in float32.
    """
    exclusion = exclusion or Exclusion()
    x = RaySet(x25d.float())
    rows_all = torch.arange(len(x)) if queries is None else queries.long()
    out_i = torch.full((len(rows_all), k), -1, dtype=torch.long)
    out_d = torch.full((len(rows_all), k), float("inf"))
    for start in range(0, len(rows_all), query_chunk):
        rows = rows_all[start:start + query_chunk]
        best_d = torch.empty(len(rows), 0)
        best_i = torch.empty(len(rows), 0, dtype=torch.long)
        for base in range(0, len(x), base_chunk):
            cand = torch.arange(base, min(base + base_chunk, len(x))).expand(len(rows), -1)
            d = pairwise_ray_distance(x, x, rows=rows, cols=slice(base, base + base_chunk))
            d = d.masked_fill(exclusion.mask(rows[:, None], cand), float("inf"))
            best_i, best_d = padded_topk(torch.cat([best_d, d], 1), torch.cat([best_i, cand], 1), k)
        out_i[start:start + len(rows)], out_d[start:start + len(rows)] = best_i, best_d
    return out_i, out_d


def unit_flat(x25d: Tensor) -> tuple[Tensor, np.ndarray]:
    """``x25d (N, K + 1, 3)`` with unit rays in float32, and the same flattened ``(N, 3 (K + 1))``
    as a contiguous numpy array for the numba kernels."""
    x = torch.cat([torch.nn.functional.normalize(x25d[:, :-1].float(), dim=-1),
                   x25d[:, -1:].float()], 1)
    return x, np.ascontiguousarray(x.reshape(len(x), -1).numpy())


def torch_gathered_distances(x: Tensor, rows: Tensor, candidates: Tensor,
                             chunk: int = 256) -> Tensor:
    """Torch version of :func:`gathered_distances` (used when numba is missing)."""
    out = torch.empty(candidates.shape)
    for s in range(0, len(rows), chunk):
        cand = candidates[s:s + chunk]
        d = paired_ray_distance(x[rows[s:s + chunk]].unsqueeze(1), x[cand.clamp_min(0)])
        out[s:s + chunk] = d.float().masked_fill(cand < 0, float("inf"))
    return out


def gathered_distances(flat: np.ndarray, x: Tensor, rows: Tensor, candidates: Tensor) -> Tensor:
    """Distances ``(Q, C)`` from ``rows (Q,)`` to ``candidates (Q, C)`` (-1 -> inf).

    ``x`` and ``flat`` come from :func:`unit_flat`.
    """
    try:
        from hoirecon.prior.grouping._numba import gathered_distances as numba_distances
    except ImportError:
        return torch_gathered_distances(x, rows, candidates)
    return torch.from_numpy(numba_distances(flat, rows.numpy(), candidates.numpy(), PARALLEL_EPS**2))


def _dedupe(cand: Tensor) -> Tensor:
    """Sort each row of ``cand (Q, C)`` and replace repeated indices by ``-1``."""
    cand, _ = cand.sort(dim=1)
    repeat = torch.zeros_like(cand, dtype=torch.bool)
    repeat[:, 1:] = cand[:, 1:] == cand[:, :-1]
    return cand.masked_fill(repeat, -1)


def _reverse(idx: Tensor, fresh: Tensor, size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Up to ``size`` random reverse neighbours per image (``j`` with ``i`` in ``idx[j]``) -> ``(N, size)``
    and whether each reverse edge is fresh."""
    n, k = idx.shape
    src = torch.arange(n).repeat_interleave(k)
    dst, new = idx.reshape(-1), fresh.reshape(-1)
    keep = dst >= 0
    src, dst, new = src[keep], dst[keep], new[keep]
    order = torch.argsort(dst.double() + torch.rand(len(dst), generator=generator, dtype=torch.float64) * 0.5)
    src, dst, new = src[order], dst[order], new[order]
    counts = torch.bincount(dst, minlength=n)
    rank = torch.arange(len(dst)) - (torch.cumsum(counts, 0) - counts)[dst]
    take = rank < size
    rev = torch.full((n, size), -1, dtype=torch.long)
    rev_new = torch.zeros((n, size), dtype=torch.bool)
    rev[dst[take], rank[take]] = src[take]
    rev_new[dst[take], rank[take]] = new[take]
    return rev, rev_new


def _compact(cand: Tensor, keep: Tensor) -> Tensor:
    """Kept entries of each row of ``cand (Q, C)`` moved to the front; width = the largest count."""
    width = int(keep.sum(1).max()) if len(cand) else 0
    slot = torch.where(keep, keep.cumsum(1) - 1, width)
    out = cand.new_full((len(cand), width + 1), -1).scatter_(1, slot, cand)
    return out[:, :width]


def _candidates(graph: Tensor, graph_new: Tensor, rows: Tensor, current: Tensor,
                extra: Tensor) -> Tensor:
    """New candidates for ``rows``: neighbours of neighbours reached through at least one fresh
    edge, plus the ``extra (Q, E)`` ones; without repeats or ``current (Q, k)`` -> ``(Q, C)``."""
    hop = graph[rows]
    safe = hop.clamp_min(0)
    second = graph[safe]
    useful = graph_new[rows].unsqueeze(-1) | graph_new[safe]
    useful &= (hop >= 0).unsqueeze(-1) & (second >= 0)
    cand, _ = torch.cat([hop, second.masked_fill(~useful, -1).flatten(1), extra], 1).sort(dim=1)
    drop = cand < 0
    drop[:, 1:] |= cand[:, 1:] == cand[:, :-1]
    pos = torch.searchsorted(cand, current.clamp_min(0)).clamp_max(cand.shape[1] - 1)
    found = ((cand.gather(1, pos) == current) & (current >= 0)).to(torch.int8)
    drop |= torch.zeros_like(cand, dtype=torch.int8).scatter_reduce_(1, pos, found, "amax").bool()
    return _compact(cand, ~drop)


def _nearest_centres(x: Tensor, count: int) -> Tensor:
    """Indices ``(N, count)`` of the images with the nearest camera centres (self excluded)."""
    centres = x[:, -1].double().numpy()
    count = min(count, len(x) - 1)
    if count < 1:
        return torch.empty(len(x), 0, dtype=torch.long)
    _, near = cKDTree(centres).query(centres, k=count + 1)
    return torch.from_numpy(np.asarray(near).reshape(len(x), -1)[:, 1:]).long()


def _seed_graph(x: Tensor, flat: np.ndarray, k: int, seeds: int, exclusion: Exclusion,
                generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Initial neighbours: the best ``k`` of ``seeds`` random images.

    Random seeds are deliberate: seeding with the nearest camera centres (a natural idea, as
    ``d <= |t - t'|``) traps the search among views from the same place and halves recall on
    clustered data, because their neighbour lists never lead to the other views of a scene.
    Enough seeds matter for the same reason: a scene none of whose images starts with a
    neighbour in it is only found by chance later.
    """
    n = len(x)
    cand = _dedupe(torch.randint(0, n, (n, seeds), generator=generator))
    rows = torch.arange(n)
    d = gathered_distances(flat, x, rows, cand)
    d = d.masked_fill(exclusion.mask(rows[:, None], cand), float("inf"))
    return padded_topk(d, cand, k)


def nndescent_knn(x25d: Tensor, k: int, exclusion: Exclusion | None = None,
                  iterations: int = 16, delta: float = 1e-3, seed: int = 0,
                  seeds: int | None = None, extra: int | None = None,
                  chunk: int = 8192) -> tuple[Tensor, Tensor]:
    """Approximate ``k`` nearest images by NN-descent: ``x25d (N, K + 1, 3) -> (N, k), (N, k)``.

    Starts from the best of ``seeds`` (default ``8 k``) random images per image; each round also
    scores ``extra`` (default ``k / 2``) random images per image. Once the rounds settle (fewer
    than ``delta N k`` changes), the ``2 k`` images with the nearest camera centres join the
    candidates and rounds continue until they settle again (or ``iterations`` in all): views
    from nearby points can be true neighbours (``d <= |t - t'|``) of a different scene, which
    neighbours of neighbours rarely reach. Deterministic for a given ``seed``. Recall@k against
    :func:`exact_knn` is measured in ``bench/bench_grouping.py`` and tested in ``tests/prior``.
    """
    exclusion = exclusion or Exclusion()
    generator = torch.Generator().manual_seed(seed)
    x, flat = unit_flat(x25d)
    n = len(x)
    seeds, extra = seeds or 8 * k, k // 2 if extra is None else extra
    idx, dist = _seed_graph(x, flat, k, seeds, exclusion, generator)
    fresh = idx >= 0
    near: Tensor | None = None
    for iteration in range(iterations):
        rev, rev_new = _reverse(idx, fresh, k, generator)
        graph, graph_new = torch.cat([idx, rev], 1), torch.cat([fresh, rev_new], 1)
        new_idx, new_dist, new_fresh = idx.clone(), dist.clone(), torch.zeros_like(fresh)
        for start in range(0, n, chunk):
            rows = torch.arange(start, min(start + chunk, n))
            more = [torch.randint(0, n, (len(rows), extra), generator=generator)]
            more += [near[rows]] if near is not None else []
            cand = _candidates(graph, graph_new, rows, idx[rows], torch.cat(more, 1))
            d = gathered_distances(flat, x, rows, cand)
            d = d.masked_fill(exclusion.mask(rows[:, None], cand), float("inf"))
            best, order = torch.cat([dist[rows], d], 1).topk(k, dim=1, largest=False)
            chosen = torch.cat([idx[rows], cand], 1).gather(1, order).masked_fill(torch.isinf(best), -1)
            new_idx[rows], new_dist[rows] = chosen, best
            new_fresh[rows] = (order >= k) & (chosen >= 0)
        idx, dist, fresh = new_idx, new_dist, new_fresh
        changed = int(fresh.sum())
        logger.debug("nn-descent iteration %d: %d neighbours changed", iteration, changed)
        if changed < delta * n * k:
            if near is not None:
                break
            near = _nearest_centres(x, 2 * k)
    return idx, dist


def pynndescent_knn(x25d: Tensor, k: int, exclusion: Exclusion | None = None,
                    extra: int = 8, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Approximate neighbours with pynndescent and a numba custom metric -> ``(N, k), (N, k)``.

    Searches ``k + extra`` neighbours so that excluded ones can be dropped afterwards.
    """
    try:
        import pynndescent

        from hoirecon.prior.grouping._numba import pynndescent_metric
    except ImportError as error:
        raise ImportError("method 'pynndescent' needs the pynndescent package") from error
    exclusion = exclusion or Exclusion()
    x, flat = unit_flat(x25d)
    n_search = min(k + extra + 1, len(x))
    index = pynndescent.NNDescent(flat, metric=pynndescent_metric, n_neighbors=n_search,
                                  random_state=seed, n_jobs=torch.get_num_threads())
    indices, distances = index.neighbor_graph
    cand = torch.from_numpy(indices.astype(np.int64))
    d = torch.from_numpy(distances.astype(np.float32))
    rows = torch.arange(len(x))[:, None]
    d = d.masked_fill(exclusion.mask(rows, cand), float("inf"))
    return padded_topk(d, cand, k)
