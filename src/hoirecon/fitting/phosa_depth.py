"""Ordinal depth term of the PHOSA baseline: the rendered depth order must agree with the masks.

Where the human mask covers a pixel and the object mask does not, the body must be in front
of the object there (and the other way round); a pixel where both meshes are rendered but the
wrong one is nearer costs ``log(1 + exp(clamp(d_front - d_back, 0, 2)))``, ``d_front`` being
the depth of the mesh the masks say is visible.

The masks' verdict is found by ray casting (once every few steps, no gradient): each mesh is
cast alone through the pixels where exactly one mask is set, giving both first-hit triangles
and their barycentric coordinates. Between casts the depths are recomputed from the current
vertices as ``barycentric . z`` of the stored triangles, which is exact at the cast and
differentiable; a pixel whose order got fixed since the last cast then costs the constant
``log 2`` with zero gradient. A differentiable rasteriser would re-find the pixels every step;
ray casting on the CPU keeps the package free of one; on a GPU fit the meshes come to the host
once per cast and the pixels (:func:`stack_pixels`) go back to the device once per cast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hoirecon.geometry import project_points
from hoirecon.render import Camera, SceneMesh
from hoirecon.render.mesh import combine_meshes
from hoirecon.render.raycast import RayHits, cast_rays, make_intersector

DEPTH_CLAMP = 2.0
"""Upper clamp (metres) of the depth violation, as in PHOSA."""


@dataclass(frozen=True)
class ImageMasks:
    """The two silhouettes of one image at the resolution the ordinal term renders at."""

    human: np.ndarray
    """(H, W) bool human mask."""
    object: np.ndarray
    """(H, W) bool object mask."""
    intrinsics: np.ndarray
    """(3, 3) intrinsics of this (H, W) image."""


@dataclass(frozen=True)
class ImagePixels:
    """Pixels of one image whose rendered depth order contradicts the masks (P of them)."""

    body_front: np.ndarray
    """(P,) bool: the masks put the body in front (else the object)."""
    body_triangles: np.ndarray
    """(P, 3) body vertex ids of the body triangle hit at each pixel."""
    body_bary: np.ndarray
    """(P, 3) barycentric coordinates of that hit."""
    object_triangles: np.ndarray
    """(P, 3) template vertex ids of the object triangle hit."""
    object_bary: np.ndarray
    """(P, 3) barycentric coordinates of that hit."""


@dataclass
class DepthPixels:
    """The ``ImagePixels`` of B images, padded to P pixels, with the body vertices they need."""

    valid: Tensor
    """(B, P) bool, False on padding."""
    body_front: Tensor
    """(B, P) bool."""
    body_ids: Tensor
    """(B, N) body vertex ids to skin (the corners of the hit body triangles, padded with 0)."""
    body_corners: Tensor
    """(B, P, 3) index into ``body_ids`` of each corner of the hit body triangle."""
    body_bary: Tensor
    """(B, P, 3)."""
    object_triangles: Tensor
    """(B, P, 3) template vertex ids of the hit object triangle."""
    object_bary: Tensor
    """(B, P, 3)."""


def reduce_masks(human: np.ndarray, obj: np.ndarray, intrinsics: np.ndarray, size: int) -> ImageMasks:
    """Shrink two (H, W) masks so the larger side is at most ``size`` pixels, with matching
    intrinsics (pixel centres stay pixel centres: u' = (u + 0.5) s - 0.5)."""
    h, w = human.shape
    scale = min(1.0, size / max(h, w))
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    sx, sy = new_w / w, new_h / h
    shrink = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])

    def resize(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.float32), (new_w, new_h), interpolation=cv2.INTER_AREA) > 0.5

    return ImageMasks(resize(human), resize(obj), shrink @ np.asarray(intrinsics, dtype=np.float64))


def _pixels_in_front(vertices: np.ndarray, intrinsics: np.ndarray) -> np.ndarray | None:
    """Pixels (V, 2) of camera-frame vertices (V, 3); None when there are none or one is at or
    behind the camera (then nothing can be culled)."""
    if len(vertices) == 0:
        return None
    uv = project_points(vertices, intrinsics, behind="inf")
    return uv if np.isfinite(uv).all() else None


