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
