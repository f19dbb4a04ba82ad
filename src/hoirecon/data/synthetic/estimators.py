"""Simulated off-the-shelf estimators: detector keypoints, an HMR-style body, object correspondences.

The error models follow what the paper's initialisers (ViTPose, SMPLer-X, CDPN) typically get
wrong: pixel noise that grows under occlusion, per-joint pose noise and a depth (scale) error
for the body, and noisy 2D-3D object correspondences with a share of gross outliers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass(frozen=True)
class EstimatorNoise:
    """Error levels of the simulated estimators."""

    keypoint_px: float = 2.0
    """Std of detector noise on visible keypoints, pixels (doubled on occluded ones)."""
    body_pose_rad: float = 0.12
    """Std of the per-component body pose error, radians."""
    body_shape: float = 0.5
    """Std of the shape-coefficient error."""
    orient_deg: float = 6.0
    """Std of the global-orientation error, degrees."""
    depth_rel: float = 0.12
    """Std of the relative depth error of the body (a wrong scale/depth, as monocular HMR has)."""
    corr_count: int = 48
    """Number of 2D-3D object correspondences per image."""
    corr_px: float = 2.0
    """Std of correspondence pixel noise."""
    corr_outliers: float = 0.25
    """Share of correspondences replaced by gross outliers."""
    object_keypoint_px: float = 3.0
    """Std of noise on detected object keypoints, pixels."""


def detect_keypoints(
    rng: np.random.Generator, uv: np.ndarray, visible: np.ndarray, size: tuple[int, int], px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy detections (P, 2) and confidences (P,) of true pixels (P, 2) with visibility (P,).

    Occluded points get twice the noise and lower confidence; points outside the image get
    confidence 0.
    """
    sigma = np.where(visible, px, 2.0 * px)[:, None]
    noisy = uv + rng.normal(0.0, 1.0, uv.shape) * sigma
    conf = np.where(visible, rng.uniform(0.75, 1.0, len(uv)), rng.uniform(0.3, 0.6, len(uv)))
    inside = (uv[:, 0] >= 0) & (uv[:, 0] <= size[0] - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= size[1] - 1)
    return noisy, np.where(inside, conf, 0.0)


def perturb_body(
    rng: np.random.Generator, betas: np.ndarray, body_pose: np.ndarray, global_orient: np.ndarray,
    pelvis_cam: np.ndarray, noise: EstimatorNoise,
) -> dict[str, np.ndarray]:
    """An HMR-style estimate: noisy shape and pose, rotated orientation, pelvis at a wrong depth.

    Returns ``betas (10,)``, ``body_pose (63,)``, ``global_orient (3,)`` and ``pelvis_cam (3,)``
    (the estimated pelvis position in the camera frame; the caller turns it into ``transl``).
    """
    turn = Rotation.from_rotvec(rng.normal(0.0, np.deg2rad(noise.orient_deg), 3))
    orient = (turn * Rotation.from_rotvec(global_orient)).as_rotvec()
    depth = max(0.5, 1.0 + rng.normal(0.0, noise.depth_rel))
    return {
        "betas": betas + rng.normal(0.0, noise.body_shape, betas.shape),
        "body_pose": body_pose + rng.normal(0.0, noise.body_pose_rad, body_pose.shape),
        "global_orient": orient,
        "pelvis_cam": pelvis_cam * depth,
    }


def correspondences(
    rng: np.random.Generator, template_vertices: np.ndarray, visible: np.ndarray,
    project: "callable", size: tuple[int, int], noise: EstimatorNoise,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense-correspondence output: template points (C, 3), their pixels (C, 2), weights (C,).

    Points are drawn from the visible template vertices (all vertices when few are visible);
    ``project`` maps template points to their true pixels. A share of pixels is replaced by
    outliers drawn around the object's image box.
    """
    pool = np.flatnonzero(visible) if visible.sum() >= 8 else np.arange(len(template_vertices))
    ids = rng.choice(pool, size=noise.corr_count, replace=len(pool) < noise.corr_count)
    points = template_vertices[ids]
    pixels = project(points) + rng.normal(0.0, noise.corr_px, (len(ids), 2))
    outlier = rng.random(len(ids)) < noise.corr_outliers
    lo, hi = pixels.min(axis=0) - 20.0, pixels.max(axis=0) + 20.0
    pixels[outlier] = rng.uniform(lo, hi, (int(outlier.sum()), 2))
    weight = np.where(outlier, rng.uniform(0.2, 0.8, len(ids)), rng.uniform(0.5, 1.0, len(ids)))
    return points, np.clip(pixels, -0.5 * size[0], 1.5 * size[0]), weight