def _projected_box(vertices: np.ndarray, intrinsics: np.ndarray) -> np.ndarray | None:
    """Pixel box (u0, v0, u1, v1) of camera-frame vertices (V, 3); None when one is behind the
    camera (then nothing can be culled)."""
    uv = _pixels_in_front(vertices, intrinsics)
    return None if uv is None else np.concatenate([uv.min(0), uv.max(0)])


def _in_box(cols: np.ndarray, rows: np.ndarray, box: np.ndarray | None, margin: float = 1.0) -> np.ndarray:
    """(R,) bool: pixel centres (cols, rows) inside ``box`` grown by ``margin`` (all when None)."""
    if box is None:
        return np.ones(len(cols), dtype=bool)
    return (cols >= box[0] - margin) & (cols <= box[2] + margin) & (rows >= box[1] - margin) & (rows <= box[3] + margin)


def _faces_near(vertices: np.ndarray, faces: np.ndarray, intrinsics: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The faces (F', 3) whose projected box meets the pixel ``region`` (u0, v0, u1, v1);
    only they can be hit by rays through it (all faces when a vertex is behind the camera)."""
    uv = _pixels_in_front(vertices, intrinsics)
    if uv is None:
        return faces
    a, b, c = uv[faces[:, 0]], uv[faces[:, 1]], uv[faces[:, 2]]
    lo, hi = np.minimum(np.minimum(a, b), c), np.maximum(np.maximum(a, b), c)
    keep = ((lo <= region[2:] + 1.0) & (hi >= region[:2] - 1.0)).all(axis=1)
    return faces[keep]


def _region(pixels: np.ndarray, width: int) -> np.ndarray:
    """Pixel-centre box (u0, v0, u1, v1) of flat pixel ids (R,), R > 0."""
    rows, cols = np.divmod(pixels, width)
    return np.array([cols.min(), rows.min(), cols.max(), rows.max()], dtype=np.float64)


def _first_hits(vertices: np.ndarray, faces: np.ndarray, camera: Camera, pixels: np.ndarray) -> RayHits:
    """First hits of one mesh (camera frame, (V, 3)) along the rays of flat ``pixels`` (R,)."""
    scene = combine_meshes([SceneMesh(vertices, faces)], camera)
    return cast_rays(make_intersector(scene), scene, camera.camera_ray_directions()[pixels])


def _select(hits: RayHits, keep: np.ndarray) -> RayHits:
    """The hits of the rays selected by ``keep`` (R,) bool."""
    return RayHits(hits.face[keep], hits.t[keep], hits.barycentric[keep], hits.point[keep])


def _spread(index: np.ndarray, cap: int) -> np.ndarray:
    """At most ``cap`` entries of ``index``, evenly spread (deterministic)."""
    if len(index) <= cap:
        return index
    return index[np.linspace(0, len(index) - 1, cap).round().astype(int)]


def empty_pixels() -> ImagePixels:
    """An image without violating pixels."""
    ids, bary = np.zeros((0, 3), np.int64), np.zeros((0, 3))
    return ImagePixels(np.zeros(0, bool), ids, bary, ids, bary)


def _candidates(masks: ImageMasks, body: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """Flat ids of the pixels where exactly one mask is set, inside both meshes' projected boxes."""
    width = masks.human.shape[1]
    pixels = np.flatnonzero((masks.human ^ masks.object).ravel())
    rows, cols = np.divmod(pixels, width)
    inside = (_in_box(cols, rows, _projected_box(body, masks.intrinsics))
              & _in_box(cols, rows, _projected_box(obj, masks.intrinsics)))
    return pixels[inside]


def find_ordinal_pixels(masks: ImageMasks, body: np.ndarray, body_faces: np.ndarray, obj: np.ndarray,
                        object_faces: np.ndarray, max_pixels: int) -> ImagePixels:
    """Pixels where both meshes are hit but the one the masks say is hidden is nearer.

    ``body`` (V, 3) and ``obj`` (Vo, 3) are camera-frame vertices of the two meshes; at most
    ``max_pixels`` pixels are kept, evenly spread over the violating ones. Only the faces
    that project near the candidate pixels are ray cast.
    """
    pixels = _candidates(masks, body, obj)
    if len(pixels) == 0:
        return empty_pixels()
    height, width = masks.human.shape
    camera = Camera(masks.intrinsics, width, height)
    # the object first: it is small, and only the pixels it covers need the body cast
    object_faces = _faces_near(obj, np.asarray(object_faces), masks.intrinsics, _region(pixels, width))
    ho = _first_hits(obj, object_faces, camera, pixels)
    pixels, ho = pixels[ho.hit], _select(ho, ho.hit)
    if len(pixels) == 0:
        return empty_pixels()
    body_faces = _faces_near(body, np.asarray(body_faces), masks.intrinsics, _region(pixels, width))
    hb = _first_hits(body, body_faces, camera, pixels)
    body_front = masks.human.ravel()[pixels]
    wrong = hb.hit & ho.hit & np.where(body_front, ho.t < hb.t, hb.t < ho.t)
    keep = _spread(np.flatnonzero(wrong), max_pixels)
    return ImagePixels(body_front[keep], body_faces[hb.face[keep]], hb.barycentric[keep],
                       object_faces[ho.face[keep]], ho.barycentric[keep])


def _pad(arrays: Sequence[np.ndarray], width: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Stack (Ni, ...) arrays into a zero-padded (B, width, ...) tensor on ``device`` (padded on
    the host, then copied once)."""
    out = torch.zeros((len(arrays), width, *arrays[0].shape[1:]), dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = torch.as_tensor(a, dtype=dtype)
    return out.to(device)


def stack_pixels(images: Sequence[ImagePixels], dtype: torch.dtype = torch.float32,
                 device: torch.device = torch.device("cpu")) -> DepthPixels:
    """Pad the pixels of B images into one :class:`DepthPixels` on ``device``; the body triangle
    corners are renumbered into per-image sets of unique vertex ids so only those get skinned."""
    width = max((len(p.body_front) for p in images), default=0)
    unique = [np.unique(p.body_triangles.reshape(-1), return_inverse=True) for p in images]
    ids = [u.astype(np.int64) for u, _ in unique]
    corners = [inv.reshape(-1, 3).astype(np.int64) for _, inv in unique]
    valid = [np.ones(len(p.body_front), dtype=bool) for p in images]
    pad = lambda arrays, size, kind: _pad(arrays, size, kind, device)  # noqa: E731
    return DepthPixels(
        valid=pad(valid, width, torch.bool), body_front=pad([p.body_front for p in images], width, torch.bool),
        body_ids=pad(ids, max((len(i) for i in ids), default=0), torch.long),
        body_corners=pad(corners, width, torch.long), body_bary=pad([p.body_bary for p in images], width, dtype),
        object_triangles=pad([p.object_triangles for p in images], width, torch.long),
        object_bary=pad([p.object_bary for p in images], width, dtype))


def interpolate_depth(z: Tensor, corners: Tensor, bary: Tensor) -> Tensor:
    """Depths (B, P) at pixels from vertex depths z (B, N), triangle corners (B, P, 3) indexing
    N and their barycentric coordinates (B, P, 3)."""
    b, p = corners.shape[:2]
    picked = torch.gather(z, 1, corners.reshape(b, 3 * p)).reshape(b, p, 3)
    return (bary * picked).sum(-1)


def ordinal_depth_loss(depth_body: Tensor, depth_object: Tensor, body_front: Tensor, valid: Tensor) -> Tensor:
    """Mean over each image's valid pixels of ``log(1 + exp(clamp(d_front - d_back, 0, 2)))``.

    depth_body, depth_object, body_front, valid: (B, P); returns (B,), 0 for an image without
    valid pixels.
    """
    gap = torch.where(body_front, depth_body - depth_object, depth_object - depth_body)
    per_pixel = F.softplus(gap.clamp(0.0, DEPTH_CLAMP)) * valid
    count = valid.sum(-1)
    return per_pixel.sum(-1) / count.clamp(min=1)
