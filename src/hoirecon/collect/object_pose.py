"""The object's 6D pose of one collected image, its quality score, and whether it is kept.

From annotated 2D keypoints (and any 2D-3D correspondences), by RANSAC PnP against the
template's 3D keypoints (:func:`hoirecon.fitting.pnp.init_object_pnp`, OpenCV's EPnP RANSAC
refined by Levenberg-Marquardt); from an object mask alone, by the silhouette search of
:mod:`hoirecon.fitting.mask_search`. The template is posed at its metric size (scale 1).

Quality and rejection (what "does not reproject" means here):

* keypoints: ``quality = inlier fraction * exp(-mean inlier error / max_error_px)``; the pose
  is rejected when PnP fails, fewer than ``min_inlier_fraction`` of the placed points agree
  with it within ``max_error_px``, their mean error exceeds ``max_error_px``, or the object
  lands at or behind the camera;
* mask: ``quality`` = the silhouette IoU of the found pose; rejected below ``min_mask_iou``.
  Clicked keypoints given with the mask (too few for PnP) must then reproject within
  ``max_error_px`` too;
* fewer than 4 clicked keypoints and no mask: no 6D pose can be solved. When every keypoint of
  the template was placed (a bat's two ends, a ball's centre) the clicks themselves are kept as
  the object's 2D keypoints (method ``clicks``, quality 1), which is all the prior trains on;
  otherwise the image is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoirecon.fitting.body_init import BodyInit
from hoirecon.fitting.mask_search import search_object_pose
from hoirecon.fitting.pnp import init_object_pnp
from hoirecon.geometry import project_points
from hoirecon.objects import ObjectTemplate

MIN_PNP_POINTS = 4


@dataclass(frozen=True)
class PoseConfig:
    """Thresholds of the object pose and its rejection."""

    max_error_px: float = 0.0
    """Largest mean reprojection error of a kept pose, pixels; 0 = 1.5% of the image diagonal, at least 4 px."""
    min_inlier_fraction: float = 0.75
    """Fewest placed keypoints (fraction) the pose must reproject within ``max_error_px``."""
    min_mask_iou: float = 0.6
    """Smallest silhouette IoU of a pose found from the mask alone."""


@dataclass(frozen=True)
class ObjectPoseResult:
    """The object of one image: its pose (camera frame) and 2D keypoint rows, or why it was rejected."""

    accepted: bool
    method: str
    """``pnp``, ``mask``, ``clicks`` or ``none``."""
    reason: str
    """Why it was rejected (empty when accepted)."""
    rotation: np.ndarray
    """(3, 3) template -> camera (identity without a pose)."""
    translation: np.ndarray
    """(3,) template origin in the camera, metres (zeros without a pose)."""
    keypoints_2d: np.ndarray
    """(k, 2) the object rows of ``keypoints_2d``: the template keypoints reprojected by the pose
    (the clicks for method ``clicks``)."""
    keypoint_conf: np.ndarray
    """(k,) their confidences (1 for reprojected keypoints in front of the camera)."""
    reprojection_px: float = float("nan")
    """Mean reprojection error of the clicked keypoints that agree with the pose, pixels."""
    inlier_fraction: float = float("nan")
    quality: float = 0.0
    """In [0, 1], see the module docstring."""
    scale: float = 1.0
    """Template scale of the pose (the mask search may rescale it; PnP poses the metric template)."""

    @property
    def has_pose(self) -> bool:
        """True when a 6D pose was solved (method ``pnp`` or ``mask``)."""
        return self.method in ("pnp", "mask")


def error_threshold(config: PoseConfig, image_size: tuple[int, int]) -> float:
    """The reprojection threshold in pixels for an image (width, height)."""
    if config.max_error_px > 0:
        return config.max_error_px
    return max(4.0, 0.015 * float(np.hypot(*image_size)))


def _rejected(k: int, method: str, reason: str, **extra: float) -> ObjectPoseResult:
    return ObjectPoseResult(False, method, reason, np.eye(3), np.zeros(3), np.zeros((k, 2)), np.zeros(k), **extra)


def _reproject(template: ObjectTemplate, rotation: np.ndarray, translation: np.ndarray, K: np.ndarray,
               scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (k, 2) of the template keypoints under a pose and whether each is in front (k,)."""
    cam = scale * np.asarray(template.keypoints, dtype=np.float64) @ rotation.T + translation
    pixels = project_points(cam, K, behind="inf")
    front = np.isfinite(pixels).all(axis=1)
    return np.where(front[:, None], pixels, 0.0), front


def _accepted(template: ObjectTemplate, method: str, rotation: np.ndarray, translation: np.ndarray,
              K: np.ndarray, **extra: float) -> ObjectPoseResult:
    pixels, front = _reproject(template, rotation, translation, K)
    return ObjectPoseResult(True, method, "", rotation, translation, pixels, front.astype(np.float64), **extra)


