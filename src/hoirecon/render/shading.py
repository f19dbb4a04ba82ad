"""Headlight Lambertian shading of ray hits.

The light sits at the camera, so intensity is ``ambient + (1 - ambient) * |n . view|``
(two-sided, so open meshes and flipped windings still read well). Faces whose vertex
normals all stay within ``crease_deg`` of the face normal are shaded smoothly with
barycentric-interpolated vertex normals; faces at sharp creases (box edges) keep their
flat face normal so hard edges stay crisp.
"""

from __future__ import annotations

import numpy as np

from hoirecon.render.mesh import CombinedScene
from hoirecon.render.raycast import RayHits
from hoirecon.render.vecmath import cross, dot, normalize

__all__ = ["face_normals", "vertex_normals", "shade_hits"]

AMBIENT = 0.2
CREASE_DEG = 35.0


def face_normals(vertices: np.ndarray, faces: np.ndarray, unit: bool = True) -> np.ndarray:
    """(F, 3) face normals (right-hand winding) of vertices (V, 3), faces (F, 3).

    With ``unit=False`` the length is twice the triangle area (for area weighting).
    """
    tri = vertices[faces]
    raw = cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return normalize(raw) if unit else raw


def vertex_normals(
    vertices: np.ndarray, faces: np.ndarray, weighted: np.ndarray | None = None
) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals of vertices (V, 3), faces (F, 3).

    ``weighted`` (F, 3) may pass precomputed ``face_normals(..., unit=False)``.
    """
    if weighted is None:
        weighted = face_normals(vertices, faces, unit=False)
    corners = faces.ravel()
    summed = np.stack(
        [
            np.bincount(corners, weights=np.repeat(weighted[:, k], 3), minlength=len(vertices))
            for k in range(3)
        ],
        axis=1,
    )
    return normalize(summed)


def hit_normals(scene: CombinedScene, hits: RayHits, crease_deg: float = CREASE_DEG) -> np.ndarray:
    """(R, 3) unit shading normals at ray hits (zero rows where a ray missed).

    A hit face is shaded smoothly when all three of its vertex normals lie within
    ``crease_deg`` of its face normal, flat otherwise.
    """
    normals = np.zeros((len(hits.face), 3))
    rows = np.flatnonzero(hits.hit)
    if len(rows) == 0:
        return normals
    raw = face_normals(scene.vertices, scene.faces, unit=False)
    vn = vertex_normals(scene.vertices, scene.faces, weighted=raw)
    face = hits.face[rows]
    flat = normalize(raw[face])
    corner = vn[scene.faces[face]]
    smooth = np.all(np.einsum("rkc,rc->rk", corner, flat) >= np.cos(np.deg2rad(crease_deg)), axis=1)
    interp = normalize(np.einsum("rk,rkc->rc", hits.barycentric[rows], corner))
    normals[rows] = np.where(smooth[:, None], interp, flat)
    return normals


def shade_hits(
    scene: CombinedScene,
    hits: RayHits,
    directions: np.ndarray,
    shading: bool = True,
    ambient: float = AMBIENT,
) -> np.ndarray:
    """(R, 3) float RGB in [0, 1] for rays ``directions`` (R, 3); black where a ray missed.

    The colour is the hit mesh's colour times the headlight intensity (or unshaded
    when ``shading`` is False).
    """
    rgb = np.zeros((len(hits.face), 3))
    rows = np.flatnonzero(hits.hit)
    color = scene.colors[scene.face_mesh[hits.face[rows]]]
    if not shading:
        rgb[rows] = color
        return rgb
    view = normalize(directions[rows])
    normals = hit_normals(scene, hits)[rows]
    lambert = np.abs(dot(normals, view))
    rgb[rows] = color * (ambient + (1.0 - ambient) * lambert)[:, None]
    return rgb
