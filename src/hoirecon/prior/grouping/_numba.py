"""numba kernels for approximate KNN grouping (imported lazily: numba is an optional speed-up).

Both kernels compute the per-keypoint ray distance of :mod:`hoirecon.prior.grouping.distances` with the
direct cross-product formula, so they are accurate for any angle between rays.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(inline="always", fastmath=True)
def _ray_pair(ax: float, ay: float, az: float, bx: float, by: float, bz: float,
              ox: float, oy: float, oz: float, eps2: float) -> float:
    """Blended skew/parallel distance between rays ``a``, ``b`` (unit) whose centres differ by ``o``."""
    nx, ny, nz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    sin_sq = nx * nx + ny * ny + nz * nz
    skew = abs(ox * nx + oy * ny + oz * nz) / math.sqrt(max(sin_sq, eps2))
    weight = sin_sq / (sin_sq + eps2)
    if weight > 1.0 - 1e-9:
        return skew
    pa = math.sqrt((oy * az - oz * ay) ** 2 + (oz * ax - ox * az) ** 2 + (ox * ay - oy * ax) ** 2)
    pb = math.sqrt((oy * bz - oz * by) ** 2 + (oz * bx - ox * bz) ** 2 + (ox * by - oy * bx) ** 2)
    return weight * skew + (1.0 - weight) * 0.5 * (pa + pb)


@numba.njit(fastmath=True)
def _image_pair(x: np.ndarray, y: np.ndarray, eps2: float) -> float:
    """Eq. (11) between two flattened 2.5D vectors ``(3 (K + 1),)`` with unit rays."""
    keypoints = x.shape[0] // 3 - 1
    c = 3 * keypoints
    ox, oy, oz = x[c] - y[c], x[c + 1] - y[c + 1], x[c + 2] - y[c + 2]
    total = 0.0
    for k in range(keypoints):
        i = 3 * k
        total += _ray_pair(x[i], x[i + 1], x[i + 2], y[i], y[i + 1], y[i + 2], ox, oy, oz, eps2)
    return total / keypoints


@numba.njit(parallel=True, fastmath=True, cache=True)
def gathered_distances(flat: np.ndarray, rows: np.ndarray, candidates: np.ndarray,
                       eps2: float) -> np.ndarray:
    """Distances from ``flat[rows[q]]`` to ``flat[candidates[q, c]]`` -> ``(Q, C)`` float32.

    ``flat (N, 3 (K + 1))`` holds unit rays then the centre; negative candidates give ``inf``.
    """
    out = np.empty(candidates.shape, dtype=np.float32)
    for q in numba.prange(candidates.shape[0]):
        x = flat[rows[q]]
        for c in range(candidates.shape[1]):
            j = candidates[q, c]
            out[q, c] = np.inf if j < 0 else _image_pair(x, flat[j], eps2)
    return out


@numba.njit(fastmath=True)
def pynndescent_metric(x: np.ndarray, y: np.ndarray) -> float:
    """Eq. (11) as a pynndescent custom metric on flattened 2.5D vectors (eps = 1e-6)."""
    return _image_pair(x, y, 1e-12)


SEARCH_SKEW_ONLY = 1e-6
"""Squared sine above which the search kernel takes the skew distance alone: the parallel term's
weight is then below ``eps^2 / 1e-6`` (1e-6 at eps = 1e-6), far below float32 resolution of a sum."""


@numba.njit(inline="always", fastmath=True)
def _search_ray_pair(ax: float, ay: float, az: float, bx: float, by: float, bz: float,
                     ox: float, oy: float, oz: float, eps2: float) -> float:
    """:func:`_ray_pair` for the search: the blend only for nearly parallel rays."""
    nx, ny, nz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
    sin_sq = nx * nx + ny * ny + nz * nz
    if sin_sq > SEARCH_SKEW_ONLY:
        return abs(ox * nx + oy * ny + oz * nz) / math.sqrt(sin_sq)
    return _ray_pair(ax, ay, az, bx, by, bz, ox, oy, oz, eps2)


@numba.njit(inline="always", fastmath=True)
def _bounded_pair(flat: np.ndarray, a: int, b: int, eps2: float, limit: float) -> float:
    """Eq. (11) between rows ``a`` and ``b`` of ``flat``, abandoned (returning a value above ``limit``)
    as soon as the partial sum shows it cannot be below ``limit``: every keypoint's term is >= 0."""
    keypoints = flat.shape[1] // 3 - 1
    c = 3 * keypoints
    ox, oy, oz = flat[a, c] - flat[b, c], flat[a, c + 1] - flat[b, c + 1], flat[a, c + 2] - flat[b, c + 2]
    bound, total = limit * keypoints, 0.0
    for k in range(keypoints):
        i = 3 * k
        total += _search_ray_pair(flat[a, i], flat[a, i + 1], flat[a, i + 2], flat[b, i], flat[b, i + 1],
                                  flat[b, i + 2], ox, oy, oz, eps2)
        if total > bound:
            break
    return total / keypoints


