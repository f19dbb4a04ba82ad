"""Occlusion maps and contact candidates for the contact loss (paper sec. 3.4, eq. 14).

Contact in 3D shows up in the image where the human and the object silhouettes meet. For one
image, a body vertex gets ``c_h = 1`` when its projection (initial body, camera frame) falls in
the overlap of the human and the object silhouettes, each dilated by a few pixels (5% of the
image size by default): the masks of visible pixels never overlap themselves, they touch, so
the dilated overlap is the band where they meet. ``c_o`` is the same for the object's vertices.
The mean maps ``c̄_h``, ``c̄_o`` average those maps over a category's training images; an image's
contact candidates are ``C_h = {i : c_h[i] c̄_h[i] > eta}`` (and ``C_o`` likewise), and eq. 14
weights their chamfer terms by ``c c̄``.

Defaults, chosen on synthetic data with known contacts (``hoirecon.eval.contact_truth``: body vertices
within 3 cm of the object surface in the true pose), mean maps from the training split and
candidate sets of the test split judged by micro-averaged precision/recall (baseball bat,
tennis racket, skateboard, basketball; 48 train / 24 test images each at 128 px; bat and
basketball at 256 px). C_h at dilation 5%: eta 0 -> P 0.11 / R 0.52 (128 px), 0.05 / 0.76
(256 px); eta 0.15 -> 0.19 / 0.52 and 0.09 / 0.76; eta 0.2 starts losing recall (0.48, 0.72)
and at 0.3 the bat's sets vanish. 3% dilation halves the recall (0.30, 0.33 at eta 0.1) for
no precision gain. Precision stays low by nature: the silhouette band also covers vertices
on the far side of the hand or foot. On the generator's detector-like evidence the candidates
are weaker still (``bench/bench_contact.py``, docs/contact.md: C_h precision 0.01-0.4).

``image_occlusion(..., faces=...)`` adds a depth-order test from the masks (a vertex must lie
on the layer of its mesh that the visible silhouette allows at its pixel). Measured with the
bench it lowers recall by a third or more without raising precision (a grasp touches both
layers), so the fit does not use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from hoirecon.body import BodyModel, load_body_model
from hoirecon.data.dataset import Dataset
from hoirecon.data.sample import Sample
from hoirecon.data.templates import dataset_template
from hoirecon.fitting.init import InitBatch, init_batch
from hoirecon.io.masks import load_mask
from hoirecon.io.occlusion_files import (
    DEFAULT_DILATION,
    DEFAULT_ETA,
    ImageOcclusion,
    OcclusionMaps,
    SkippedSample,
)
from hoirecon.objects import ObjectTemplate
from hoirecon.render.shading import vertex_normals

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Callback (images done, images total)."""


@dataclass(frozen=True)
class ContactSets:
    """Contact candidates of one image and their eq. 14 weights ``c c̄``."""

    human_ids: np.ndarray
    """(N_h,) body vertex ids in C_h."""
    object_ids: np.ndarray
    """(N_o,) object vertex ids in C_o."""
    human_weight: np.ndarray
    """(N_h,) ``c_h c̄_h`` at those ids."""
    object_weight: np.ndarray
    """(N_o,) ``c_o c̄_o`` at those ids."""


def dilation_radius(shape: tuple[int, int], fraction: float) -> int:
    """Dilation radius in pixels for a mask of ``shape`` (H, W): ``fraction`` of the larger
    side, at least 1."""
    return max(1, int(round(fraction * max(shape))))


def overlap_region(human_mask: np.ndarray, object_mask: np.ndarray, radius: int) -> np.ndarray:
    """Where the two silhouettes (H, W) meet: the intersection of both dilated by a disc of
    ``radius`` pixels; (H, W) bool."""
    if human_mask.shape != object_mask.shape:
        raise ValueError(f"object_mask: shape {object_mask.shape} differs from human_mask's "
                         f"{human_mask.shape}")
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grow = lambda m: cv2.dilate(m.astype(np.uint8), kernel) > 0  # noqa: E731
    return grow(human_mask) & grow(object_mask)


