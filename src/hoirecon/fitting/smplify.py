"""SMPLify-style body fit to 2D keypoints, for images that come without a body estimate.

From the mean body (zero pose, zero shape) the pelvis depth is set from the torso length,
``z = f * L_m / L_px``, and the global orientation is chosen among a few upright candidates
(facing the camera, turned 90, 180 and 270 degrees about the vertical) by a short fit of the
orientation and pelvis position each; the best candidate is then refined together with the
body pose and shape. The data term is the confidence-weighted Geman-McClure robust error of
the 22 SMPL body joints' reprojection, in focal-normalised image units so that one setting
suits any resolution; L2 priors keep pose and shape near the mean. Only joints are posed
(rest joints regressed from the shaped template, then the kinematic chain of
``hoirecon.body.lbs``), which makes each step cheap. Every image of a batch is fitted
independently: the loss is a sum of per-image terms and Adam's steps are per element.
COCO-17 detections are mapped onto the SMPL joints with :func:`coco_to_smpl`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import roma
import torch
from torch import Tensor

from hoirecon.body import BodyModel, blend_shapes, chain_transforms, kinematic_levels
from hoirecon.fitting.body_init import BodyInit
from hoirecon.geometry import project_points

NUM_JOINTS = 22
COCO_TO_SMPL: tuple[tuple[int, int], ...] = tuple(zip(
    range(5, 17), (16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8)))
"""(COCO keypoint, SMPL joint) pairs: shoulders, elbows, wrists, hips, knees, ankles."""
_SHOULDERS, _HIPS = (16, 17), (1, 2)
_FACING_CAMERA = np.diag([1.0, -1.0, -1.0])  # body y up -> camera -y, body front -> camera -z
_MIN_DEPTH = 0.05
_IDENTITY_K = torch.eye(3, dtype=torch.float64)
"""Intrinsics of focal-normalised image coordinates, the units the fit works in."""


@dataclass(frozen=True)
class SmplifyConfig:
    """Settings of the keypoint fit."""

    search_steps: int = 60
    """Adam steps of the short orientation/position fit run for every candidate."""
    steps: int = 250
    """Adam steps of the final fit of orientation, position, pose and shape."""
    lr: float = 0.03
    """Adam learning rate (radians, metres and shape units alike)."""
    sigma: float = 0.05
    """Geman-McClure scale in focal-normalised units (0.05 = 5% of the focal length)."""
    pose_prior: float = 1e-2
    """Weight of the L2 prior on the body pose (axis-angle)."""
    shape_prior: float = 1e-2
    """Weight of the L2 prior on the shape coefficients."""
    candidates_deg: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
    """Turns about the camera's vertical axis of the upright, camera-facing start."""
    min_conf: float = 0.05
    """Keypoints with a lower confidence are ignored."""
    default_depth: float = 3.0
    """Pelvis depth (metres) used when the torso is not detected."""


@dataclass(frozen=True)
class SmplifyResult:
    """Fitted bodies of B images (camera frame, axis-angle)."""

    betas: np.ndarray
    """(B, num_betas) shape."""
    body_pose: np.ndarray
    """(B, 63) body pose."""
    global_orient: np.ndarray
    """(B, 3) body -> camera rotation."""
    pelvis_cam: np.ndarray
    """(B, 3) pelvis joint in the camera frame."""
    transl: np.ndarray
    """(B, 3) the body model's ``transl`` (pelvis_cam minus the rest pelvis)."""
    reprojection_px: np.ndarray
    """(B,) confidence-weighted mean joint reprojection error, pixels."""
    candidate: np.ndarray
    """(B,) index of the chosen start orientation (-1 when an initial body was given)."""

    def body(self, index: int) -> BodyInit:
        """The fit of image ``index`` as a :class:`BodyInit`."""
        return BodyInit(betas=self.betas[index], body_pose=self.body_pose[index],
                        global_orient=self.global_orient[index],
                        pelvis_cam=self.pelvis_cam[index], transl=self.transl[index])