@numba.njit(inline="always")
def _excluded(q: int, j: int, centres: np.ndarray, duplicate2: float, video: np.ndarray, frame: np.ndarray,
              gap: int) -> bool:
    """The test of ``Exclusion.mask`` for one pair (``video`` empty: unrelated stills)."""
    if j == q or j < 0:
        return True
    dx, dy, dz = centres[j, 0] - centres[q, 0], centres[j, 1] - centres[q, 1], centres[j, 2] - centres[q, 2]
    if dx * dx + dy * dy + dz * dz < duplicate2:
        return True
    return len(video) > 0 and video[j] == video[q] and abs(frame[j] - frame[q]) <= gap


@numba.njit(inline="always")
def _first_visit(table: np.ndarray, j: int) -> bool:
    """Add ``j >= 0`` to the open-addressing set ``table`` (size a power of two, ``-1`` = empty);
    True when it was not there yet."""
    mask = table.shape[0] - 1
    slot = (j * 0x9E3779B1) & mask
    while table[slot] >= 0:
        if table[slot] == j:
            return False
        slot = (slot + 1) & mask
    table[slot] = j
    return True


@numba.njit(parallel=True, fastmath=True, cache=True)
def descent_rows(flat: np.ndarray, start: int, idx: np.ndarray, dist: np.ndarray, graph: np.ndarray,
                 graph_new: np.ndarray, extra: np.ndarray, centres: np.ndarray, duplicate2: float,
                 video: np.ndarray, frame: np.ndarray, gap: int, eps2: float, out_idx: np.ndarray,
                 out_dist: np.ndarray, out_fresh: np.ndarray) -> None:
    """One NN-descent update of rows ``[start, start + len(extra))``, fused: per row, gather the
    neighbours ``graph[q]`` and, through at least one fresh edge (``graph_new``), their neighbours, plus
    ``extra[q - start]``; skip repeats, current neighbours and excluded pairs; score each candidate
    (abandoned once it cannot enter the list) and insert it into the sorted ``k`` best.

    Candidates are scored in the order they are gathered: the neighbours of the nearest neighbours
    first (``graph`` rows start with the sorted list), so the list improves early and later
    candidates are abandoned sooner. ``idx``/``dist (N, k)`` are the current lists (sorted,
    ``-1``/``inf`` padded); the new lists and whether each entry is new this round go to ``out_*``
    at the same rows. ``graph (N, W)`` may have ``W = 0`` (seeding from ``extra`` alone).
    """
    k, width = idx.shape[1], graph.shape[1]
    size = 1
    while size < 2 * (k + width + width * width + extra.shape[1]):
        size *= 2
    for r in numba.prange(extra.shape[0]):
        q = start + r
        best_i, best_d = idx[q].copy(), dist[q].copy()
        new = np.zeros(k, dtype=np.bool_)
        seen = np.full(size, -1, dtype=np.int64)
        _first_visit(seen, q)
        for t in range(k):
            if best_i[t] >= 0:
                _first_visit(seen, best_i[t])
        buf = np.empty(width + width * width + extra.shape[1], dtype=np.int64)
        m = 0
        for a in range(width):
            hop = graph[q, a]
            if hop < 0:
                continue
            buf[m] = hop
            m += 1
            hop_new = graph_new[q, a]
            for b in range(width):
                second = graph[hop, b]
                if second >= 0 and (hop_new or graph_new[hop, b]):
                    buf[m] = second
                    m += 1
        for e in range(extra.shape[1]):
            buf[m] = extra[r, e]
            m += 1
        for c in range(m):
            j = buf[c]
            if j < 0 or not _first_visit(seen, j) or _excluded(q, j, centres, duplicate2, video, frame, gap):
                continue
            worst = best_d[k - 1]
            d = _bounded_pair(flat, q, j, eps2, worst)
            if not d < worst:
                continue
            slot = k - 1
            while slot > 0 and best_d[slot - 1] > d:
                best_i[slot], best_d[slot], new[slot] = best_i[slot - 1], best_d[slot - 1], new[slot - 1]
                slot -= 1
            best_i[slot], best_d[slot], new[slot] = j, d, True
        out_idx[q], out_dist[q], out_fresh[q] = best_i, best_d, new


