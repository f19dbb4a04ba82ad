"""The two-phase post-optimisation (paper eq. 13): object only, then everything, batched over images."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from hoirecon.body import BodyModel
from hoirecon.body.landmarks import COCO_FROM_JOINTS, body_landmarks
from hoirecon.fitting.losses import (
    Evaluated,
    prior_nll,
    reprojection,
    symmetric_keypoint_reprojection,
    weighted_chamfer,
)
from hoirecon.fitting.posing import pose_body
from hoirecon.fitting.state import FitBatch, FitState
from hoirecon.objects import ObjectTemplate

log = logging.getLogger(__name__)
LogProb = Callable[[Tensor], Tensor]
"""A per-batch prior density: X2.5D (B, M, n+1, 3) -> log p (B, M)."""
StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (0 switches a term off)."""

    body_keypoints: float = 1.0
    """2D body keypoint reprojection (the paper's l_J)."""
    object_reprojection: float = 1.0
    """Object 2D-3D correspondences and object keypoints (l_coor)."""
    pose_prior: float = 2e-4
    """Stay close to the initial body pose (part of l_norm)."""
    shape_prior: float = 1e-4
    """Shape coefficients towards the mean (part of l_norm)."""
    scale_prior: float = 2e-3
    """Object log-scale towards 0 (part of l_norm)."""
    prior: float = 0.0
    """Negative log-density of the learnt 2.5D prior over the virtual cameras (l_prior)."""
    contact: float = 0.0
    """Weighted chamfer between contact candidates (l_contact)."""


@dataclass(frozen=True)
class FitConfig:
    """Schedule and loss weights of one preset."""

    name: str = "prior+contact"
    """Preset name recorded with the results."""
    weights: LossWeights = field(default_factory=LossWeights)
    """Loss weights."""
    object_steps: int = 150
    """Adam steps of phase 1 (body frozen; object pose, scale and virtual cameras)."""
    joint_steps: int = 100
    """Adam steps of phase 2 (everything)."""
    lr: float = 0.02
    """Adam learning rate (the reference uses 0.05 with 4000 + 1000 steps)."""
    virtual_cameras: int = 8
    """Number M of virtual cameras for the prior term."""
    batch_size: int = 64
    """Images optimised together."""
    contact_points: int = 128
    """At most this many contact candidates per image on each side (evenly subsampled)."""


PRESETS: dict[str, FitConfig] = {
    "none": FitConfig("none", LossWeights()),
    "contact": FitConfig("contact", LossWeights(contact=0.002)),
    "prior": FitConfig("prior", LossWeights(prior=0.001)),
    "prior+contact": FitConfig("prior+contact", LossWeights(prior=0.001, contact=0.002)),
    "phosa": FitConfig("phosa", LossWeights()),
}
"""Named presets; ``phosa`` gets its extra terms from ``hoirecon.fitting.phosa.attach_phosa``.

The weights were chosen on synthetic tuning splits (seeds 3 and 4 of ``bench/bench_presets.py``'s
set-up, three categories), never on the splits the README reports. The contact weight (the
contact loss is paper eq. 14, whose pair weights ``c c̄`` are products of two mean occlusions, so
its values are small) is the same in ``contact`` and ``prior+contact``: in the sweep of
``bench/bench_contact.py`` (seed 5, baseball bat and skateboard) 0.002 gave the lowest median
object translation error for both presets, and ``prior+contact`` beat ``prior`` there."""


