"""The PHOSA baseline (paper sec. 5.2): the prior and contact terms replaced by PHOSA's losses.

Three extra terms, each one value per image, join the data terms of the ``none`` preset:

- coarse interaction: when the human and object boxes overlap in the image (boxes of the
  masks, expanded about their centres; boxes of the projected initial meshes where a mask is
  missing), the mean squared coordinate difference between the body's and the object's
  centroids in the human frame (PHOSA's ``MSELoss`` of the two centroids);
- fine interaction: for the same images, the mean over the template's declared
  ``(body_part, object_part)`` pairs of the mean squared difference of the part centroids;
- ordinal depth: :mod:`hoirecon.fitting.phosa_depth`, active in the second (joint) phase.

PHOSA also checks that the two meshes overlap in depth before pulling; that check uses the
initial depths, which are what these terms exist to correct, so only the image boxes decide
here. The body centroid is the mean of an even subsample of the vertices and a body part's
centroid the mean of at most ``part_points`` of its vertices, skinned each step with
:func:`~hoirecon.fitting.posing.pose_body`.

The terms run on the device of the fit's state: their tensors (template vertices, part points,
interaction flags, depth pixels) live there, and only the ray casting of the ordinal depth term
runs on the CPU, once every ``render_every`` steps (one copy of the meshes to the host and one
of the found pixels back per cast).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from hoirecon.body import BodyModel
from hoirecon.data.sample import Sample
from hoirecon.fitting.body_parts import body_part_vertices
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.device_copies import model_on_device
from hoirecon.fitting.init import InitBatch
from hoirecon.fitting.losses import Evaluated
from hoirecon.fitting.occlusion import posed_vertices
from hoirecon.fitting.optimize import FitConfig
from hoirecon.fitting.phosa_depth import (
    DepthPixels,
    ImageMasks,
    empty_pixels,
    find_ordinal_pixels,
    interpolate_depth,
    ordinal_depth_loss,
    reduce_masks,
    stack_pixels,
)
from hoirecon.fitting.posing import pose_body
from hoirecon.fitting.state import FitBatch, FitState
from hoirecon.geometry import project_points
from hoirecon.io.masks import load_mask
from hoirecon.objects import ObjectTemplate

log = logging.getLogger(__name__)
Box = np.ndarray
"""(4,) pixel box (x0, y0, x1, y1)."""


@dataclass(frozen=True)
class PhosaWeights:
    """Weights of the PHOSA terms (0 switches a term off).

    PHOSA's own ratios are kept (coarse : fine about 0.3 : 1, as its baseball-bat and default
    settings; the ordinal term, here a mean per pixel instead of a sum, as strong as the coarse
    one); the overall scale had to be chosen anew because the data terms differ (robust
    reprojection near 1e-4 per image instead of a silhouette IoU). On synthetic baseball bat,
    skateboard and tennis racket sets (24 images each, 256 px, seed 5) the object translation
    error was lowest for scales between 3e-4 and 1e-3 times (0.3, 1, 0.3); 3e-3 already pulls
    the bodies off their keypoints. The defaults are the middle of that range.
    """

    coarse_interaction: float = 1.5e-4
    """Centroid pull (squared metres) for images whose human and object boxes overlap."""
    fine_interaction: float = 5e-4
    """Part-centroid pull (squared metres) over the template's declared part pairs."""
    ordinal_depth: float = 1.5e-4
    """Mean per-pixel ordinal depth penalty over the pixels whose depth order is wrong."""


@dataclass(frozen=True)
class PhosaConfig:
    """Weights and settings of the PHOSA terms."""

    weights: PhosaWeights = field(default_factory=PhosaWeights)
    """Term weights."""
    box_expansion: float = 0.3
    """Both boxes grow by this fraction of their size about their centres before the overlap test."""
    render_every: int = 50
    """Steps of phase 2 between two ray casts of the ordinal depth term."""
    render_size: int = 128
    """Larger image side (pixels) the ordinal depth term casts rays at."""
    depth_pixels: int = 512
    """At most this many violating pixels per image."""
    centroid_points: int = 512
    """Body vertices (evenly spread over the mesh) averaged for the body centroid."""
    part_points: int = 64
    """At most this many vertices per body part averaged for a part centroid."""


PHOSA_CONFIGS: dict[str, PhosaConfig] = {"phosa": PhosaConfig()}
"""PHOSA settings of the presets that use the PHOSA terms, by preset name."""


