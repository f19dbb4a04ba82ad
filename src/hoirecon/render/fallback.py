"""Slow ray intersector used only when embree is unavailable.

trimesh's own pure-Python intersector needs the optional ``rtree`` package; when that is
missing too, this brute-force numpy version tests every ray against every triangle in
chunks. It answers the same ``intersects_first`` query, so results match embree up to
float precision; it is meant for small scenes and tests, not production renders.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BruteForceIntersector"]

_PAIRS_PER_CHUNK = 1 << 20
_EPS = 1e-12


class BruteForceIntersector:
    """First-hit queries against triangles (F, 3, 3) by exhaustive Moller-Trumbore tests."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
        self._a = tri[:, 0]
        self._e1 = tri[:, 1] - tri[:, 0]
        self._e2 = tri[:, 2] - tri[:, 0]

    def _first_in_chunk(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """(r,) first triangle hit by rays origins (r, 3), directions (r, 3); -1 on miss."""
        pvec = np.cross(directions[:, None], self._e2[None])
        det = np.einsum("fc,rfc->rf", self._e1, pvec)
        inv = 1.0 / np.where(np.abs(det) > _EPS, det, np.nan)
        svec = origins[:, None] - self._a[None]
        u = np.einsum("rfc,rfc->rf", svec, pvec) * inv
        qvec = np.cross(svec, self._e1[None])
        v = np.einsum("rc,rfc->rf", directions, qvec) * inv
        t = np.einsum("fc,rfc->rf", self._e2, qvec) * inv
        ok = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > _EPS)
        t = np.where(ok, t, np.inf)
        first = np.argmin(t, axis=1)
        return np.where(np.isfinite(t[np.arange(len(t)), first]), first, -1)

    def intersects_first(self, ray_origins: np.ndarray, ray_directions: np.ndarray) -> np.ndarray:
        """(R,) index of the first triangle hit by each ray (R, 3), (R, 3); -1 on miss."""
        origins = np.asarray(ray_origins, dtype=np.float64)
        directions = np.asarray(ray_directions, dtype=np.float64)
        out = np.full(len(origins), -1, dtype=np.int64)
        if len(self._a) == 0:
            return out
        step = max(1, _PAIRS_PER_CHUNK // len(self._a))
        for start in range(0, len(origins), step):
            chunk = slice(start, start + step)
            out[chunk] = self._first_in_chunk(origins[chunk], directions[chunk])
        return out
