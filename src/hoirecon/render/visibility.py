"""Per-vertex visibility from the camera, with one batched ray query for all vertices.

Rule: a vertex is visible iff
1. it is in front of the camera (camera-space ``z > 0``),
2. it projects inside the image (``u in [-0.5, W - 0.5)``, ``v in [-0.5, H - 0.5)``), and
3. the first surface hit on the ray from the camera centre towards it is not in front of it:
   the ray misses everything (it grazes the vertex), or the hit lies at a distance
   ``>= (1 - rel_tol) * |vertex|``, or the hit triangle is one of the vertex's own faces
   (same mesh, contains the vertex).
Every mesh of the call occludes every other; there is no back-face test, so a vertex on a
surface seen edge-on counts as visible.
"""

from __future__ import annotations

import numpy as np

from hoirecon.render.camera import Camera
from hoirecon.render.mesh import CombinedScene
from hoirecon.render.raycast import Intersector, cast_rays
from hoirecon.render.vecmath import norm

__all__ = ["vertex_visibility", "DEFAULT_VISIBILITY_TOL"]

DEFAULT_VISIBILITY_TOL = 1e-3
"""Relative depth slack: a hit within 0.1 % of the vertex distance does not occlude it."""


def _candidates(scene: CombinedScene, camera: Camera) -> np.ndarray:
    """(C,) global ids of vertices in front of the camera that project inside the image."""
    inside = (scene.vertices[:, 2] > 0) & camera.in_image(scene.uv)
    return np.flatnonzero(inside)


def _unoccluded(
    intersector: Intersector | None, scene: CombinedScene, ids: np.ndarray, rel_tol: float
) -> np.ndarray:
    """(C,) bool: the first hit towards each vertex ``ids`` (C,) does not hide it."""
    points = scene.vertices[ids]
    dist = norm(points)
    hits = cast_rays(intersector, scene, points / dist[:, None])
    own_face = np.zeros(len(ids), dtype=bool)
    hit = hits.hit
    own_face[hit] = np.any(scene.faces[hits.face[hit]] == ids[hit, None], axis=1)
    return ~hit | own_face | (hits.t >= (1.0 - rel_tol) * dist)


def vertex_visibility(
    intersector: Intersector | None,
    scene: CombinedScene,
    camera: Camera,
    rel_tol: float = DEFAULT_VISIBILITY_TOL,
) -> list[np.ndarray]:
    """Visibility of every vertex of every mesh in ``scene`` (rule in the module docstring).

    Returns one (V_i,) bool array per mesh, in input order.
    """
    if not 0 <= rel_tol < 1:
        raise ValueError(f"visibility_tol: expected a value in [0, 1), got {rel_tol!r}")
    ids = _candidates(scene, camera)
    visible = np.zeros(len(scene.vertices), dtype=bool)
    if len(ids):
        visible[ids] = _unoccluded(intersector, scene, ids, rel_tol)
    offsets = scene.vertex_offsets
    return [visible[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