def mask_box(mask: np.ndarray) -> Box | None:
    """Box (4,) of the set pixels of an (H, W) mask (pixel edges), None when it is empty."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return None
    return np.array([cols.min() - 0.5, rows.min() - 0.5, cols.max() + 0.5, rows.max() + 0.5])


def points_box(points_cam: np.ndarray, intrinsics: np.ndarray) -> Box | None:
    """Box (4,) of the projections of camera-frame points (P, 3) in front of the camera."""
    uv = project_points(np.asarray(points_cam), np.asarray(intrinsics), behind="inf")
    uv = uv[np.isfinite(uv).all(axis=1)]
    if len(uv) == 0:
        return None
    return np.concatenate([uv.min(0), uv.max(0)])


def expand_box(box: Box, expansion: float) -> Box:
    """Grow a box (4,) by ``expansion`` times its size, about its centre."""
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2 * (1.0 + expansion)
    return np.concatenate([centre - half, centre + half])


def boxes_overlap(a: Box | None, b: Box | None) -> bool:
    """True when two boxes (4,) intersect (touching counts); False when either is None."""
    if a is None or b is None:
        return False
    return bool(a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3])


def interaction_flags(boxes: Sequence[tuple[Box | None, Box | None]], expansion: float) -> np.ndarray:
    """(B,) bool: the (human, object) box pair of each image overlaps once both are expanded."""
    grow = lambda box: None if box is None else expand_box(box, expansion)  # noqa: E731
    return np.array([boxes_overlap(grow(h), grow(o)) for h, o in boxes], dtype=bool)


def centroid_pull(body_centroid: Tensor, object_centroid: Tensor, active: Tensor) -> Tensor:
    """Coarse interaction (B,): mean squared coordinate difference of the centroids (B, 3),
    times ``active`` (B,) (1 where the human and the object interact in the image)."""
    return active * (body_centroid - object_centroid).square().mean(-1)


def part_pull(body_parts: Tensor, object_parts: Tensor, active: Tensor) -> Tensor:
    """Fine interaction (B,): mean over Q part pairs of the mean squared coordinate difference
    of body-part centroids (B, Q, 3) and object-part centroids (B, Q, 3), times ``active`` (B,)."""
    if body_parts.shape[1] == 0:
        return active * 0.0
    return active * (body_parts - object_parts).square().mean(-1).mean(-1)


def object_points(state: FitState, points: Tensor) -> Tensor:
    """Template points (P, 3) or (B, P, 3) posed in the human frame, (B, P, 3)."""
    rot, scale = state.obj_rotation(), state.obj_scale()
    return scale[:, None, None] * points @ rot.transpose(1, 2) + state.obj_translation[:, None]


def _spread(ids: np.ndarray, cap: int) -> np.ndarray:
    """At most ``cap`` of ``ids``, evenly spread over the array (deterministic)."""
    if len(ids) <= cap:
        return np.asarray(ids, dtype=np.int64)
    return np.asarray(ids)[np.linspace(0, len(ids) - 1, cap).round().astype(int)].astype(np.int64)


@dataclass(frozen=True)
class PartPoints:
    """Body vertices skinned each step: the centroid subsample, then each paired part's."""

    ids: Tensor
    """(Vs,) body vertex ids."""
    centroid: slice
    """Where the centroid subsample lies in ``ids``."""
    parts: list[slice]
    """Per declared pair, where its body part's vertices lie in ``ids``."""
    object_parts: Tensor
    """(Q, 3) template centroid of each pair's object part."""

    def to(self, device: torch.device) -> PartPoints:
        """The same points with their tensors on ``device``."""
        return replace(self, ids=self.ids.to(device), object_parts=self.object_parts.to(device))


def part_points(body: BodyModel, template: ObjectTemplate, body_parts: dict[str, np.ndarray],
                config: PhosaConfig) -> PartPoints:
    """The vertex subsets the interaction terms skin, for ``template``'s declared pairs."""
    count = body.v_template.shape[0]
    chunks = [_spread(np.arange(count), config.centroid_points)]
    for body_part, _ in template.interaction_pairs:
        chunks.append(_spread(body_parts[body_part], config.part_points))
    ends = np.cumsum([len(c) for c in chunks])
    slices = [slice(int(e - len(c)), int(e)) for c, e in zip(chunks, ends)]
    verts = np.asarray(template.vertices, dtype=np.float64)
    centres = [verts[template.parts[part]].mean(0) for _, part in template.interaction_pairs]
    return PartPoints(torch.as_tensor(np.concatenate(chunks)), slices[0], slices[1:],
                      torch.tensor(np.array(centres).reshape(-1, 3), dtype=torch.float32))


