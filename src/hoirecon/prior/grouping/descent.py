"""NN-descent rounds as fused numba kernels, shared by the in-memory and the out-of-core searches.

A round updates every image's ``k`` best neighbours from one pass over its candidates: its
neighbours (forward and a reservoir sample of reverse ones) and, through at least one edge that
changed in the last round, their neighbours, plus extra images. The kernel
(:func:`hoirecon.prior.grouping._numba.descent_rows`) gathers them per image, skips repeats with a
small hash set, scores them nearest neighbours' neighbours first and abandons a distance as soon as
its partial sum cannot enter the list: no candidate matrix is ever built. The rows of the
flattened unit rays (:func:`~hoirecon.prior.grouping.search.unit_flat`) may be a memory map.
numba is required (the ``fast`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from hoirecon.prior.grouping.distances import PARALLEL_EPS
from hoirecon.prior.grouping.search import Exclusion, _nearest_centres, block_ranges


def available() -> bool:
    """Whether numba (the ``fast`` extra) is installed for the fused kernels."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def kernels() -> object:
    """The numba kernels module (the ``fast`` extra)."""
    try:
        from hoirecon.prior.grouping import _numba
    except ImportError as error:
        raise ImportError("the fused NN-descent needs numba (pip install 'hoirecon[fast]')") from error
    return _numba


def exclusion_arrays(exclusion: Exclusion, n: int) -> tuple:
    """``Exclusion`` as the arrays of the fused kernel: centres, squared duplicate distance, video,
    frame (both empty for unrelated stills) and the frame gap."""
    if exclusion.centers is None:  # no same-viewpoint test: a negative squared distance never matches
        centres, duplicate2 = np.zeros((n, 3)), -1.0
    else:
        centres, duplicate2 = exclusion.centers.double().numpy(), float(exclusion.duplicate_distance) ** 2
    if exclusion.video is None or exclusion.frame is None:
        video = frame = np.zeros(0, dtype=np.int64)
    else:
        video, frame = exclusion.video.long().numpy(), exclusion.frame.long().numpy()
    return centres, duplicate2, video, frame, int(exclusion.min_frame_gap)


def update_lists(flat: np.ndarray, idx: Tensor, dist: Tensor, graph: Tensor, graph_new: Tensor, extra: Callable,
                 exclusion: Exclusion, block: int) -> tuple[Tensor, Tensor, Tensor]:
    """Every row's list updated from its graph candidates and ``extra(rows) (Q, E)``, ``block`` rows
    at a time, by the fused kernel -> new (idx, dist, fresh)."""
    numba_kernels = kernels()
    n = len(flat)
    arrays = exclusion_arrays(exclusion, n)
    new_idx, new_dist, new_fresh = torch.empty_like(idx), torch.empty_like(dist), torch.empty_like(idx, dtype=torch.bool)
    for start, stop in block_ranges(n, block):
        numba_kernels.descent_rows(flat, start, idx.numpy(), dist.numpy(), graph.numpy(), graph_new.numpy(),
                                   np.ascontiguousarray(extra(torch.arange(start, stop)).numpy()), *arrays,
                                   PARALLEL_EPS**2, new_idx.numpy(), new_dist.numpy(), new_fresh.numpy())
    return new_idx, new_dist, new_fresh


def seed_lists(flat: np.ndarray, k: int, seeds: int, exclusion: Exclusion, generator: torch.Generator,
               block: int) -> tuple[Tensor, Tensor]:
    """The best ``k`` of ``seeds`` random images per image, a block of rows at a time."""
    n = len(flat)
    idx, dist = torch.full((n, k), -1, dtype=torch.long), torch.full((n, k), float("inf"))
    none = torch.empty((n, 0), dtype=torch.long)
    idx, dist, _ = update_lists(flat, idx, dist, none, none.bool(), lambda rows: torch.randint(
        0, n, (len(rows), seeds), generator=generator), exclusion, block)
    return idx, dist


def descent_round(flat: np.ndarray, idx: Tensor, dist: Tensor, fresh: Tensor, near: Tensor | None, extra: int,
                  exclusion: Exclusion, generator: torch.Generator, block: int) -> tuple[Tensor, Tensor, Tensor]:
    """One NN-descent round over all rows, ``block`` rows at a time -> new (idx, dist, fresh)."""
    n, k = idx.shape
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    rev, rev_new = kernels().reverse_sample(idx.numpy(), fresh.numpy(), k, seed)
    graph = torch.cat([idx, torch.from_numpy(rev)], 1)
    graph_new = torch.cat([fresh, torch.from_numpy(rev_new)], 1)

    def more(rows: Tensor) -> Tensor:
        random = torch.randint(0, n, (len(rows), extra), generator=generator)
        return torch.cat([random, near[rows]], 1) if near is not None else random

    return update_lists(flat, idx, dist, graph, graph_new, more, exclusion, block)


@dataclass
class DescentState:
    """The graph of a search between two rounds: enough to continue it."""

    idx: Tensor
    """``(N, k)`` neighbours, nearest first, ``-1`` padded."""
    dist: Tensor
    """``(N, k)`` float32 distances, ``inf`` padded."""
    fresh: Tensor
    """``(N, k)`` whether each entry is new since the last round."""
    rounds: int = 0
    near: bool = False
    """Whether the nearest camera centres have joined the candidates (the first settling is past)."""
    done: bool = False


def run_rounds(flat: np.ndarray, state: DescentState, exclusion: Exclusion, generator: torch.Generator,
               iterations: int, delta: float, extra: int, near_count: int, block: int,
               after_round: Callable[[DescentState], None] | None = None) -> DescentState:
    """Rounds on ``state`` (in place) until it settles twice (fewer than ``delta N k`` changes: the
    first time the ``near_count`` nearest camera centres join the candidates) or ``iterations`` rounds
    in all; ``after_round(state)`` after each."""
    n, k = state.idx.shape
    centres = torch.from_numpy(np.array(flat[:, -3:]))[:, None]
    near = _nearest_centres(centres, near_count) if state.near else None
    while not state.done and state.rounds < iterations:
        state.idx, state.dist, state.fresh = descent_round(flat, state.idx, state.dist, state.fresh, near, extra,
                                                           exclusion, generator, block)
        state.rounds += 1
        if int(state.fresh.sum()) < delta * n * k:
            state.done = state.near
            if not state.near:
                state.near, near = True, _nearest_centres(centres, near_count)
        state.done = state.done or state.rounds >= iterations
        if after_round is not None:
            after_round(state)
    return state


def nndescent_fused(flat: np.ndarray, k: int, exclusion: Exclusion, iterations: int = 16, delta: float = 1e-3,
                    seed: int = 0, seeds: int | None = None, extra: int | None = None, near_factor: int = 2,
                    block: int = 65536) -> tuple[Tensor, Tensor]:
    """NN-descent over ``flat (N, 3 (K + 1))`` with the fused kernels -> ``(N, k)`` indices and float32
    distances, with the schedule of :func:`~hoirecon.prior.grouping.search.nndescent_knn`: the best of
    ``seeds`` (``8 k``) random images, ``extra`` (``k / 2``) random images per round, and once settled
    (fewer than ``delta N k`` changes) the ``near_factor x k`` nearest camera centres until settled again."""
    generator = torch.Generator().manual_seed(seed)
    seeds, extra = seeds or 8 * k, k // 2 if extra is None else extra
    idx, dist = seed_lists(flat, k, seeds, exclusion, generator, block)
    state = run_rounds(flat, DescentState(idx, dist, idx >= 0), exclusion, generator, iterations, delta, extra,
                       near_factor * k, block)
    return state.idx, state.dist
