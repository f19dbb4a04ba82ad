"""Surface sampling for the chamfer protocols, and the two object-vertex conventions.

``sample_surface`` is a few lines of numpy rather than ``trimesh.sample.sample_surface`` so that
the evaluation code depends on numpy and scipy only and its output is pinned by our own seed
semantics (a ``numpy.random.Generator`` seeded with ``seed``), which is what makes published
numbers repeatable.

Prediction and ground truth are sampled independently (:func:`independent_seeds`), as in the
official BEHAVE/CHORE evaluation code, which draws a fresh set of points on every mesh (trimesh's
area-weighted face choice and uniform barycentric draw, no shared seed). Sharing one seed between
two meshes of the same topology would put their samples at the same barycentric coordinates of
the same triangles, which lowers every chamfer distance (a perfect prediction would score exactly
0 instead of the sampling floor of about the mean spacing of the samples).

Object placement differs between the toolkits and the difference matters whenever the scale is
not 1:
- BEHAVE tools: ``(v @ R^T + t) * s``, scale applied AFTER translation
  (:func:`behave_object_vertices`);
- WildHOI / paper eq. (3): ``s * v @ R^T + t`` (:func:`wildhoi_object_vertices`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hoirecon.eval._validate import array_arg, points_arg, rotations_arg, scalar_arg


def _faces_arg(faces: Any, n_vertices: int) -> np.ndarray:
    """Integer (F, 3) triangle indices into ``n_vertices`` vertices."""
    if hasattr(faces, "detach") and hasattr(faces, "cpu"):
        faces = faces.detach().cpu().numpy()
    arr = np.asarray(faces)
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"faces: expected a non-empty (F, 3) index array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"faces: expected integer vertex indices, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= n_vertices:
        raise ValueError(
            f"faces: expected indices in [0, {n_vertices}), got {arr.min()}..{arr.max()}"
        )
    return arr.astype(np.intp, copy=False)


def _count_arg(n: Any, name: str, minimum: int) -> int:
    """An integer ``>= minimum`` (bools are rejected)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {n!r}")
    return int(n)


def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Areas (F,) of the triangles ``faces`` (F, 3) over ``vertices`` (V, 3)."""
    corners = vertices[faces]
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    return 0.5 * np.linalg.norm(cross, axis=1)


def sample_surface(vertices: Any, faces: Any, n: int, seed: int) -> np.ndarray:
    """Draw ``n`` points uniformly over the area of a triangle mesh, repeatably.

    Faces are picked with probability proportional to their area, then a point is drawn
    uniformly inside each picked triangle (a unit-square draw folded onto the triangle).

    Args:
        vertices: (V, 3) vertex positions. faces: (F, 3) integer vertex indices.
        n: number of samples (RHOBIN joint track: 6,000; the paper: 10,000).
        seed: seed of the ``numpy.random.default_rng`` used; same input and seed, same points.

    Returns:
        (n, 3) float64 points on the surface.
    """
    verts = points_arg(vertices, "vertices")
    tris = _faces_arg(faces, len(verts))
    count = _count_arg(n, "n", 1)
    rng = np.random.default_rng(_count_arg(seed, "seed", 0))
    areas = triangle_areas(verts, tris)
    total = areas.sum()
    if not total > 0:
        raise ValueError("faces: expected a mesh with positive area, every triangle is degenerate")
    cumulative = np.cumsum(areas) / total
    picked = np.searchsorted(cumulative, rng.random(count) * cumulative[-1], side="right")
    picked = np.minimum(picked, len(tris) - 1)
    u, v = rng.random((2, count))
    outside = u + v > 1.0
    u[outside], v[outside] = 1.0 - u[outside], 1.0 - v[outside]
    a, b, c = np.moveaxis(verts[tris[picked]], 1, 0)
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


def independent_seeds(seed: int, *key: int) -> tuple[int, int]:
    """Two independent seeds, for the prediction's and the ground truth's samples of one mesh.

    Both come from ``numpy.random.SeedSequence([seed, *key])`` spawned into two children, so
    they are repeatable for a run seed and a key (e.g. frame number and mesh role) and never
    equal each other.

    Returns:
        ``(prediction_seed, truth_seed)``.
    """
    root = np.random.SeedSequence([_count_arg(seed, "seed", 0), *(_count_arg(k, "key", 0) for k in key)])
    pred, truth = (int(child.generate_state(1)[0]) for child in root.spawn(2))
    return pred, truth


def _placement_args(
    v: Any, R: Any, t: Any, s: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    return (
        points_arg(v, "v"),
        rotations_arg(R, "R"),
        array_arg(t, "t", (3,)),
        scalar_arg(s, "s", positive=True),
    )


def behave_object_vertices(v: Any, R: Any, t: Any, s: Any) -> np.ndarray:
    """Place template vertices the BEHAVE-tools way: ``(v @ R^T + t) * s``.

    The scale multiplies AFTER the translation, so it also scales ``t``; this is how the BEHAVE /
    CHORE evaluation code applies ``obj_scales``. With ``s = 1`` it equals
    :func:`wildhoi_object_vertices`.

    Args:
        v: (V, 3) template vertices. R: (3, 3) rotation. t: (3,) translation. s: scale > 0.

    Returns:
        (V, 3) placed vertices.
    """
    verts, rot, trans, scale = _placement_args(v, R, t, s)
    return (verts @ rot.T + trans) * scale


def wildhoi_object_vertices(v: Any, R: Any, t: Any, s: Any) -> np.ndarray:
    """Place template vertices as in the WildHOI paper, eq. (3): ``s * v @ R^T + t``.

    The scale applies to the template only; the translation is not scaled. The two conventions
    differ by ``(s - 1) * t``.

    Args:
        v: (V, 3) template vertices. R: (3, 3) rotation. t: (3,) translation. s: scale > 0.

    Returns:
        (V, 3) placed vertices.
    """
    verts, rot, trans, scale = _placement_args(v, R, t, s)
    return scale * verts @ rot.T + trans


__all__ = [
    "behave_object_vertices",
    "independent_seeds",
    "sample_surface",
    "triangle_areas",
    "wildhoi_object_vertices",
]