@numba.njit(cache=True)
def reverse_sample(idx: np.ndarray, fresh: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``size`` reverse neighbours per image (``i`` with ``j`` in ``idx[i]``), a uniform sample
    (reservoir) when there are more; returns ``(N, size)`` indices (``-1`` padded) and freshness."""
    np.random.seed(seed)
    n, k = idx.shape
    rev = np.full((n, size), -1, dtype=np.int64)
    rev_new = np.zeros((n, size), dtype=np.bool_)
    count = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for t in range(k):
            j = idx[i, t]
            if j < 0:
                continue
            slot = count[j]
            count[j] += 1
            if slot >= size:
                slot = np.random.randint(0, slot + 1)
            if slot < size:
                rev[j, slot], rev_new[j, slot] = i, fresh[i, t]
    return rev, rev_new


@numba.njit(parallel=True, cache=True)
def exact_neighbour_distances(rows: np.ndarray, start: int, idx: np.ndarray, eps: float) -> np.ndarray:
    """Float64 eq. (11) from rows ``[start, start + Q)`` of ``rows (N, K + 1, 3)`` (raw rays, any
    length) to their neighbours ``idx (Q, k)`` -> ``(Q, k)``, ``inf`` where ``idx < 0``.

    The formula of :func:`hoirecon.prior.grouping.distances.paired_ray_distances`, without fast-math:
    per keypoint ``w skew + (1 - w) parallel`` with ``w = s^2 / (s^2 + eps^2)``.
    """
    keypoints = rows.shape[1] - 1
    out = np.empty(idx.shape, dtype=np.float64)
    eps2 = eps * eps
    for r in numba.prange(idx.shape[0]):
        q = start + r
        for c in range(idx.shape[1]):
            j = idx[r, c]
            if j < 0:
                out[r, c] = np.inf
                continue
            ox = np.float64(rows[q, keypoints, 0]) - np.float64(rows[j, keypoints, 0])
            oy = np.float64(rows[q, keypoints, 1]) - np.float64(rows[j, keypoints, 1])
            oz = np.float64(rows[q, keypoints, 2]) - np.float64(rows[j, keypoints, 2])
            total = 0.0
            for k in range(keypoints):
                ax, ay, az = np.float64(rows[q, k, 0]), np.float64(rows[q, k, 1]), np.float64(rows[q, k, 2])
                bx, by, bz = np.float64(rows[j, k, 0]), np.float64(rows[j, k, 1]), np.float64(rows[j, k, 2])
                na = max(math.sqrt(ax * ax + ay * ay + az * az), 1e-12)
                nb = max(math.sqrt(bx * bx + by * by + bz * bz), 1e-12)
                ax, ay, az, bx, by, bz = ax / na, ay / na, az / na, bx / nb, by / nb, bz / nb
                nx, ny, nz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
                sin_sq = nx * nx + ny * ny + nz * nz
                skew = abs(ox * nx + oy * ny + oz * nz) / math.sqrt(max(sin_sq, eps2))
                pa = math.sqrt((oy * az - oz * ay) ** 2 + (oz * ax - ox * az) ** 2 + (ox * ay - oy * ax) ** 2)
                pb = math.sqrt((oy * bz - oz * by) ** 2 + (oz * bx - ox * bz) ** 2 + (ox * by - oy * bx) ** 2)
                weight = sin_sq / (sin_sq + eps2)
                total += weight * skew + (1.0 - weight) * 0.5 * (pa + pb)
            out[r, c] = total / keypoints
    return out
