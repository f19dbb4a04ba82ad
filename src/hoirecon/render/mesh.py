"""Renderer input meshes and the combined per-call scene.

All meshes of one render call are concatenated into one vertex/face array (in camera
coordinates) so a single ray-tracing acceleration structure serves every query; the
offsets map global face/vertex ids back to (mesh, local id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh

from hoirecon.render.camera import Camera

__all__ = ["SceneMesh", "CombinedScene", "as_scene_mesh", "combine_meshes"]

DEFAULT_COLOR = (0.65, 0.65, 0.65)


@dataclass(frozen=True, eq=False)
class SceneMesh:
    """One triangle mesh to render, in world coordinates."""

    vertices: np.ndarray
    """(V, 3) float vertex positions."""
    faces: np.ndarray
    """(F, 3) int vertex indices per triangle."""
    color: tuple[float, float, float] | np.ndarray = DEFAULT_COLOR
    """(3,) RGB in [0, 1]."""
    name: str = "mesh"
    """Key of this mesh in :func:`hoirecon.render.masks`."""


def as_scene_mesh(mesh: SceneMesh | trimesh.Trimesh, index: int) -> SceneMesh:
    """Wrap a ``trimesh.Trimesh`` as a grey :class:`SceneMesh` named ``mesh_<index>``.

    A :class:`SceneMesh` passes through; anything else raises ValueError.
    """
    if isinstance(mesh, trimesh.Trimesh):
        return SceneMesh(vertices=mesh.vertices, faces=mesh.faces, name=f"mesh_{index}")
    if not isinstance(mesh, SceneMesh):
        raise ValueError(f"meshes[{index}]: expected SceneMesh or Trimesh, got {type(mesh)}")
    return mesh


def _checked_arrays(mesh: SceneMesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate one mesh; return float64 vertices (V, 3), int64 faces (F, 3), colour (3,)."""
    verts = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise ValueError(f"mesh {mesh.name!r}: vertices must be (V, 3), got {verts.shape}")
    if not np.all(np.isfinite(verts)):
        raise ValueError(f"mesh {mesh.name!r}: vertices contain NaN or inf")
    if faces.size == 0:
        faces = np.zeros((0, 3), dtype=np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise ValueError(f"mesh {mesh.name!r}: faces must be integer (F, 3), got {faces.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= len(verts)):
        raise ValueError(f"mesh {mesh.name!r}: face indices out of range [0, {len(verts)})")
    color = np.asarray(mesh.color, dtype=np.float64)
    if color.shape != (3,) or not np.all((color >= 0) & (color <= 1)):
        raise ValueError(f"mesh {mesh.name!r}: color must be (3,) floats in [0, 1]")
    return verts, faces.astype(np.int64), color


@dataclass(frozen=True)
class CombinedScene:
    """All meshes of one call concatenated, in camera coordinates."""

    vertices: np.ndarray
    """(sum V, 3) float64 camera-space vertices."""
    uv: np.ndarray
    """(sum V, 2) pixel coordinates of the vertices (meaningless where ``z <= 0``)."""
    faces: np.ndarray
    """(sum F, 3) int64 indices into ``vertices``."""
    vertex_offsets: np.ndarray
    """(N + 1,) start of each mesh's vertices; the last entry is the total."""
    face_offsets: np.ndarray
    """(N + 1,) start of each mesh's faces; the last entry is the total."""
    face_mesh: np.ndarray
    """(sum F,) index of the mesh owning each face."""
    colors: np.ndarray
    """(N, 3) mesh colours in [0, 1]."""
    names: tuple[str, ...]
    """Mesh names, in input order."""


def combine_meshes(meshes: Sequence[SceneMesh], camera: Camera) -> CombinedScene:
    """Validate ``meshes``, move them into ``camera`` coordinates and concatenate them."""
    names = tuple(m.name for m in meshes)
    if len(set(names)) != len(names):
        raise ValueError(f"meshes: names must be unique, got {names}")
    checked = [_checked_arrays(m) for m in meshes]
    n_verts = np.array([len(v) for v, _, _ in checked], dtype=np.int64)
    n_faces = np.array([len(f) for _, f, _ in checked], dtype=np.int64)
    vertex_offsets = np.concatenate([[0], np.cumsum(n_verts)])
    face_offsets = np.concatenate([[0], np.cumsum(n_faces)])
    verts = np.concatenate([v for v, _, _ in checked] or [np.zeros((0, 3))])
    faces = np.concatenate(
        [f + off for (_, f, _), off in zip(checked, vertex_offsets)] or [np.zeros((0, 3), np.int64)]
    )
    verts = camera.world_to_camera(verts)
    return CombinedScene(
        vertices=verts,
        uv=camera.project(verts),
        faces=faces,
        vertex_offsets=vertex_offsets,
        face_offsets=face_offsets,
        face_mesh=np.repeat(np.arange(len(meshes)), n_faces),
        colors=np.array([c for _, _, c in checked]).reshape(-1, 3),
        names=names,
    )