class PhosaTerms:
    """The PHOSA terms of one batch of B images; call once per optimisation step.

    The step count decides the phase: the ordinal depth term starts at step ``object_steps``
    (the first joint step) and casts rays then, every ``render_every`` steps after, and once
    more for the final evaluation after the last step. One :func:`pose_body` call per step
    skins the interaction vertices and the corners of the depth term's body triangles.
    Everything runs on ``device`` (where ``body`` must already be; ``points`` and ``active`` are
    moved there) except the ray casting.
    """

    def __init__(self, body: BodyModel, template: ObjectTemplate, points: PartPoints, active: Tensor,
                 masks: Sequence[ImageMasks | None], config: PhosaConfig, fit: FitConfig,
                 device: torch.device = torch.device("cpu")) -> None:
        if body.v_template.device != device:
            raise ValueError(f"body: the body model is on {body.v_template.device}, the PHOSA terms on {device}; "
                             "pass the body model's copy on that device")
        self.body, self.template, self.points, self.config = body, template, points.to(device), config
        self.device = device
        self.active = active.to(device)
        """(B,) float, 1 where the human and the object boxes overlap."""
        self.masks = list(masks)
        self.object_steps, self.total_steps = fit.object_steps, fit.object_steps + fit.joint_steps
        self.template_vertices = torch.tensor(np.asarray(template.vertices), dtype=torch.float32, device=device)
        self.template_centroid = self.template_vertices.mean(0, keepdim=True)
        self.step = 0
        self.pixels: DepthPixels | None = None

    def __call__(self, state: FitState, ev: Evaluated | None = None) -> dict[str, Tensor]:
        """The weighted terms (B,) by name for the current state; terms weighted 0 are left out."""
        w, step = self.config.weights, self.step
        self.step += 1
        pixels = self.depth_pixels(state, step) if w.ordinal_depth > 0 else None
        interaction = w.coarse_interaction > 0 or w.fine_interaction > 0
        shared = self.points.ids if interaction else self.points.ids[:0]
        if pixels is not None and pixels.valid.shape[1] > 0:
            ids = torch.cat([shared.expand(state.betas.shape[0], -1), pixels.body_ids], dim=1)
        else:
            ids = shared
        posed = (pose_body(self.body, state.betas, state.body_pose, ids).vertices if ids.shape[-1]
                 else state.betas.new_zeros(state.betas.shape[0], 0, 3))
        terms = self.interaction_terms(state, posed[:, : len(shared)]) if interaction else {}
        if w.ordinal_depth > 0:
            depth = (self.depth_from_pixels(state, pixels, posed[:, len(shared):]) if pixels is not None
                     else state.obj_translation.new_zeros(state.obj_translation.shape[0]))
            terms["ordinal_depth"] = w.ordinal_depth * depth
        return terms

    def interaction_terms(self, state: FitState, posed: Tensor) -> dict[str, Tensor]:
        """Weighted coarse and fine interaction (B,) from the posed ``points.ids`` (B, Vs, 3)."""
        w, terms = self.config.weights, {}
        if w.coarse_interaction > 0:
            centroid = posed[:, self.points.centroid].mean(1)
            obj = object_points(state, self.template_centroid)[:, 0]
            terms["coarse_interaction"] = w.coarse_interaction * centroid_pull(centroid, obj, self.active)
        if w.fine_interaction > 0:
            parts = [posed[:, s].mean(1) for s in self.points.parts]
            body_parts = torch.stack(parts, 1) if parts else posed.new_zeros(posed.shape[0], 0, 3)
            obj_parts = object_points(state, self.points.object_parts)
            terms["fine_interaction"] = w.fine_interaction * part_pull(body_parts, obj_parts, self.active)
        return terms

    def depth_pixels(self, state: FitState, step: int) -> DepthPixels | None:
        """The ordinal depth pixels to use at ``step``, cast anew when due; None in phase 1."""
        if step < self.object_steps:
            return None
        since = step - self.object_steps
        if self.pixels is None or since % max(1, self.config.render_every) == 0 or step >= self.total_steps:
            self.pixels = self.cast(state)
        return self.pixels

    def cast(self, state: FitState) -> DepthPixels:
        """Ray-cast the current meshes of every image with masks (on the CPU) and collect its
        violating pixels, returned on the terms' device."""
        with torch.no_grad():
            every = torch.arange(self.body.v_template.shape[0], device=self.device)
            body = state.to_camera(pose_body(self.body, state.betas, state.body_pose, every).vertices)
            obj = state.to_camera(object_points(state, self.template_vertices))
            both = torch.cat([body, obj], dim=1).double().cpu().numpy()  # one copy to the host per cast
        body_np, obj_np = both[:, : body.shape[1]], both[:, body.shape[1]:]
        body_faces, obj_faces = np.asarray(self.body.faces), np.asarray(self.template.faces)
        images = [find_ordinal_pixels(m, body_np[i], body_faces, obj_np[i], obj_faces, self.config.depth_pixels)
                  if m is not None else empty_pixels() for i, m in enumerate(self.masks)]
        return stack_pixels(images, state.obj_translation.dtype, self.device)

    def depth_from_pixels(self, state: FitState, p: DepthPixels, body_vertices: Tensor) -> Tensor:
        """Unweighted ordinal depth (B,) at the stored pixels, from the posed ``p.body_ids``
        (B, N, 3, human frame) and the current object pose."""
        batch, count = p.valid.shape
        if count == 0:
            return state.obj_translation.new_zeros(batch)
        depth_body = interpolate_depth(state.to_camera(body_vertices)[..., 2], p.body_corners, p.body_bary)
        corners = self.template_vertices[p.object_triangles].reshape(batch, 3 * count, 3)
        obj_z = state.to_camera(object_points(state, corners))[..., 2].reshape(batch, count, 3)
        depth_obj = (p.object_bary * obj_z).sum(-1)
        return ordinal_depth_loss(depth_body, depth_obj, p.body_front, p.valid)


