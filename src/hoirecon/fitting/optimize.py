"""The two-phase post-optimisation (paper eq. 13): object only, then everything, batched over images."""

from __future__ import annotations

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
    batch_size: int | None = None
    """Images optimised together (none: chosen for the device, 64 on the CPU and 256 on a GPU; see
    docs/device.md)."""
    contact_points: int = 128
    """At most this many contact candidates per image on each side (evenly subsampled)."""
    compile: bool = False
    """Compile each step's loss and its gradient with torch.compile (on the CPU it needs a C++ compiler).
    Off by default: on 2 CPU cores the steps run 2.5x faster at the same error, but only after about 100 s
    of compilation, so it pays for splits of a few thousand images (bench/README.md)."""


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


@dataclass
class FitConstants:
    """What every step of a fit reads and none changes, on the fit's device. Made once per fit: a
    tensor made from Python data inside a step (an index list included) would be copied to the
    device, and waited for, at every step."""

    keypoints: Tensor
    """(k, 3) the template's keypoints."""
    contact_points: Tensor
    """(B, No, 3) the template's contact-candidate vertices of each image."""
    face_ids: Tensor
    """(5,) the body's COCO face landmark vertices."""
    coco_joints: Tensor
    """(12,) the joints standing in for the other COCO keypoints."""
    permutations: Tensor
    """(S', k) the template's distinct keypoint permutations."""


def fit_constants(batch: FitBatch, model: BodyModel, template: ObjectTemplate, dtype: torch.dtype,
                  device: torch.device) -> FitConstants:
    """The constants of a fit of ``batch`` (see :class:`FitConstants`)."""
    vertices = torch.tensor(np.asarray(template.vertices), dtype=dtype, device=device)
    return FitConstants(
        keypoints=torch.tensor(np.asarray(template.keypoints), dtype=dtype, device=device),
        contact_points=vertices[batch.contact_object_ids],
        face_ids=torch.as_tensor(body_landmarks(model).face_vertices, dtype=torch.long, device=device),
        coco_joints=torch.tensor(COCO_FROM_JOINTS, device=device),
        permutations=_distinct_permutations(template).to(device))


def evaluate(state: FitState, batch: FitBatch, model: BodyModel, constants: FitConstants) -> Evaluated:
    """Pose body and object of the current state (human frame) for the losses.

    The face vertices are skinned together with the contact candidates, in one call.
    """
    contact, face_ids = batch.contact_body_ids, constants.face_ids
    ids = torch.cat([face_ids.expand(batch.size, -1), contact], dim=1)
    posed = pose_body(model, state.betas, state.body_pose, ids)
    face, body_vertices = posed.vertices[:, :len(face_ids)], posed.vertices[:, len(face_ids):]
    coco = torch.cat([face, posed.joints[:, constants.coco_joints]], dim=1)
    rot, scale, trans = state.obj_rotation(), state.obj_scale(), state.obj_translation
    obj_kp = scale[:, None, None] * constants.keypoints @ rot.transpose(1, 2) + trans[:, None]
    obj_verts = scale[:, None, None] * torch.einsum("bij,bpj->bpi", rot, constants.contact_points) + trans[:, None]
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


class CompileError(ValueError):
    """``compile`` was asked for but torch.compile cannot run here (no C++ compiler, an unsupported Python)."""


def compiled(loss: Callable[[], Tensor]) -> Callable[[], Tensor]:
    """``loss`` compiled with torch.compile; a failure to compile (seen at the first call) raises
    :class:`CompileError` naming the option, instead of a compiler traceback."""
    import torch._dynamo  # loaded only when asked for: importing it takes seconds

    if not torch._dynamo.is_dynamo_supported():
        raise CompileError(f"compile: torch.compile does not support this Python (torch {torch.__version__}); "
                           "fit without --compile")
    fast = torch.compile(loss)

    def call() -> Tensor:
        try:
            return fast()
        except torch._dynamo.exc.TorchDynamoException as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CompileError(f"compile: torch.compile failed ({reason}); on the CPU it needs a C++ compiler "
                               "(g++, or $CXX); fit without --compile") from err

    return call


def _adam(params: list, lr: float) -> torch.optim.Adam:
    """Adam for the fit's parameters: on a GPU the fused kernel (one launch per step, its step counts
    on the device: nothing waits for the host); on the CPU the multi-tensor update, as before."""
    if params[0].device.type == "cuda":
        return torch.optim.Adam(params, lr=lr, fused=True)
    return torch.optim.Adam(params, lr=lr, foreach=True)  # one multi-tensor update per step, not one per parameter


def _phase(state: FitState, params: list, steps: int, lr: float, closure: Callable[[], Tensor],
           callback: StepCallback | None, offset: int, total: int) -> None:
    """``steps`` Adam steps on ``params``. Nothing here reads a device value back (no ``.item()``, no
    branch on a tensor): the host queues the steps and never waits (``tests/fitting/test_host_syncs.py``)."""
    if steps <= 0:
        return
    opt = _adam(params, lr)
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
    constants = fit_constants(batch, model, template, state.obj_translation.dtype, state.obj_translation.device)

    def terms() -> dict[str, Tensor]:
        ev = evaluate(state, batch, model, constants)
        out = loss_terms(state, batch, ev, config.weights, constants.permutations, log_prob)
        if extra_terms is not None:
            out.update(extra_terms(state, ev))
        return out

    def total_loss() -> Tensor:
        return sum(t.sum() for t in terms().values())

    closure = compiled(total_loss) if config.compile else total_loss

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
