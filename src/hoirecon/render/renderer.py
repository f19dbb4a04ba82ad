"""Render instance ids, depth, shaded colour, hit geometry and vertex visibility in one call.

One combined acceleration structure is built per call for all meshes; pixel rays are
cast only inside the union of the meshes' projected bounding boxes (a mesh with vertices
behind the camera plane falls back to the whole image), and vertex visibility reuses the
same structure with one batched query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import trimesh

from hoirecon.render.camera import Camera
from hoirecon.render.mesh import CombinedScene, SceneMesh, as_scene_mesh, combine_meshes
from hoirecon.render.raycast import RayHits, cast_rays, make_intersector
from hoirecon.render.shading import shade_hits
from hoirecon.render.visibility import DEFAULT_VISIBILITY_TOL, vertex_visibility

__all__ = ["RenderResult", "render_scene", "BACKGROUND_COLOR"]

BACKGROUND_COLOR = (255, 255, 255)
"""Plain background used when no background image is given."""


@dataclass(frozen=True, eq=False)
class RenderResult:
    """Everything one :func:`render_scene` call produces for an H x W image."""

    instance: np.ndarray
    """(H, W) int16: 0 background, i + 1 where ``meshes[i]`` is the first hit."""
    depth: np.ndarray
    """(H, W) float32 camera-space z of the first hit; +inf on background."""
    rgb: np.ndarray
    """(H, W, 3) uint8 shaded image over the background."""
    vertex_visible: list[np.ndarray]
    """Per mesh, (V_i,) bool visibility (rule in :mod:`hoirecon.render.visibility`)."""
    hit_face: np.ndarray
    """(H, W) int32 face index *within its mesh*; -1 on background."""
    hit_point: np.ndarray
    """(H, W, 3) float64 camera-space hit points; NaN on background."""
    barycentric: np.ndarray
    """(H, W, 3) float64 weights of the hit face's vertices; NaN on background."""
    names: tuple[str, ...]
    """Mesh names in input order (instance id i + 1 is ``names[i]``)."""


def _mesh_box(
    verts: np.ndarray, uv: np.ndarray, camera: Camera
) -> tuple[int, int, int, int] | None:
    """Pixel box (r0, r1, c0, c1), end-exclusive, holding the projection uv (V, 2) of verts (V, 3).

    None when the mesh lies wholly behind the camera plane; the whole image when it crosses it.
    """
    front = verts[:, 2] > 0
    if not front.any():
        return None
    if not front.all():
        return 0, camera.height, 0, camera.width
    c0, r0 = np.floor(uv.min(axis=0)).astype(int) - 1
    c1, r1 = np.ceil(uv.max(axis=0)).astype(int) + 2
    return max(r0, 0), max(r1, 0), max(c0, 0), max(c1, 0)


def _pixel_window(scene: CombinedScene, camera: Camera) -> np.ndarray:
    """(H*W,) bool: pixels that can possibly see a mesh (union of projected bounding boxes)."""
    window = np.zeros((camera.height, camera.width), dtype=bool)
    for i in range(len(scene.names)):
        if scene.face_offsets[i] == scene.face_offsets[i + 1]:
            continue
        span = slice(scene.vertex_offsets[i], scene.vertex_offsets[i + 1])
        box = _mesh_box(scene.vertices[span], scene.uv[span], camera)
        if box is not None:
            window[box[0] : box[1], box[2] : box[3]] = True
    return window.ravel()


def _check_background(background: np.ndarray | None, camera: Camera) -> np.ndarray:
    """(H, W, 3) uint8 copy of ``background``, or the plain colour when it is None."""
    shape = (camera.height, camera.width, 3)
    if background is None:
        return np.broadcast_to(np.array(BACKGROUND_COLOR, dtype=np.uint8), shape).copy()
    bg = np.asarray(background)
    if bg.shape != shape or bg.dtype != np.uint8:
        raise ValueError(f"background: expected uint8 {shape}, got {bg.dtype} {bg.shape}")
    return np.ascontiguousarray(bg).copy()


def _pixel_rays(scene: CombinedScene, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Flat ids (R,) and z-normalised camera-space directions (R, 3) of the pixels to cast."""
    pixels = np.flatnonzero(_pixel_window(scene, camera))
    return pixels, camera.camera_ray_directions()[pixels]


def _scatter(
    values: np.ndarray, pixels: np.ndarray, n: int, fill: float, dtype: type
) -> np.ndarray:
    """Put per-hit values (R, ...) at flat ``pixels`` (R,) of an n-pixel image of ``fill``."""
    out = np.full((n, *values.shape[1:]), fill, dtype=dtype)
    out[pixels] = values
    return out


def _images(
    scene: CombinedScene, camera: Camera, pixels: np.ndarray, hits: RayHits
) -> dict[str, np.ndarray]:
    """Scatter hits of rays at flat ``pixels`` (R,) into the per-pixel result images."""
    n, shape = camera.height * camera.width, (camera.height, camera.width)
    hit = hits.hit
    at, face = pixels[hit], hits.face[hit]
    mesh = scene.face_mesh[face]
    point = _scatter(hits.point[hit], at, n, np.nan, np.float64)
    bary = _scatter(hits.barycentric[hit], at, n, np.nan, np.float64)
    return {
        "instance": _scatter(mesh + 1, at, n, 0, np.int16).reshape(shape),
        "depth": _scatter(hits.point[hit, 2], at, n, np.inf, np.float32).reshape(shape),
        "hit_face": _scatter(face - scene.face_offsets[mesh], at, n, -1, np.int32).reshape(shape),
        "hit_point": point.reshape(*shape, 3),
        "barycentric": bary.reshape(*shape, 3),
    }


def render_scene(
    meshes: Sequence[SceneMesh | trimesh.Trimesh],
    camera: Camera,
    background: np.ndarray | None = None,
    shading: bool = True,
    visibility_tol: float = DEFAULT_VISIBILITY_TOL,
) -> RenderResult:
    """Ray-cast ``meshes`` (world coordinates) through ``camera`` into a :class:`RenderResult`.

    ``background`` is an (H, W, 3) uint8 image kept wherever nothing is hit (a plain
    :data:`BACKGROUND_COLOR` when None); ``shading=False`` paints flat mesh colours.
    Meshes behind the camera simply do not appear. NaN/inf vertices raise ValueError
    naming the mesh. ``visibility_tol`` is the relative depth slack of the vertex test.
    """
    scene = combine_meshes([as_scene_mesh(m, i) for i, m in enumerate(meshes)], camera)
    rgb = _check_background(background, camera)
    intersector = make_intersector(scene)
    pixels, rays = _pixel_rays(scene, camera)
    hits = cast_rays(intersector, scene, rays)
    colors = shade_hits(scene, hits, rays, shading)
    rgb.reshape(-1, 3)[pixels[hits.hit]] = np.round(255.0 * colors[hits.hit]).astype(np.uint8)
    visible = vertex_visibility(intersector, scene, camera, visibility_tol)
    images = _images(scene, camera, pixels, hits)
    return RenderResult(rgb=rgb, vertex_visible=visible, names=scene.names, **images)