def _pnp(template: ObjectTemplate, clicks: np.ndarray, corr: tuple[np.ndarray, np.ndarray] | None,
         K: np.ndarray, threshold: float, config: PoseConfig) -> ObjectPoseResult:
    """RANSAC PnP on the placed keypoints (and correspondences), then the rejection rules."""
    k = template.num_keypoints
    placed = clicks[:, 2] > 0
    points, pixels = np.asarray(template.keypoints)[placed], clicks[placed, :2]
    if corr is not None:
        points, pixels = np.concatenate([points, corr[0]]), np.concatenate([pixels, corr[1]])
    init = init_object_pnp(points, pixels, np.ones(len(points)), K, threshold_px=threshold)
    if not init.success:
        return _rejected(k, "pnp", f"PnP found no pose ({init.note})")
    R, t = init.pose.rotation, init.pose.translation
    if t[2] <= 0:
        return _rejected(k, "pnp", f"the pose puts the object behind the camera (z = {t[2]:.2f} m)")
    uv = project_points(points @ R.T + t, K, behind="inf")
    error = np.linalg.norm(uv - pixels, axis=1)
    inliers = error < threshold
    fraction = float(inliers.mean())
    mean_error = float(error[inliers].mean()) if inliers.any() else float("inf")
    stats = {"reprojection_px": mean_error, "inlier_fraction": fraction}
    if fraction < config.min_inlier_fraction or mean_error > threshold:
        return _rejected(k, "pnp", f"the pose does not reproject: {int(inliers.sum())}/{len(points)} points within "
                         f"{threshold:.1f} px (mean {mean_error:.1f} px)", **stats)
    return _accepted(template, "pnp", R, t, K, quality=fraction * float(np.exp(-mean_error / threshold)), **stats)


def _mask(template: ObjectTemplate, clicks: np.ndarray, mask: np.ndarray, person_mask: np.ndarray | None,
          body: BodyInit | None, K: np.ndarray, threshold: float, config: PoseConfig) -> ObjectPoseResult:
    """The silhouette search, checked by its IoU and by any clicked keypoints."""
    k = template.num_keypoints
    found = search_object_pose(mask, template, K, person_mask, body)
    if found.iou < config.min_mask_iou:
        return _rejected(k, "mask", f"the pose found from the mask matches it poorly (IoU {found.iou:.2f} < "
                         f"{config.min_mask_iou})", quality=float(found.iou))
    extra = {"quality": float(found.iou)}
    pixels, front = _reproject(template, found.rotation, found.translation, K, found.scale)
    placed = clicks[:, 2] > 0
    if placed.any():
        error = float(np.linalg.norm(pixels[placed] - clicks[placed, :2], axis=1).mean())
        extra["reprojection_px"] = error
        if error > threshold:
            return _rejected(k, "mask", f"the pose found from the mask does not reproject the clicked keypoints "
                             f"(mean {error:.1f} px > {threshold:.1f} px)", **extra)
    return ObjectPoseResult(True, "mask", "", found.rotation, found.translation, pixels, front.astype(np.float64),
                            scale=float(found.scale), **extra)


def solve_object_pose(template: ObjectTemplate, K: np.ndarray, image_size: tuple[int, int], *,
                      clicks: np.ndarray | None = None, correspondences: tuple[np.ndarray, np.ndarray] | None = None,
                      mask: np.ndarray | None = None, person_mask: np.ndarray | None = None,
                      body: BodyInit | None = None, config: PoseConfig = PoseConfig()) -> ObjectPoseResult:
    """The object's pose in one image from whatever evidence it has (see the module docstring).

    Args:
        template: the category's template (its keypoints in template order).
        K: (3, 3) intrinsics; image_size: (width, height).
        clicks: (k, 3) u, v, state of the annotated keypoints (state 0 = not placed).
        correspondences: (points (C, 3) template frame, pixels (C, 2)) from a file.
        mask: (H, W) bool object silhouette; person_mask the person's; body the starting body.
    """
    k = template.num_keypoints
    clicks = np.zeros((k, 3)) if clicks is None else np.asarray(clicks, dtype=np.float64)
    threshold = error_threshold(config, image_size)
    count = int((clicks[:, 2] > 0).sum()) + (0 if correspondences is None else len(correspondences[0]))
    if count >= MIN_PNP_POINTS:
        return _pnp(template, clicks, correspondences, K, threshold, config)
    if mask is not None:
        return _mask(template, clicks, mask, person_mask, body, K, threshold, config)
    if k and np.all(clicks[:, 2] > 0):
        return ObjectPoseResult(True, "clicks", "", np.eye(3), np.zeros(3), clicks[:, :2].copy(), np.ones(k), quality=1.0)
    if count == 0:
        return _rejected(k, "none", "no object evidence (no clicked keypoints, correspondences or mask)")
    return _rejected(k, "none", f"{count} object point(s) placed: PnP needs {MIN_PNP_POINTS} (or give the object mask)")