def _load_masks(sample: Sample) -> tuple[np.ndarray, np.ndarray] | None:
    """(human, object) masks of a sample, None (logged) when either is missing or unreadable."""
    try:
        return (load_mask(sample.human_mask_path, sample.image_size, "human"),
                load_mask(sample.object_mask_path, sample.image_size, "object"))
    except ValueError as err:
        log.info("%s: no masks for the PHOSA terms (%s); using the projected initial meshes", sample.image_id, err)
        return None


def _boxes(ctx: FitContext, samples: Sequence[Sample], init: InitBatch,
           masks: Sequence[tuple[np.ndarray, np.ndarray] | None]) -> list[tuple[Box | None, Box | None]]:
    """(human, object) boxes per image: from the masks, else from the projected initial meshes."""
    from_masks = [(None, None) if m is None else (mask_box(m[0]), mask_box(m[1])) for m in masks]
    if all(h is not None and o is not None for h, o in from_masks):
        return from_masks
    body_cam, obj_cam = posed_vertices(init, ctx.body, ctx.template)
    boxes = []
    for i, (s, (h, o)) in enumerate(zip(samples, from_masks)):
        boxes.append((h if h is not None else points_box(body_cam[i], s.intrinsics),
                      o if o is not None else points_box(obj_cam[i], s.intrinsics)))
    return boxes


def build_phosa_terms(ctx: FitContext, samples: Sequence[Sample], init: InitBatch, batch: FitBatch,
                      config: PhosaConfig, body_parts: dict[str, np.ndarray]) -> PhosaTerms:
    """The PHOSA terms of one batch, on the batch's device: interaction flags from the boxes
    (computed on the CPU from the masks and the initial meshes) and the reduced masks."""
    masks = [_load_masks(s) for s in samples]
    active = interaction_flags(_boxes(ctx, samples, init, masks), config.box_expansion)
    reduced = [None if m is None else reduce_masks(m[0], m[1], s.intrinsics, config.render_size)
               for s, m in zip(samples, masks)]
    points = part_points(ctx.body, ctx.template, body_parts, config)
    flags = torch.as_tensor(active, dtype=batch.keypoints.dtype)
    device = batch.keypoints.device
    return PhosaTerms(model_on_device(ctx.body, device), ctx.template, points, flags, reduced, config, ctx.config,
                      device)


def attach_phosa(ctx: FitContext, config: PhosaConfig | None = None) -> FitContext:
    """``ctx`` with the PHOSA terms attached when its preset uses them (``phosa``), else unchanged.

    ``config`` overrides the preset's entry in :data:`PHOSA_CONFIGS`.
    """
    if ctx.config.name not in PHOSA_CONFIGS:
        return ctx
    chosen = config if config is not None else PHOSA_CONFIGS[ctx.config.name]
    factory: Callable = functools.partial(build_phosa_terms, config=chosen, body_parts=body_part_vertices(ctx.body))
    return replace(ctx, extra_terms=factory)