def coco_to_smpl(coco: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SMPL-joint keypoints from COCO-17 detections: coco (B, 17, 3) of (u, v, score) ->
    keypoints (B, 22, 2) and confidences (B, 22), zero for joints COCO lacks."""
    coco = np.asarray(coco, dtype=np.float64)
    if coco.ndim != 3 or coco.shape[1:] != (17, 3):
        raise ValueError(f"coco: expected (B, 17, 3), got {coco.shape}")
    keypoints = np.zeros((coco.shape[0], NUM_JOINTS, 2))
    conf = np.zeros((coco.shape[0], NUM_JOINTS))
    for src, dst in COCO_TO_SMPL:
        keypoints[:, dst] = coco[:, src, :2]
        conf[:, dst] = coco[:, src, 2]
    return keypoints, conf


class JointPoser:
    """The body model's 22 body joints as a function of shape and joint rotations."""

    def __init__(self, body_model: BodyModel) -> None:
        dtype = torch.float64
        self.parents = body_model.parents[:NUM_JOINTS].cpu()
        self.levels = kinematic_levels(self.parents)
        self.template = body_model.joint_template[:NUM_JOINTS].detach().cpu().to(dtype)
        self.basis = body_model.joint_shapedirs[:NUM_JOINTS].detach().cpu().to(dtype)
        self.num_betas = int(body_model.num_betas)

    def rest_joints(self, betas: Tensor) -> Tensor:
        """Rest-pose joints (B, 22, 3) of shapes betas (B, num_betas)."""
        coeffs = torch.nn.functional.pad(betas, (0, self.basis.shape[-1] - betas.shape[-1]))
        return blend_shapes(coeffs, self.basis, self.template)

    def pelvis_relative(self, betas: Tensor, rotmats: Tensor) -> Tensor:
        """Posed joints (B, 22, 3) minus the rest pelvis, for betas (B, num_betas) and joint
        rotations (B, 22, 3, 3) (global orientation first); the body rotates about its rest
        pelvis, so the result has the pelvis at the origin."""
        rest = self.rest_joints(betas)
        return chain_transforms(rotmats, rest, self.parents, self.levels).joints - rest[:, :1]


@dataclass
class _Problem:
    """Observations of B images in focal-normalised coordinates."""

    target: Tensor  # (B, 22, 2)
    weight: Tensor  # (B, 22), sums to 1 per image (or 0 when nothing is detected)
    focal: Tensor   # (B,) mean focal length, pixels


def _problem(keypoints: np.ndarray, conf: np.ndarray, K: np.ndarray, min_conf: float) -> _Problem:
    """Normalise pixel keypoints (B, 22, 2) with intrinsics K (B, 3, 3)."""
    kp = torch.as_tensor(keypoints, dtype=torch.float64)
    K_t = torch.as_tensor(K, dtype=torch.float64)
    centre, focal = K_t[:, None, :2, 2], torch.stack([K_t[:, 0, 0], K_t[:, 1, 1]], -1)[:, None]
    c = torch.as_tensor(conf, dtype=torch.float64)
    c = torch.where((c >= min_conf) & torch.isfinite(kp).all(-1), c, torch.zeros_like(c))
    target = torch.nan_to_num((kp - centre) / focal)
    weight = c / c.sum(-1, keepdim=True).clamp(min=1e-12)
    return _Problem(target, weight, focal[:, 0].mean(-1))


def _check_inputs(keypoints: np.ndarray, conf: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, ...]:
    """Validate keypoints (B, 22, 2), conf (B, 22), K (B, 3, 3) or (3, 3)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    conf = np.asarray(conf, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_JOINTS, 2):
        raise ValueError(f"keypoints: expected (B, {NUM_JOINTS}, 2), got {keypoints.shape}")
    if conf.shape != keypoints.shape[:2]:
        raise ValueError(f"conf: expected {keypoints.shape[:2]}, got {conf.shape}")
    K = np.array(np.broadcast_to(np.asarray(K, dtype=np.float64), (len(keypoints), 3, 3)))
    if not np.all(np.isfinite(K)) or np.any(K[:, 0, 0] <= 0) or np.any(K[:, 1, 1] <= 0):
        raise ValueError("K: expected finite intrinsics with positive focal lengths")
    return keypoints, conf, K


def initial_depth(problem: _Problem, rest: Tensor, default: float) -> Tensor:
    """Pelvis depth (B,) from the torso: z = L_m / L_norm, with L_m the rest shoulder-to-hip
    length (rest joints (22, 3)) and L_norm its detected length over the focal; the extent of
    all detected joints against the rest body's is used when the torso is missing."""
    t, w = problem.target, problem.weight
    mid = lambda x, ids: x[..., list(ids), :].mean(-2)  # noqa: E731
    torso_m = (mid(rest, _SHOULDERS) - mid(rest, _HIPS)).norm()
    torso_n = (mid(t, _SHOULDERS) - mid(t, _HIPS)).norm(dim=-1)
    has_torso = (w[:, list(_SHOULDERS + _HIPS)] > 0).all(-1) & (torso_n > 1e-6)
    extent_m = (rest.max(0).values - rest.min(0).values).norm()
    big = torch.finfo(t.dtype).max
    seen = w[..., None] > 0
    hi = torch.where(seen, t, -big).amax(1)
    lo = torch.where(seen, t, big).amin(1)
    extent_n = (hi - lo).norm(dim=-1)
    has_extent = ((w > 0).sum(-1) >= 3) & (extent_n > 1e-6) & (extent_n < 1e3)
    depth = torch.where(has_torso, torso_m / torso_n.clamp(min=1e-6),
                        torch.where(has_extent, extent_m / extent_n.clamp(min=1e-6),
                                    torch.full_like(torso_n, default)))
    return depth.clamp(0.3, 100.0)


def initial_pelvis(problem: _Problem, depth: Tensor) -> Tensor:
    """Pelvis (B, 3) at ``depth`` (B,) on the ray of the detected pelvis (else the
    confidence-weighted mean of the detected joints, else the optical axis)."""
    w = problem.weight
    mean = (problem.target * w[..., None]).sum(1)
    centre = torch.where((w[:, :1] > 0), problem.target[:, 0], mean)
    return torch.cat([centre * depth[:, None], depth[:, None]], dim=-1)


def candidate_rotations(degrees: tuple[float, ...]) -> Tensor:
    """Upright starts (N, 3, 3): the camera-facing body turned about the camera's y axis."""
    rot = [roma.rotvec_to_rotmat(torch.tensor([0.0, math.radians(d), 0.0], dtype=torch.float64))
           for d in degrees]
    return torch.stack(rot) @ torch.as_tensor(_FACING_CAMERA)


def geman_mcclure(residual_sq: Tensor, sigma: float) -> Tensor:
    """Robust penalty of squared residuals (any shape): r^2 / (r^2 + sigma^2), in [0, 1)."""
    return residual_sq / (residual_sq + sigma ** 2)


@dataclass
class _Params:
    """Optimised variables of B bodies: a rotation update of fixed starts, the pelvis
    position, body pose and shape."""

    start: Tensor      # (B, 3, 3), fixed
    delta: Tensor      # (B, 3) axis-angle applied on the camera side of `start`
    pelvis: Tensor     # (B, 3)
    body_pose: Tensor  # (B, 63)
    betas: Tensor      # (B, num_betas)

    def orientation(self) -> Tensor:
        """Global orientation matrices (B, 3, 3)."""
        return roma.rotvec_to_rotmat(self.delta) @ self.start


def _joints_cam(poser: JointPoser, p: _Params) -> Tensor:
    """Camera-frame joints (B, 22, 3) of the current parameters."""
    rot = torch.cat([p.orientation()[:, None],
                     roma.rotvec_to_rotmat(p.body_pose.view(-1, NUM_JOINTS - 1, 3))], dim=1)
    return poser.pelvis_relative(p.betas, rot) + p.pelvis[:, None]


def _data_term(joints: Tensor, problem: _Problem, sigma: float) -> Tensor:
    """Per-image robust reprojection term (B,)."""
    # Clamped: a transient iterate with a joint behind the camera must not stop the fit.
    proj = project_points(joints, _IDENTITY_K, behind="clamp", eps=_MIN_DEPTH)
    res_sq = ((proj - problem.target) ** 2).sum(-1)
    return (problem.weight * geman_mcclure(res_sq, sigma)).sum(-1)


@contextmanager
def _few_threads(limit: int) -> Iterator[None]:
    """Cap torch's intra-op threads for the duration: the joint-only tensors are tiny, and
    splitting them across threads costs more than it saves (several times slower on a
    busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(min(before, limit))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _optimise(poser: JointPoser, p: _Params, problem: _Problem, cfg: SmplifyConfig,
              steps: int, full: bool) -> Tensor:
    """Run Adam on orientation and position (and pose and shape when ``full``); returns the
    final per-image data term (B,)."""
    with _few_threads(1 if len(problem.target) < 256 else 4):
        return _adam(poser, p, problem, cfg, steps, full)


def _adam(poser: JointPoser, p: _Params, problem: _Problem, cfg: SmplifyConfig,
          steps: int, full: bool) -> Tensor:
    """The Adam loop of :func:`_optimise`."""
    variables = [p.delta, p.pelvis] + ([p.body_pose, p.betas] if full else [])
    for v in variables:
        v.requires_grad_(True)
    optim = torch.optim.Adam(variables, lr=cfg.lr)
    for _ in range(steps):
        optim.zero_grad()
        data = _data_term(_joints_cam(poser, p), problem, cfg.sigma)
        prior = cfg.pose_prior * (p.body_pose ** 2).sum(-1) + cfg.shape_prior * (p.betas ** 2).sum(-1)
        (data + prior).sum().backward()
        optim.step()
    with torch.no_grad():
        return _data_term(_joints_cam(poser, p), problem, cfg.sigma)


def _mean_start(poser: JointPoser, problem: _Problem, cfg: SmplifyConfig, starts: Tensor
                ) -> _Params:
    """Mean bodies (B N) at the keypoint-derived pelvis, one per (image, start) pair."""
    batch, n = problem.target.shape[0], starts.shape[0]
    rest = poser.rest_joints(torch.zeros(1, poser.num_betas, dtype=torch.float64))[0]
    pelvis = initial_pelvis(problem, initial_depth(problem, rest, cfg.default_depth))
    return _Params(start=starts.repeat(batch, 1, 1), delta=torch.zeros(batch * n, 3, dtype=torch.float64),
                   pelvis=pelvis.repeat_interleave(n, 0).clone(),
                   body_pose=torch.zeros(batch * n, 63, dtype=torch.float64),
                   betas=torch.zeros(batch * n, poser.num_betas, dtype=torch.float64))


def _search(poser: JointPoser, problem: _Problem, cfg: SmplifyConfig) -> tuple[_Params, Tensor]:
    """Fit orientation and position from every start; keep the best start of each image.
    Returns its parameters (B) and the chosen start indices (B,)."""
    starts = candidate_rotations(cfg.candidates_deg)
    n = starts.shape[0]
    rep = lambda x: x.repeat_interleave(n, 0)  # noqa: E731
    big = _Problem(rep(problem.target), rep(problem.weight), rep(problem.focal))
    p = _mean_start(poser, problem, cfg, starts)
    loss = _optimise(poser, p, big, cfg, cfg.search_steps, full=False).view(-1, n)
    best = loss.argmin(dim=1)
    idx = torch.arange(len(best)) * n + best
    with torch.no_grad():
        chosen = _Params(start=p.orientation()[idx], delta=torch.zeros(len(best), 3, dtype=torch.float64),
                         pelvis=p.pelvis[idx].clone(), body_pose=p.body_pose[idx].clone(),
                         betas=p.betas[idx].clone())
    return chosen, best


def _params_from_init(init: list[BodyInit], num_betas: int) -> _Params:
    """Parameters starting at given bodies (one per image)."""
    stack = lambda name: torch.as_tensor(np.stack([getattr(b, name) for b in init]),  # noqa: E731
                                         dtype=torch.float64)
    betas = stack("betas")[:, :num_betas]
    betas = torch.nn.functional.pad(betas, (0, num_betas - betas.shape[1]))
    return _Params(start=roma.rotvec_to_rotmat(stack("global_orient")),
                   delta=torch.zeros(len(init), 3, dtype=torch.float64),
                   pelvis=stack("pelvis_cam").clone(), body_pose=stack("body_pose")[:, :63].clone(),
                   betas=betas.clone())


def _result(poser: JointPoser, p: _Params, problem: _Problem, candidate: Tensor) -> SmplifyResult:
    """Package the fitted parameters with their pixel reprojection error."""
    with torch.no_grad():
        joints = _joints_cam(poser, p)
        proj = project_points(joints, _IDENTITY_K, behind="clamp", eps=_MIN_DEPTH)
        err = ((proj - problem.target).norm(dim=-1) * problem.weight).sum(-1) * problem.focal
        orient = roma.rotmat_to_rotvec(p.orientation())
        transl = p.pelvis - poser.rest_joints(p.betas)[:, 0]
    as_np = lambda t: t.detach().numpy().copy()  # noqa: E731
    return SmplifyResult(betas=as_np(p.betas), body_pose=as_np(p.body_pose),
                         global_orient=as_np(orient), pelvis_cam=as_np(p.pelvis),
                         transl=as_np(transl), reprojection_px=as_np(err),
                         candidate=candidate.numpy().astype(np.int64))


def fit_smplify(keypoints: np.ndarray, conf: np.ndarray, K: np.ndarray, body_model: BodyModel,
                config: SmplifyConfig | None = None, init: list[BodyInit] | None = None
                ) -> SmplifyResult:
    """Fit bodies to the 22 SMPL body joints detected in B images.

    Args:
        keypoints: (B, 22, 2) pixels (COCO detections: see :func:`coco_to_smpl`).
        conf: (B, 22) confidences; 0 (or below ``config.min_conf``) ignores a joint.
        K: (B, 3, 3) or (3, 3) intrinsics.
        body_model: any SMPL-family model (its first 22 joints are fitted).
        config: fit settings (defaults: :class:`SmplifyConfig`).
        init: optional start bodies, one per image; skips the orientation search.

    Returns:
        The fitted bodies (camera frame) with their reprojection errors.
    """
    keypoints, conf, K = _check_inputs(keypoints, conf, K)
    cfg = config or SmplifyConfig()
    poser = JointPoser(body_model)
    problem = _problem(keypoints, conf, K, cfg.min_conf)
    if init is None:
        params, candidate = _search(poser, problem, cfg)
    else:
        if len(init) != len(keypoints):
            raise ValueError(f"init: expected {len(keypoints)} bodies, got {len(init)}")
        params = _params_from_init(list(init), poser.num_betas)
        candidate = torch.full((len(init),), -1)
    _optimise(poser, params, problem, cfg, cfg.steps, full=True)
    return _result(poser, params, problem, candidate)
