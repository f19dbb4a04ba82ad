"""First-hit ray queries from the camera centre against a combined scene.

The acceleration structure is trimesh's embree-backed ``RayMeshIntersector`` (package
``embreex``). Embree only reports *which* triangle a ray hits first; the hit distance and
barycentric coordinates are then recomputed in float64 on that triangle (Moller-Trumbore),
which is cheap and keeps depth consistent with ``barycentric @ triangle_vertices``.
If embree cannot be imported, a slower intersector is used with a warning (trimesh's
pure-Python one when ``rtree`` is installed, else :mod:`hoirecon.render.fallback`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import trimesh
import trimesh.ray

from hoirecon.render.fallback import BruteForceIntersector
from hoirecon.render.mesh import CombinedScene
from hoirecon.render.vecmath import cross, dot

__all__ = ["RayHits", "make_intersector", "cast_rays", "embree_available"]

log = logging.getLogger(__name__)

_DET_EPS = 1e-300


class Intersector(Protocol):
    """What we need from a trimesh ray intersector."""

    def intersects_first(self, ray_origins: np.ndarray, ray_directions: np.ndarray) -> np.ndarray:
        """(R,) index of the first triangle hit by each ray, -1 for a miss."""
        ...


def embree_available() -> bool:
    """True when trimesh can use the embree backend (``embreex`` importable)."""
    return bool(trimesh.ray.has_embree)


def _rtree_available() -> bool:
    """True when trimesh's pure-Python intersector can run (it needs ``rtree``)."""
    try:
        import rtree  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _warn_slow_fallback() -> None:
    """Log, once per process, that embree is missing."""
    log.warning("embree (package 'embreex') is unavailable: ray casting uses a slow fallback")


def make_intersector(scene: CombinedScene) -> Intersector | None:
    """Build one ray intersector over all faces of ``scene``; None when it has no area.

    Prefers embree; otherwise warns (once per process) and uses trimesh's pure-Python intersector
    (when ``rtree`` is installed) or a brute-force numpy one.
    """
    if len(scene.faces) == 0 or np.ptp(scene.vertices, axis=0).max() <= 0:
        return None
    if embree_available():
        mesh = trimesh.Trimesh(scene.vertices, scene.faces, process=False, validate=False)
        return trimesh.ray.ray_pyembree.RayMeshIntersector(mesh)
    _warn_slow_fallback()
    if _rtree_available():
        mesh = trimesh.Trimesh(scene.vertices, scene.faces, process=False, validate=False)
        return trimesh.ray.ray_triangle.RayMeshIntersector(mesh)
    return BruteForceIntersector(scene.vertices, scene.faces)


@dataclass(frozen=True)
class RayHits:
    """First hits of R rays leaving the camera centre (the camera-space origin)."""

    face: np.ndarray
    """(R,) int64 global face index, -1 where the ray hits nothing."""
    t: np.ndarray
    """(R,) float64 ray parameter of the hit (in units of the direction's length); inf on miss."""
    barycentric: np.ndarray
    """(R, 3) float64 weights of the face's three vertices; NaN on miss."""
    point: np.ndarray
    """(R, 3) float64 hit point ``barycentric @ triangle``; NaN on miss."""

    @property
    def hit(self) -> np.ndarray:
        """(R,) bool mask of rays that hit."""
        return self.face >= 0


def _triangle_hits(
    triangles: np.ndarray, directions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersect rays from the origin with their triangles (Moller-Trumbore, float64).

    triangles (R, 3, 3), directions (R, 3) -> t (R,), barycentric (R, 3), valid (R,) bool.
    Barycentrics are clamped onto the triangle, absorbing float32 disagreement with embree.
    """
    a = triangles[:, 0]
    e1 = triangles[:, 1] - a
    e2 = triangles[:, 2] - a
    pvec = cross(directions, e2)
    det = dot(e1, pvec)
    valid = np.abs(det) > _DET_EPS
    inv = np.divide(1.0, det, out=np.zeros_like(det), where=valid)
    qvec = cross(a, e1)
    b1 = np.clip(-dot(a, pvec) * inv, 0.0, 1.0)
    b2 = np.clip(-dot(directions, qvec) * inv, 0.0, 1.0)
    over = np.maximum(b1 + b2, 1.0)
    b1, b2 = b1 / over, b2 / over
    t = -dot(e2, qvec) * inv
    return t, np.stack([1.0 - b1 - b2, b1, b2], axis=1), valid


def cast_rays(
    intersector: Intersector | None, scene: CombinedScene, directions: np.ndarray
) -> RayHits:
    """First hit of each ray from the camera centre along ``directions`` (R, 3), camera space.

    Directions need not be unit length: ``t`` is measured in multiples of each direction,
    so z-normalised pixel rays give ``t == depth``.
    """
    n = len(directions)
    face = np.full(n, -1, dtype=np.int64)
    t = np.full(n, np.inf)
    bary = np.full((n, 3), np.nan)
    point = np.full((n, 3), np.nan)
    if intersector is not None and n > 0:
        first = np.asarray(intersector.intersects_first(np.zeros_like(directions), directions))
        rows = np.flatnonzero(first >= 0)
        tri = scene.vertices[scene.faces[first[rows]]]
        t_hit, b_hit, valid = _triangle_hits(tri, directions[rows])
        rows = rows[valid]
        face[rows] = first[rows]
        t[rows] = t_hit[valid]
        bary[rows] = b_hit[valid]
        point[rows] = np.einsum("rk,rkc->rc", b_hit[valid], tri[valid])
    return RayHits(face=face, t=t, barycentric=bary, point=point)
