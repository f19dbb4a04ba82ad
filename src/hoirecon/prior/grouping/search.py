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
distances (Q, k))`` on the CPU, sorted by distance, padded with ``-1`` / ``inf``.

On a GPU (``device``): :func:`exact_knn` holds all of ``x`` there and runs larger tiles
(:func:`exact_tiles`) and the running top-k there; :func:`nndescent_knn` keeps its graph there,
finds the candidates there and scores them with the torch kernel in large chunks
(:func:`distance_kernel`); only the reverse-neighbour sampling and the random draws stay on the
CPU (with its seeded generator, so a GPU run explores the same candidates as a CPU run). Tile and
chunk sizes come from :data:`DEVICE_TILE_BYTES` and the device's free memory. The CPU path is
unchanged (numba kernels, ``QUERY_TILE x BASE_TILE`` tiles).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

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
DEVICE_QUERY_TILE = 1024
"""Query rows per distance call of :func:`exact_knn` on a GPU."""
DEVICE_TILE_BYTES = 1 << 30
"""Size of the largest working tensor of a distance call on a GPU (a call's peak is a few times
this); capped at 1/16 of the device's free memory."""


def block_ranges(n: int, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of ``n`` rows cut every ``size`` rows (the last one shorter)."""
    return [(start, min(start + size, n)) for start in range(0, n, size)]


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


def exclusion_on(exclusion: Exclusion, device: torch.device) -> Exclusion:
    """``exclusion`` with its tensors on ``device`` (the same object when they are there already)."""
    tensors = {name: getattr(exclusion, name) for name in ("centers", "video", "frame")}
    if all(t is None or t.device == device for t in tensors.values()):
        return exclusion
    return replace(exclusion, **{name: None if t is None else t.to(device) for name, t in tensors.items()})


def accelerated(device: torch.device) -> bool:
    """Whether ``device`` takes the accelerator path (large tiles, torch kernel): all but the CPU."""
    return device.type != "cpu"


def device_budget(device: torch.device) -> int:
    """Bytes allowed for one working tensor of a distance call on ``device``: :data:`DEVICE_TILE_BYTES`,
    at most 1/16 of a CUDA device's free memory (at least 1 MiB)."""
    if device.type != "cuda":
        return DEVICE_TILE_BYTES
    free, _ = torch.cuda.mem_get_info(device)
    return max(min(DEVICE_TILE_BYTES, free // 16), 1 << 20)


def device_rows(device: torch.device, row_bytes: int) -> int:
    """Rows per chunk on ``device`` when a row of the largest working tensor takes ``row_bytes``."""
    return max(1, device_budget(device) // max(1, row_bytes))


def exact_tiles(device: torch.device, keypoints: int) -> tuple[int, int]:
    """``(query rows, candidate columns)`` of the tiles of :func:`exact_knn` on ``device``.

    The CPU keeps ``QUERY_TILE x BASE_TILE`` (the tiles the chunked search reproduces bit for bit);
    a GPU takes :data:`DEVICE_QUERY_TILE` rows and as many whole ``BASE_TILE`` s of columns as keep
    one ``(K, Q, C)`` float32 tensor within :func:`device_budget`.
    """
    if not accelerated(device):
        return QUERY_TILE, BASE_TILE
    columns = device_budget(device) // (4 * keypoints * DEVICE_QUERY_TILE)
    return DEVICE_QUERY_TILE, max(BASE_TILE, columns // BASE_TILE * BASE_TILE)


@contextlib.contextmanager
def full_float32_matmul() -> Iterator[None]:
    """Full float32 matrix products in the block (no TF32): the kernel's ``1 - cos^2`` needs them."""
    saved = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(saved)


def exact_knn(x25d: Tensor, k: int, exclusion: Exclusion | None = None,
              queries: Tensor | None = None, query_chunk: int | None = None,
              base_chunk: int | None = None, device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Exact ``k`` nearest images of each query: ``x25d (N, K + 1, 3) -> (Q, k), (Q, k)``.

    ``queries (Q,)`` selects the query images (default: all). Computed in float32 chunks of
    ``query_chunk x base_chunk`` pairs (default: :func:`exact_tiles`) on ``device`` (default: the
    CPU), which holds all of ``x`` and the running top-k; the result comes back to the CPU,
    distances in float32. Off the CPU, matrix products run in full float32 whatever the session's
    setting (:func:`full_float32_matmul`).
    """
    device = device or torch.device("cpu")
    default_rows, default_columns = exact_tiles(device, x25d.shape[1] - 1)
    query_chunk, base_chunk = query_chunk or default_rows, base_chunk or default_columns
    exclusion = exclusion_on(exclusion or Exclusion(), device)
    x = RaySet(x25d.float().to(device))
    rows_all = torch.arange(len(x), device=device) if queries is None else queries.long().to(device)
    out_i = torch.full((len(rows_all), k), -1, dtype=torch.long, device=device)
    out_d = torch.full((len(rows_all), k), float("inf"), device=device)
    with full_float32_matmul() if accelerated(device) else contextlib.nullcontext():
        for start in range(0, len(rows_all), query_chunk):
            rows = rows_all[start:start + query_chunk]
            best_d = torch.empty(len(rows), 0, device=device)
            best_i = torch.empty(len(rows), 0, dtype=torch.long, device=device)
            for base in range(0, len(x), base_chunk):
                cand = torch.arange(base, min(base + base_chunk, len(x)), device=device).expand(len(rows), -1)
                d = pairwise_ray_distance(x, x, rows=rows, cols=slice(base, base + base_chunk))
                d = d.masked_fill(exclusion.mask(rows[:, None], cand), float("inf"))
                best_i, best_d = padded_topk(torch.cat([best_d, d], 1), torch.cat([best_i, cand], 1), k)
            out_i[start:start + len(rows)], out_d[start:start + len(rows)] = best_i, best_d
    return out_i.cpu(), out_d.cpu()


def unit_flat(x25d: Tensor) -> tuple[Tensor, np.ndarray]:
    """``x25d (N, K + 1, 3)`` with unit rays in float32, and the same flattened ``(N, 3 (K + 1))``
    as a contiguous numpy array for the numba kernels."""
    x = torch.cat([torch.nn.functional.normalize(x25d[:, :-1].float(), dim=-1),
                   x25d[:, -1:].float()], 1)
    return x, np.ascontiguousarray(x.reshape(len(x), -1).numpy())


def torch_gathered_distances(x: Tensor, rows: Tensor, candidates: Tensor,
                             chunk: int = 256) -> Tensor:
    """Torch version of :func:`gathered_distances` (used when numba is missing, and on a GPU),
    ``chunk`` rows at a time; ``rows``, ``candidates`` and the result are on ``x``'s device."""
    out = torch.empty(candidates.shape, device=x.device)
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


Distances = Callable[[Tensor, Tensor], Tensor]
"""``(rows (Q,), candidates (Q, C)) -> (Q, C)`` distances, as :func:`gathered_distances`."""


def distance_kernel(x: Tensor, flat: np.ndarray, device: torch.device) -> Distances:
    """:func:`gathered_distances` among ``x`` (both from :func:`unit_flat`) computed on ``device``.

    The CPU uses :func:`gathered_distances` (numba); another device holds a copy of ``x`` and runs
    :func:`torch_gathered_distances` with as many rows per chunk as keep a gathered
    ``(rows, C, K + 1, 3)`` float32 tensor within :func:`device_budget`. Rows, candidates and the
    result live on ``device``.
    """
    if not accelerated(device):
        return partial(gathered_distances, flat, x)
    on_device = x.to(device)
    row_bytes = 4 * 3 * x.shape[1]

    def kernel(rows: Tensor, candidates: Tensor) -> Tensor:
        chunk = device_rows(device, row_bytes * candidates.shape[1])
        return torch_gathered_distances(on_device, rows, candidates, chunk)

    return kernel


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


def _seed_graph(n: int, distances: Distances, k: int, seeds: int, exclusion: Exclusion,
                generator: torch.Generator, device: torch.device) -> tuple[Tensor, Tensor]:
    """Initial neighbours: the best ``k`` of ``seeds`` random images.

    Random seeds are deliberate: seeding with the nearest camera centres (a natural idea, as
    ``d <= |t - t'|``) traps the search among views from the same place and halves recall on
    clustered data, because their neighbour lists never lead to the other views of a scene.
    Enough seeds matter for the same reason: a scene none of whose images starts with a
    neighbour in it is only found by chance later. The draws come from the CPU ``generator``;
    the graph is made on ``device``.
    """
    cand = _dedupe(torch.randint(0, n, (n, seeds), generator=generator).to(device))
    rows = torch.arange(n, device=device)
    d = distances(rows, cand)
    d = d.masked_fill(exclusion.mask(rows[:, None], cand), float("inf"))
    return padded_topk(d, cand, k)


def nndescent_knn(x25d: Tensor, k: int, exclusion: Exclusion | None = None,
                  iterations: int = 16, delta: float = 1e-3, seed: int = 0,
                  seeds: int | None = None, extra: int | None = None,
                  chunk: int = 8192, device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Approximate ``k`` nearest images by NN-descent: ``x25d (N, K + 1, 3) -> (N, k), (N, k)``.

    Starts from the best of ``seeds`` (default ``8 k``) random images per image; each round also
    scores ``extra`` (default ``k / 2``) random images per image. Once the rounds settle (fewer
    than ``delta N k`` changes), the ``2 k`` images with the nearest camera centres join the
    candidates and rounds continue until they settle again (or ``iterations`` in all): views
    from nearby points can be true neighbours (``d <= |t - t'|``) of a different scene, which
    neighbours of neighbours rarely reach. Deterministic for a given ``seed``. Recall@k against
    :func:`exact_knn` is measured in ``bench/bench_grouping.py`` and tested in ``tests/prior``.
    ``device`` (default: the CPU) holds the graph and scores the candidates (see the module
    docstring); the result comes back to the CPU. :func:`~hoirecon.prior.grouping.knn.group_images`
    runs the fused rounds of :mod:`hoirecon.prior.grouping.descent` instead on the CPU with numba.
    """
    device = device or torch.device("cpu")
    exclusion = exclusion_on(exclusion or Exclusion(), device)
    generator = torch.Generator().manual_seed(seed)
    x, flat = unit_flat(x25d)
    distances = distance_kernel(x, flat, device)
    n = len(x)
    seeds, extra = seeds or 8 * k, k // 2 if extra is None else extra
    idx, dist = _seed_graph(n, distances, k, seeds, exclusion, generator, device)
    fresh = idx >= 0
    near: Tensor | None = None
    for iteration in range(iterations):
        rev, rev_new = _reverse(idx.cpu(), fresh.cpu(), k, generator)
        graph, graph_new = torch.cat([idx, rev.to(device)], 1), torch.cat([fresh, rev_new.to(device)], 1)
        new_idx, new_dist, new_fresh = idx.clone(), dist.clone(), torch.zeros_like(fresh)
        for start in range(0, n, chunk):
            rows = torch.arange(start, min(start + chunk, n), device=device)
            more = [torch.randint(0, n, (len(rows), extra), generator=generator).to(device)]
            more += [near[rows]] if near is not None else []
            cand = _candidates(graph, graph_new, rows, idx[rows], torch.cat(more, 1))
            d = distances(rows, cand)
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
            near = _nearest_centres(x, 2 * k).to(device)
    return idx.cpu(), dist.cpu()


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
