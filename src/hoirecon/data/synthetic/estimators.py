"""Simulated dense object correspondences, and the older error settings kept for compatibility.

Detector keypoints live in :mod:`hoirecon.data.synthetic.detector2d`, masks in
:mod:`hoirecon.data.synthetic.masks` and the HMR body in :mod:`hoirecon.data.synthetic.hmr`;
their levels are set by an :class:`~hoirecon.data.synthetic.observation.ObservationConfig`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from hoirecon.data.synthetic.observation import CLEAN, CorrespondenceConfig, HmrConfig, ObservationConfig


@dataclass(frozen=True)
class EstimatorNoise:
    """Error levels in the form the generator used before observation presets (kept for old code).

    Pass it as ``SynthConfig(noise=...)``; :func:`observation_from_noise` turns it into an
    :class:`ObservationConfig` on top of the ``clean`` preset.
    """

    keypoint_px: float = 2.0
    """Std of body keypoint noise at a 100-px person, pixels (0 = exact)."""
    body_pose_rad: float = 0.12
    """Std of the per-component body pose error, radians."""
    body_shape: float = 0.5
    """Std of the shape-coefficient error."""
    orient_deg: float = 6.0
    """Std of each component of the global-orientation error, degrees."""
    depth_rel: float = 0.12
    """Std of the relative depth error of the body."""
    corr_count: int = 48
    """Number of 2D-3D object correspondences per image."""
    corr_px: float = 2.0
    """Std of correspondence pixel noise."""
    corr_outliers: float = 0.25
    """Share of correspondences replaced by gross outliers."""
    object_keypoint_px: float = 3.0
    """Std of noise on detected object keypoints at a 50-px object, pixels."""


def observation_from_noise(noise: EstimatorNoise) -> ObservationConfig:
    """The ``clean`` preset with its levels scaled to an :class:`EstimatorNoise` (0 stays exact).

    The defaults of :class:`EstimatorNoise` give ``clean`` itself (PA-MPJPE 61 mm is what
    0.12 rad of per-component pose noise gives on the embedded body).
    """
    default = EstimatorNoise()
    hmr = HmrConfig(pa_mpjpe_mm=CLEAN.hmr.pa_mpjpe_mm * noise.body_pose_rad / default.body_pose_rad,
                    orient_deg=CLEAN.hmr.orient_deg * noise.orient_deg / default.orient_deg,
                    depth_rel=noise.depth_rel, shape_std=noise.body_shape, joint_conf=CLEAN.hmr.joint_conf)
    return replace(
        CLEAN, name="legacy", hmr=hmr,
        body=replace(CLEAN.body, noise=CLEAN.body.noise * noise.keypoint_px / default.keypoint_px),
        object=replace(CLEAN.object, noise=CLEAN.object.noise * noise.object_keypoint_px / default.object_keypoint_px),
        corr=CorrespondenceConfig(count=noise.corr_count, px=noise.corr_px, outliers=noise.corr_outliers),
    )


def correspondences(
    rng: np.random.Generator, template_vertices: np.ndarray, visible: np.ndarray,
    project: Callable[[np.ndarray], np.ndarray], size: tuple[int, int], cfg: CorrespondenceConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense-correspondence output: template points (C, 3), their pixels (C, 2), weights (C,).

    Points are drawn from the visible template vertices (all vertices when few are visible);
    ``project`` maps template points to their true pixels. A share of pixels is replaced by
    outliers drawn around the object's image box.
    """
    pool = np.flatnonzero(visible) if visible.sum() >= 8 else np.arange(len(template_vertices))
    ids = rng.choice(pool, size=cfg.count, replace=len(pool) < cfg.count)
    points = template_vertices[ids]
    pixels = project(points) + rng.normal(0.0, cfg.px, (len(ids), 2))
    outlier = rng.random(len(ids)) < cfg.outliers
    lo, hi = pixels.min(axis=0) - 20.0, pixels.max(axis=0) + 20.0
    pixels[outlier] = rng.uniform(lo, hi, (int(outlier.sum()), 2))
    weight = np.where(outlier, rng.uniform(0.2, 0.8, len(ids)), rng.uniform(0.5, 1.0, len(ids)))
    return points, np.clip(pixels, -0.5 * size[0], 1.5 * size[0]), weight