def get_preset(name: str, **overrides: object) -> FitConfig:
    """A preset by name, optionally with some fields replaced."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides) if overrides else PRESETS[name]


@functools.lru_cache(maxsize=8)
def _coco_joints(device: torch.device) -> Tensor:
    """The joints standing in for COCO keypoints, as an index on ``device`` (made once: indexing with a
    Python list would copy it to the device, and wait for it, at every step)."""
    return torch.tensor(COCO_FROM_JOINTS, device=device)


def evaluate(state: FitState, batch: FitBatch, model: BodyModel, keypoints: Tensor, contact_points: Tensor,
             face_ids: Tensor) -> Evaluated:
    """Pose body and object of the current state (human frame) for the losses.

    ``keypoints`` (k, 3) are the template's keypoints, ``contact_points`` (B, No, 3) its
    contact-candidate vertices and ``face_ids`` (5,) the body's COCO face landmark vertices; all
    are fixed during a fit, so the caller converts them once. The face vertices are skinned
    together with the contact candidates, in one call.
    """
    contact = batch.contact_body_ids
    ids = torch.cat([face_ids.expand(batch.size, -1), contact], dim=1)
    posed = pose_body(model, state.betas, state.body_pose, ids)
    face, body_vertices = posed.vertices[:, :len(face_ids)], posed.vertices[:, len(face_ids):]
    coco = torch.cat([face, posed.joints[:, _coco_joints(face_ids.device)]], dim=1)
    rot, scale, trans = state.obj_rotation(), state.obj_scale(), state.obj_translation
    obj_kp = scale[:, None, None] * keypoints @ rot.transpose(1, 2) + trans[:, None]
    obj_verts = scale[:, None, None] * torch.einsum("bij,bpj->bpi", rot, contact_points) + trans[:, None]
    return Evaluated(posed.joints[:, :22], coco, obj_kp, body_vertices if contact.shape[1] else None, obj_verts,
                     _camera_map(state))


def _camera_map(state: FitState) -> Callable[[Tensor], Tensor]:
    """``state.to_camera`` with the body's rotation computed once per evaluation (the losses map
    several point sets; each call of ``to_camera`` would convert the rotation vector again)."""
    rotation_t, pelvis = state.orient_matrix().transpose(1, 2), state.pelvis[:, None]
    return lambda points: points @ rotation_t + pelvis


def loss_terms(state: FitState, batch: FitBatch, ev: Evaluated, w: LossWeights, perms: Tensor,
               log_prob: LogProb | None) -> dict[str, Tensor]:
    """The weighted loss terms (B,) by name; terms with weight 0 are left out."""
    conf, kp = batch.keypoint_conf, batch.keypoints
    terms: dict[str, Tensor] = {
        "body_keypoints": w.body_keypoints * reprojection(
            ev.to_camera(ev.coco_points), batch.coco_keypoints, batch.coco_conf, batch.intrinsics, batch.image_size),
    }
    rot, scale = state.obj_rotation(), state.obj_scale()
    corr = scale[:, None, None] * torch.einsum("bij,bpj->bpi", rot, batch.corr_points) + state.obj_translation[:, None]
    corr_term = reprojection(ev.to_camera(corr), batch.corr_pixels, batch.corr_weight, batch.intrinsics, batch.image_size)
    kp_term = symmetric_keypoint_reprojection(ev.to_camera(ev.object_keypoints), kp[:, 22:], conf[:, 22:],
                                              batch.intrinsics, batch.image_size, perms)
    terms["object_reprojection"] = w.object_reprojection * (corr_term + kp_term)
    terms["regularisers"] = (w.pose_prior * (state.body_pose - batch.init_body_pose).square().sum(-1)
                             + w.shape_prior * state.betas.square().sum(-1)
                             + w.scale_prior * state.obj_log_scale.square())
    if w.prior > 0 and log_prob is not None:
        points = torch.cat([ev.joints, ev.object_keypoints], dim=1)
        terms["prior"] = w.prior * prior_nll(points, state.virtual_cameras, log_prob)
    if w.contact > 0 and ev.body_vertices is None:
        terms["contact"] = state.obj_translation.new_zeros(batch.size)
    elif w.contact > 0:
        terms["contact"] = w.contact * weighted_chamfer(ev.body_vertices, batch.contact_body_weight,
                                                        ev.object_vertices, batch.contact_object_weight)
    return terms


def _distinct_permutations(template: ObjectTemplate) -> Tensor:
    """The template's distinct keypoint permutations (S', k); one empty row for a template without
    keypoints (``unique`` refuses a zero-sized dimension)."""
    if template.num_keypoints == 0:
        return torch.zeros((1, 0), dtype=torch.int64)
    return torch.tensor(np.array(template.keypoint_permutations, dtype=np.int64)).unique(dim=0)


def _phase(state: FitState, params: list, steps: int, lr: float, closure: Callable[[], Tensor],
           callback: StepCallback | None, offset: int, total: int) -> None:
    if steps <= 0:
        return
    opt = torch.optim.Adam(params, lr=lr, foreach=True)  # one multi-tensor update per step, not one per parameter
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        closure().backward()
        opt.step()
        if callback is not None:
            callback(offset + step + 1, total)


def optimise(state: FitState, batch: FitBatch, model: BodyModel, template: ObjectTemplate, config: FitConfig,
             log_prob: LogProb | None = None, callback: StepCallback | None = None,
             extra_terms: Callable[[FitState, Evaluated], dict[str, Tensor]] | None = None) -> dict[str, Tensor]:
    """Run both phases in place on ``state``; returns the final per-image loss terms (B,) by name."""
    dtype, device = state.obj_translation.dtype, state.obj_translation.device
    perms = _distinct_permutations(template).to(device)
    keypoints = torch.tensor(np.asarray(template.keypoints), dtype=dtype, device=device)
    contact_points = torch.tensor(np.asarray(template.vertices), dtype=dtype, device=device)[batch.contact_object_ids]
    face_ids = torch.as_tensor(body_landmarks(model).face_vertices, dtype=torch.long, device=device)

    def terms() -> dict[str, Tensor]:
        ev = evaluate(state, batch, model, keypoints, contact_points, face_ids)
        out = loss_terms(state, batch, ev, config.weights, perms, log_prob)
        if extra_terms is not None:
            out.update(extra_terms(state, ev))
        return out

    def closure() -> Tensor:
        return sum(t.sum() for t in terms().values())

    total = config.object_steps + config.joint_steps
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the per-step tensors are small: extra threads only add contention
    try:
        _phase(state, state.object_parameters(), config.object_steps, config.lr, closure, callback, 0, total)
        _phase(state, list(state.parameters()), config.joint_steps, config.lr, closure, callback,
               config.object_steps, total)
        with torch.no_grad():
            return {name: value.detach() for name, value in terms().items()}
    finally:
        torch.set_num_threads(threads)
