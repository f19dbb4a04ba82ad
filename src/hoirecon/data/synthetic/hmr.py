"""A simulated HMR-style body estimate and everything the evidence derives from it.

The estimate perturbs the true body: shape coefficients, per-joint pose (its noise calibrated
so the PA-MPJPE of the 22 joints hits the preset's target), global orientation, and the pelvis
depth along the camera ray. The camera in the human frame and the paper's 22-joint 2D layout
are then computed from the ESTIMATED body, as a real pipeline must.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import roma
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel, blend_shapes, chain_transforms
from hoirecon.data.synthetic.observation import HmrConfig
from hoirecon.geometry import procrustes, project_points

MEDIAN_CHI3 = 1.5382
"""Median of the chi distribution with 3 dof: the median angle of an isotropic rotation-vector error / its std."""


@dataclass(frozen=True)
class BodyEstimate:
    """HMR output for a batch of B images, camera frame."""

    betas: np.ndarray
    """(B, 10) shape coefficients."""
    body_pose: np.ndarray
    """(B, 63) axis-angle body pose."""
    global_orient: np.ndarray
    """(B, 3) axis-angle, body to camera."""
    pelvis_cam: np.ndarray
    """(B, 3) pelvis joint in the camera frame."""


def human_frame_joints(body: BodyModel, betas: np.ndarray, body_pose: np.ndarray) -> np.ndarray:
    """Joints (B, 22, 3) with the pelvis at the origin and no global orientation.

    Runs only the kinematic chain (no skinning of vertices), which makes the many bodies of a
    calibration cheap; the joints equal those of ``body(betas=..., body_pose=...)``.
    """
    dtype = body.joint_template.dtype
    b, n_coeffs = len(betas), body.joint_shapedirs.shape[-1]
    coeffs = torch.zeros(b, n_coeffs, dtype=dtype)
    n = min(n_coeffs, betas.shape[1], body.num_betas)
    coeffs[:, :n] = torch.as_tensor(betas[:, :n], dtype=dtype)
    rotvec = torch.zeros(b, body.num_joints, 3, dtype=dtype)
    rotvec[:, 1:22] = torch.as_tensor(body_pose, dtype=dtype).view(b, 21, 3)
    with torch.no_grad():
        rest = blend_shapes(coeffs, body.joint_shapedirs, body.joint_template)
        joints = chain_transforms(roma.rotvec_to_rotmat(rotvec), rest, body.parents, body.levels).joints
    joints = joints[:, :22].double().numpy()
    return joints - joints[:, :1]


def pa_mpjpe(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(B,) mean joint error after the similarity Procrustes of ``pred`` (B, J, 3) onto ``truth``."""
    aligned = procrustes(pred, truth).apply(pred)
    return np.linalg.norm(aligned - truth, axis=-1).mean(axis=-1)


def _pa_mpjpe(body: BodyModel, betas: np.ndarray, pose: np.ndarray, truth: np.ndarray,
              shape_noise: np.ndarray, pose_noise: np.ndarray, std: float) -> float:
    est = human_frame_joints(body, betas + shape_noise, pose + std * pose_noise)
    return float(np.mean(pa_mpjpe(est, truth)))


def calibrate_pose_std(
    body: BodyModel, betas: np.ndarray, body_pose: np.ndarray, cfg: HmrConfig, iterations: int = 3, seed: int = 0
) -> float:
    """Per-component pose-noise std (radians) whose PA-MPJPE on these bodies is ``cfg.pa_mpjpe_mm``.

    ``betas`` (B, 10) and ``body_pose`` (B, 63) are typical true bodies; the shape noise of
    ``cfg`` is included. Fixed random draws make the answer deterministic; PA-MPJPE grows
    almost linearly with the std, so a few proportional updates converge.
    """
    target = cfg.pa_mpjpe_mm / 1000.0
    if target <= 0:
        return 0.0
    rng = np.random.default_rng(seed)
    shape_noise = rng.normal(0.0, cfg.shape_std, betas.shape)
    pose_noise = rng.normal(0.0, 1.0, body_pose.shape)
    truth = human_frame_joints(body, betas, body_pose)
    std = target / 0.5
    for _ in range(iterations):
        std *= target / max(_pa_mpjpe(body, betas, body_pose, truth, shape_noise, pose_noise, std), 1e-9)
    return float(std)


def simulate_hmr(
    rng: np.random.Generator, betas: np.ndarray, body_pose: np.ndarray, global_orient: np.ndarray,
    pelvis_cam: np.ndarray, pose_std: float, cfg: HmrConfig,
) -> BodyEstimate:
    """Perturb true bodies (B, ...) into HMR estimates: shape, pose, orientation and depth errors."""
    b = len(betas)
    turn = Rotation.from_rotvec(rng.normal(0.0, np.deg2rad(cfg.orient_deg) / MEDIAN_CHI3, (b, 3)))
    orient = (turn * Rotation.from_rotvec(global_orient)).as_rotvec()
    depth = np.maximum(0.5, 1.0 + rng.normal(0.0, cfg.depth_rel, b))
    return BodyEstimate(
        betas=betas + rng.normal(0.0, cfg.shape_std, betas.shape),
        body_pose=body_pose + rng.normal(0.0, pose_std, body_pose.shape),
        global_orient=orient,
        pelvis_cam=pelvis_cam * depth[:, None],
    )


def camera_from_body(global_orient: np.ndarray, pelvis_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera in a body's human frame: ``cam_rotation`` (..., 3, 3) and ``cam_center`` (..., 3).

    A human-frame point X is at ``R X + pelvis_cam`` in the camera (R from ``global_orient``
    (..., 3)), so ``cam_rotation = R^T`` and ``cam_center = -R^T pelvis_cam``.
    """
    rot_t = np.swapaxes(Rotation.from_rotvec(global_orient.reshape(-1, 3)).as_matrix(), -1, -2)
    rot_t = rot_t.reshape(global_orient.shape[:-1] + (3, 3))
    return rot_t, -np.einsum("...ij,...j->...i", rot_t, pelvis_cam)


def project_human_frame(points: np.ndarray, cam_rotation: np.ndarray, cam_center: np.ndarray,
                        intrinsics: np.ndarray) -> np.ndarray:
    """Pixels (P, 2) of human-frame points (P, 3) seen by a camera (3, 3), (3,), K (3, 3).

    The camera is an estimate's, so a badly estimated body can put a joint at or behind it:
    its depth is clamped (the joint lands far outside the image) rather than failing the
    image, as a real estimator's layout would still be written out.
    """
    cam = (points - cam_center) @ cam_rotation
    return project_points(cam, intrinsics, behind="clamp")