def vertices_in_region(vertices_cam: np.ndarray, K: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Which camera-frame vertices (V, 3) project (intrinsics K (3, 3), pixel centres at
    integers) into ``region`` (H, W); vertices behind the camera or outside the image are
    not. Returns (V,) bool."""
    v = np.asarray(vertices_cam, dtype=np.float64)
    z = v[:, 2]
    front = z > 1e-6
    uvw = v @ np.asarray(K, dtype=np.float64).T
    uv = np.round(uvw[:, :2] / np.where(front, z, 1.0)[:, None])
    h, w = region.shape
    inside = front & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    hit = np.zeros(len(v), dtype=bool)
    cols, rows = uv[inside, 0].astype(np.int64), uv[inside, 1].astype(np.int64)
    hit[inside] = region[rows, cols]
    return hit


def _pixels(vertices_cam: np.ndarray, K: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rounded pixel (row, col) of camera points (V, 3), clipped into the image (callers only
    look up points already known to project inside)."""
    v = np.asarray(vertices_cam, dtype=np.float64)
    uvw = v @ np.asarray(K, dtype=np.float64).T
    uv = np.round(uvw[:, :2] / np.where(v[:, 2:] > 1e-6, v[:, 2:], 1.0))
    cols = np.clip(uv[:, 0], 0, shape[1] - 1).astype(np.int64)
    rows = np.clip(uv[:, 1], 0, shape[0] - 1).astype(np.int64)
    return rows, cols


def facing_camera(vertices_cam: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V,) whether each vertex's outward normal points towards the camera (at the origin): the
    vertex lies on a front layer of the mesh along its pixel's ray."""
    v = np.asarray(vertices_cam, dtype=np.float64)
    return np.einsum("vi,vi->v", vertex_normals(v, np.asarray(faces)), v) < 0


def depth_order_consistent(vertices_cam: np.ndarray, facing: np.ndarray, K: np.ndarray, human_mask: np.ndarray,
                           object_mask: np.ndarray, side: str) -> np.ndarray:
    """(V,) whether a vertex's layer agrees with the depth order the masks show at its pixel.

    Where the object is visible (object mask, not human mask) the object is in front, so a body
    vertex can only touch it on the body's front layer and an object vertex on the object's back
    layer; where the human is visible it is the other way round. Where neither mask shows the
    pixel (the dilated band outside both silhouettes) the order is unknown and the vertex is kept.
    ``side`` is ``"human"`` or ``"object"``: which mesh the vertices (V, 3) belong to.
    """
    if side not in ("human", "object"):
        raise ValueError(f"side: expected 'human' or 'object', got {side!r}")
    rows, cols = _pixels(vertices_cam, K, human_mask.shape)
    human_front = human_mask[rows, cols]
    object_front = object_mask[rows, cols] & ~human_front
    near_layer, far_layer = (facing, ~facing) if side == "human" else (~facing, facing)
    return np.where(object_front, near_layer, np.where(human_front, far_layer, True))


def image_occlusion(image_id: str, body_vertices_cam: np.ndarray, object_vertices_cam: np.ndarray,
                    K: np.ndarray, human_mask: np.ndarray, object_mask: np.ndarray,
                    dilation: float = DEFAULT_DILATION, faces: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> ImageOcclusion:
    """The occlusion maps c_h, c_o of one image from its initial body vertices (V_body, 3) and
    object vertices (V_obj, 3) in the camera and its silhouettes (H, W).

    With ``faces`` (body faces, object faces) a vertex in the band must also be on the layer of
    its mesh that the masks' depth order allows (:func:`depth_order_consistent`): this drops the
    far side of a hand that holds an object in front of it, for instance.
    """
    region = overlap_region(human_mask, object_mask, dilation_radius(human_mask.shape, dilation))
    in_h = vertices_in_region(body_vertices_cam, K, region)
    in_o = vertices_in_region(object_vertices_cam, K, region)
    if faces is not None:
        in_h &= depth_order_consistent(body_vertices_cam, facing_camera(body_vertices_cam, faces[0]), K,
                                       human_mask, object_mask, "human")
        in_o &= depth_order_consistent(object_vertices_cam, facing_camera(object_vertices_cam, faces[1]), K,
                                       human_mask, object_mask, "object")
    return ImageOcclusion(image_id=image_id, human_ids=np.flatnonzero(in_h), object_ids=np.flatnonzero(in_o))


def contact_sets(occlusion: ImageOcclusion, mean_human: np.ndarray, mean_object: np.ndarray,
                 eta: float = DEFAULT_ETA) -> ContactSets:
    """``C_h = {i : c_h[i] c̄_h[i] > eta}`` and ``C_o`` likewise, with weights ``c c̄``;
    mean maps (V_body,), (V_obj,). As c is 0 or 1, C_h keeps the occluded vertices whose mean
    occlusion exceeds eta."""
    h, o = occlusion.human_ids, occlusion.object_ids
    keep_h, keep_o = mean_human[h] > eta, mean_object[o] > eta
    return ContactSets(h[keep_h], o[keep_o], mean_human[h][keep_h], mean_object[o][keep_o])


def posed_vertices(batch: InitBatch, body_model: BodyModel, template: ObjectTemplate
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame body vertices (B, V_body, 3) and object vertices (B, V_obj, 3) of an init."""
    as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=body_model.v_template.dtype)  # noqa: E731
    with torch.no_grad():
        out = body_model(betas=as_t(batch.betas), body_pose=as_t(batch.body_pose),
                         global_orient=as_t(batch.global_orient), transl=as_t(batch.transl))
    body = out.vertices.double().cpu().numpy()
    obj = template.transformed(batch.object_rotation_cam, batch.object_translation_cam,
                               batch.object_scale)
    return body, obj


def _chunk_occlusion(samples: list[Sample], body_model: BodyModel, template: ObjectTemplate,
                     dilation: float, skipped: list[SkippedSample]) -> list[ImageOcclusion]:
    """Maps of a chunk of samples; broken ones (masks, failed PnP) go to ``skipped``."""
    masks, usable = {}, []
    for sample in samples:
        try:
            masks[sample.image_id] = (load_mask(sample.human_mask_path, sample.image_size, "human"),
                                      load_mask(sample.object_mask_path, sample.image_size, "object"))
            usable.append(sample)
        except ValueError as err:
            skipped.append(SkippedSample(sample.image_id, str(err)))
    batch = _init_or_skip(usable, template, body_model, skipped)
    if batch is None:
        return []
    usable = [s for s in usable if s.image_id in set(batch.image_ids)]
    body, obj = posed_vertices(batch, body_model, template)
    out = []
    for i, sample in enumerate(usable):
        if not batch.object_success[i]:
            skipped.append(SkippedSample(sample.image_id, "object pose: " + "; ".join(batch.notes[i])))
            continue
        out.append(image_occlusion(sample.image_id, body[i], obj[i], sample.intrinsics,
                                   *masks[sample.image_id], dilation))
    return out


def _init_or_skip(samples: list[Sample], template: ObjectTemplate, body_model: BodyModel,
                  skipped: list[SkippedSample]) -> InitBatch | None:
    """``init_batch`` of the samples; when it fails, one sample at a time, skipping the
    samples that fail alone (None when none is left)."""
    if not samples:
        return None
    try:
        return init_batch(samples, template, body_model)
    except ValueError as err:
        if len(samples) == 1:
            skipped.append(SkippedSample(samples[0].image_id, f"initialisation: {err}"))
            return None
    parts = [_init_or_skip([s], template, body_model, skipped) for s in samples]
    return _concat([p for p in parts if p is not None])


def _concat(batches: list[InitBatch]) -> InitBatch | None:
    """One batch holding the images of several (None when there are none)."""
    if not batches:
        return None
    merged = {}
    for name in InitBatch.__dataclass_fields__:
        values = [getattr(b, name) for b in batches]
        merged[name] = sum(values, []) if isinstance(values[0], list) else np.concatenate(values)
    return InitBatch(**merged)


def _chunks(items: Iterable, size: int) -> Iterable[list]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def mean_maps(per_image: list[ImageOcclusion], body_vertex_count: int,
              template_vertex_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Average sparse per-image maps into mean maps (V_body,), (V_obj,) (zeros when empty)."""
    human = np.zeros(body_vertex_count)
    obj = np.zeros(template_vertex_count)
    for occ in per_image:
        human[occ.human_ids] += 1.0
        obj[occ.object_ids] += 1.0
    n = max(1, len(per_image))
    return human / n, obj / n


def compute_occlusion_maps(dataset: Dataset, category: str, split: str = "train",
                           body_model: BodyModel | None = None, progress: Progress | None = None,
                           dilation: float = DEFAULT_DILATION, eta: float = DEFAULT_ETA,
                           chunk_size: int = 16) -> OcclusionMaps:
    """Mean occlusion maps of a category over the images of ``split``: each image's initial
    body and object (``init_batch``) are projected into the overlap of its dilated silhouettes.
    Images with missing or unreadable masks, or whose object pose could not be solved, are
    skipped, logged and listed in ``skipped``, as are rows whose evidence breaks the dataset's
    value rules. ``body_model`` defaults to the embedded body. The maps record the dataset's path
    and annotation hash in ``provenance``."""
    body_model = body_model if body_model is not None else load_body_model()
    template = dataset_template(dataset, category)
    total = len(dataset.indices(category, split))
    per_image: list[ImageOcclusion] = []
    defects = dataset.row_defects(category)
    skipped = [SkippedSample(s.image_id, defects[s.image_id]) for s in dataset.samples(category, split)
               if s.image_id in defects]
    usable = (s for s in dataset.samples(category, split) if s.image_id not in defects)
    for chunk in _chunks(usable, chunk_size):
        per_image += _chunk_occlusion(chunk, body_model, template, dilation, skipped)
        if progress is not None:
            progress(len(per_image) + len(skipped), total)
    for item in skipped:
        log.warning("occlusion maps: skipped %s: %s", item.image_id, item.reason)
    mean_h, mean_o = mean_maps(per_image, body_model.num_vertices, len(template.vertices))
    origin = {"dataset": {"path": str(dataset.root.resolve()), "hash": dataset.content_hash()},
              "category": category, "split": split}
    return OcclusionMaps(category, mean_h, mean_o, eta=eta, dilation=dilation,
                         image_ids=[o.image_id for o in per_image], skipped=skipped,
                         per_image=per_image, provenance=origin)


def contacts(maps: OcclusionMaps, occlusion: ImageOcclusion, eta: float | None = None) -> ContactSets:
    """The contact candidates of one image's maps against a category's mean maps (``eta``
    defaults to the maps' own)."""
    return contact_sets(occlusion, maps.mean_human, maps.mean_object, maps.eta if eta is None else eta)
