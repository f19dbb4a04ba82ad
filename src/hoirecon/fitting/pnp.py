"""Object initialisers that need no network weights: PnP on correspondences or keypoints.

The object pose comes from 2D-3D correspondences (a dense-correspondence network's output) by
OpenCV's RANSAC PnP refined by Levenberg-Marquardt on the inliers (RANSAC is skipped when every
correspondence agrees with the least-squares pose of all of them), or from the object's 2D
keypoints and the template's 3D keypoints (every keypoint relabelling of the template's
symmetries is tried). Degenerate input (too few points, identical or collinear points, no
consistent pose) never raises: the object is placed at the body's depth and the
:class:`ObjectInit` says so. The template is posed at scale ``scale`` (1 = its metric size);
``ObjectInit.pose`` maps the scaled template into the camera, ``p = R (s X) + t``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.geometry import RigidTransform, project_points
from hoirecon.objects import ObjectTemplate

log = logging.getLogger(__name__)

DEFAULT_DEPTH = 3.0
"""Depth (metres) of an object placed without any depth cue."""
MIN_THRESHOLD_PX = 4.0
"""Smallest default RANSAC inlier threshold, pixels."""
CONSENSUS_FACTOR = 1.25
"""RANSAC counts a hypothesis's support within this many times the inlier threshold; the final
inliers use the threshold itself. A hypothesis from a noisy minimal sample leaves true inliers
just outside the threshold; the wider band keeps them, so the consensus settles in fewer
iterations. On realistic synthetic correspondences (bench/bench_pnp.py) 1.25 was about 1.8 times
faster than 1 with lower median errors and fewer poses off by more than 1 m; 1.5 was faster
still but put more thin objects (bats) at absurd depths, which the fit did not recover from."""


@dataclass(frozen=True)
class ObjectInit:
    """An object pose in the camera frame and how it was obtained."""

    pose: RigidTransform
    """Template (at the scale it was solved for) -> camera: ``rotation`` (3, 3) and
    ``translation`` (3,), the template origin in the camera frame."""
    inliers: np.ndarray
    """(C,) bool, the correspondences (or keypoints) the pose agrees with."""
    reprojection_px: float
    """Mean reprojection error of the inliers, pixels (nan when there are none)."""
    success: bool
    """True when the pose was solved from the image evidence; False for a placement fallback."""
    method: str
    """"all_points" (every correspondence agreed with the pose of all of them: no RANSAC),
    "ransac", "pnp_all", "keypoints" or "placement"."""
    note: str = ""
    """Why a fallback was used (empty when none was)."""


def default_threshold_px(K: np.ndarray) -> float:
    """RANSAC inlier threshold for intrinsics K (3, 3): 1% of the image diagonal (taken as
    twice the principal point's), at least ``MIN_THRESHOLD_PX``."""
    diagonal = 2.0 * float(np.hypot(K[0, 2], K[1, 2]))
    return max(MIN_THRESHOLD_PX, 0.01 * diagonal)


def _check_K(K: Any) -> np.ndarray:
    """Intrinsics (3, 3) with positive focal lengths, as float64."""
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"K: expected finite (3, 3) intrinsics with positive focal lengths, got {K}")
    return K


def _check_correspondences(points: Any, pixels: Any, weight: Any) -> tuple[np.ndarray, ...]:
    """Validate corr_points (C, 3), corr_pixels (C, 2) and corr_weight (C,)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3) if np.size(points) else np.zeros((0, 3))
    pixels = np.asarray(pixels, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if pixels.shape != (len(points), 2):
        raise ValueError(f"corr_pixels: expected ({len(points)}, 2), got {pixels.shape}")
    if weight.shape != (len(points),):
        raise ValueError(f"corr_weight: expected ({len(points)},), got {weight.shape}")
    return points, pixels, weight


def degeneracy(points: np.ndarray, pixels: np.ndarray) -> str | None:
    """Why points (P, 3) with pixels (P, 2) cannot determine a pose, or None when they can."""
    if len(points) < 4:
        return f"fewer than 4 usable points ({len(points)})"
    sv = np.linalg.svd(points - points.mean(0), compute_uv=False)
    if sv[0] < 1e-9 or sv[1] < 1e-6 * sv[0]:
        return "3D points are identical or collinear"
    if np.ptp(pixels, axis=0).max() < 1e-6:
        return "pixels are identical"
    return None


def _rigid(rotation: np.ndarray, translation: np.ndarray) -> RigidTransform:
    """A float64 pose from a rotation (3, 3) and a translation (3,)."""
    return RigidTransform(rotation=np.asarray(rotation, dtype=np.float64),
                          translation=np.asarray(translation, dtype=np.float64))


def _reprojection(points: np.ndarray, pixels: np.ndarray, pose: RigidTransform,
                  K: np.ndarray) -> np.ndarray:
    """Pixel error (P,) of points (P, 3) posed by ``pose``; inf at or behind the camera, so such
    a point is never an inlier."""
    uv = project_points(pose.apply(np.asarray(points, dtype=np.float64)), K, behind="inf")
    return np.linalg.norm(uv - pixels, axis=1)


def _pose_from_opencv(rvec: np.ndarray, tvec: np.ndarray) -> RigidTransform:
    """OpenCV's rvec, tvec as a pose."""
    return _rigid(Rotation.from_rotvec(np.ravel(rvec)).as_matrix(), np.ravel(tvec))


def _ransac(points: np.ndarray, pixels: np.ndarray, K: np.ndarray, threshold: float,
            iterations: int, seed: int) -> RigidTransform | None:
    """RANSAC PnP then LM refinement on the inliers; None when OpenCV finds no pose."""
    cv2.setRNGSeed(seed)
    try:
        ok, rvec, tvec, inl = cv2.solvePnPRansac(
            points, pixels, K, None, iterationsCount=iterations, reprojectionError=threshold,
            confidence=0.999, flags=cv2.SOLVEPNP_EPNP)
        if not ok or inl is None or len(inl) < 4:
            return None
        inl = inl.ravel()
        rvec, tvec = cv2.solvePnPRefineLM(points[inl], pixels[inl], K, None, rvec, tvec)
    except cv2.error as err:
        log.debug("solvePnPRansac failed: %s", err)
        return None
    return _pose_from_opencv(rvec, tvec)


def _agreeing_pose(points: np.ndarray, pixels: np.ndarray, K: np.ndarray, threshold: float) -> RigidTransform | None:
    """The SQPnP pose of all points when every point reprojects within ``threshold`` of its
    pixel (then RANSAC has nothing to reject); None when one does not, or OpenCV fails."""
    try:
        ok, rvec, tvec = cv2.solvePnP(points, pixels, K, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error as err:
        log.debug("solvePnP failed: %s", err)
        return None
    if not ok:
        return None
    pose = _pose_from_opencv(rvec, tvec)
    return pose if bool((_reprojection(points, pixels, pose, K) < threshold).all()) else None


def _solve(points: np.ndarray, pixels: np.ndarray, K: np.ndarray, threshold: float, iterations: int, seed: int,
           consensus: float, all_points_first: bool) -> tuple[str, RigidTransform | None]:
    """A pose and how it was found: all points when they all agree, else RANSAC, else least
    squares on all points; (method, None) when every way fails."""
    pose = _agreeing_pose(points, pixels, K, threshold) if all_points_first else None
    if pose is not None:
        return "all_points", pose
    pose = _ransac(points, pixels, K, consensus * threshold, iterations, seed)
    if pose is not None:
        return "ransac", pose
    return "pnp_all", _pnp_all(points, pixels, K)


def _pnp_all(points: np.ndarray, pixels: np.ndarray, K: np.ndarray) -> RigidTransform | None:
    """Least-squares PnP (SQPnP, then LM) on all points; None when OpenCV fails."""
    try:
        ok, rvec, tvec = cv2.solvePnP(points, pixels, K, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            return None
        rvec, tvec = cv2.solvePnPRefineLM(points, pixels, K, None, rvec, tvec)
    except cv2.error as err:
        log.debug("solvePnP failed: %s", err)
        return None
    return _pose_from_opencv(rvec, tvec)


def _refit_inliers(points: np.ndarray, pixels: np.ndarray, K: np.ndarray, pose: RigidTransform,
                   threshold: float) -> tuple[RigidTransform, np.ndarray]:
    """A pose refined once more on exactly its inliers, and the refined pose's inliers (P,)."""
    inliers = _reprojection(points, pixels, pose, K) < threshold
    if inliers.sum() >= 4:
        rvec, tvec = cv2.solvePnPRefineLM(points[inliers], pixels[inliers], K, None,
                                          cv2.Rodrigues(pose.rotation)[0], pose.translation.reshape(3, 1).copy())
        pose = _pose_from_opencv(rvec, tvec)
        inliers = _reprojection(points, pixels, pose, K) < threshold
    return pose, inliers


def placement(pixels: np.ndarray, K: np.ndarray, center: np.ndarray | None, note: str,
              count: int) -> ObjectInit:
    """Fallback pose: identity rotation, origin on the ray of the median pixel (the principal
    point when there is none) at the depth of ``center`` (3,) (e.g. the body's pelvis in the
    camera; ``DEFAULT_DEPTH`` when None). ``count`` sizes the all-False inlier mask."""
    depth = DEFAULT_DEPTH if center is None or not np.isfinite(center[2]) or center[2] <= 0 else float(center[2])
    finite = pixels[np.isfinite(pixels).all(axis=1)] if len(pixels) else pixels
    if len(finite):
        uv = np.median(finite, axis=0)
        t = depth * (np.linalg.inv(K) @ np.array([uv[0], uv[1], 1.0]))
    elif center is not None and np.all(np.isfinite(center)):
        t = np.array(center, dtype=np.float64)
    else:
        t = np.array([0.0, 0.0, depth])
    log.debug("object placed without PnP: %s", note)
    return ObjectInit(_rigid(np.eye(3), t), np.zeros(count, dtype=bool), float("nan"), False, "placement", note)


def init_object_pnp(corr_points: np.ndarray, corr_pixels: np.ndarray, corr_weight: np.ndarray,
                    K: np.ndarray, *, scale: float = 1.0, threshold_px: float | None = None,
                    iterations: int = 500, fallback_center: np.ndarray | None = None,
                    seed: int = 0, consensus: float = CONSENSUS_FACTOR, all_points_first: bool = True
                    ) -> ObjectInit:
    """Object pose from 2D-3D correspondences by RANSAC PnP.

    When every correspondence agrees with the least-squares (SQPnP) pose of all of them, that
    pose is refined and RANSAC is skipped; otherwise RANSAC scores its hypotheses within
    ``consensus`` times the inlier threshold. Either pose is then refined on its inliers.

    Args:
        corr_points: (C, 3) template-frame points (template at scale 1).
        corr_pixels: (C, 2) their detected pixels (outliers allowed).
        corr_weight: (C,) confidences; 0 marks padding, which is ignored.
        K: (3, 3) intrinsics.
        scale: template scale the points are posed at.
        threshold_px: RANSAC inlier threshold (default :func:`default_threshold_px`).
        iterations: RANSAC iterations.
        fallback_center: (3,) camera point whose depth places the object when PnP is
            impossible or fails (e.g. the body's pelvis).
        seed: OpenCV's RNG seed, for reproducible RANSAC.
        consensus: RANSAC's support band as a multiple (>= 1) of the threshold
            (:data:`CONSENSUS_FACTOR`; 1 scores with the threshold itself).
        all_points_first: try the all-points pose before RANSAC (False: always RANSAC).

    Returns:
        The pose with its inlier mask over all C correspondences; ``success`` is False (and
        ``note`` says why) when the object had to be placed without a pose solution.
    """
    K = _check_K(K)
    if not (np.isfinite(consensus) and consensus >= 1.0):
        raise ValueError(f"consensus: expected a multiple of the threshold >= 1, got {consensus}")
    points, pixels, weight = _check_correspondences(corr_points, corr_pixels, corr_weight)
    valid = (weight > 0) & np.isfinite(points).all(1) & np.isfinite(pixels).all(1)
    obj, img = float(scale) * points[valid], pixels[valid]
    threshold = float(threshold_px) if threshold_px is not None else default_threshold_px(K)
    problem = degeneracy(obj, img)
    if problem is not None:
        return placement(img, K, fallback_center, f"PnP impossible: {problem}", len(points))
    method, pose = _solve(obj, img, K, threshold, iterations, seed, consensus, all_points_first)
    if pose is None:
        return placement(img, K, fallback_center, "PnP found no pose", len(points))
    pose, inl = _refit_inliers(obj, img, K, pose, threshold)
    if inl.sum() < max(4, int(0.2 * len(obj))):
        note = f"no consistent pose ({int(inl.sum())}/{len(obj)} inliers at {threshold:.1f} px)"
        return placement(img, K, fallback_center, note, len(points))
    inliers = np.zeros(len(points), dtype=bool)
    inliers[np.flatnonzero(valid)[inl]] = True
    error = float(_reprojection(obj[inl], img[inl], pose, K).mean())
    note = "RANSAC failed; least-squares PnP on all points" if method == "pnp_all" else ""
    return ObjectInit(pose, inliers, error, True, method, note)


def _depths_on_rays(r0: np.ndarray, r1: np.ndarray, length: float, depth: float) -> np.ndarray:
    """Depths (a, b) putting ``a r0`` and ``b r1`` (rays (3,) with z = 1) ``length`` apart with
    mean depth ``depth``; the nearest to that when no exact solution exists."""
    s = r0 + r1
    qa, qb = s @ s, -4.0 * depth * (s @ r1)
    qc = 4.0 * depth ** 2 * (r1 @ r1) - length ** 2
    disc = qb ** 2 - 4.0 * qa * qc
    roots = (-qb + np.array([-1.0, 1.0]) * np.sqrt(max(disc, 0.0))) / (2.0 * qa)
    a = roots[np.argmin(np.abs(roots - depth))]
    return np.array([a, 2.0 * depth - a])


def _place_from_keypoints(pixels: np.ndarray, points: np.ndarray, used: np.ndarray, K: np.ndarray,
                          center: np.ndarray | None, note: str) -> ObjectInit:
    """Fallback for fewer than 4 keypoints: pixels (n, 2) of template keypoints (n, 3) are put on
    their rays at the depth of ``center``; two keypoints are put exactly on their rays at their
    true distance, and the template is turned so its keypoint offsets follow the rays' points."""
    base = placement(pixels, K, center, note, len(used))
    if len(pixels) == 0:
        return base
    rays = np.c_[pixels, np.ones(len(pixels))] @ np.linalg.inv(K).T
    depth = np.full(len(pixels), base.pose.translation[2])
    if len(pixels) == 2:
        depth = _depths_on_rays(rays[0], rays[1], float(np.linalg.norm(points[1] - points[0])), depth[0])
    target = depth[:, None] * rays
    R = np.eye(3)
    if len(pixels) >= 2 and np.ptp(points, axis=0).max() > 1e-9:
        R = Rotation.align_vectors(target[1:] - target[0], points[1:] - points[0])[0].as_matrix()
    t = target.mean(0) - R @ points.mean(0)
    return ObjectInit(_rigid(R, t), used.copy(), float("nan"), False, "placement", note)


def init_object_from_keypoints(keypoints_2d: np.ndarray, keypoint_conf: np.ndarray,
                               template: ObjectTemplate, K: np.ndarray, *, scale: float = 1.0,
                               min_conf: float = 0.1, fallback_center: np.ndarray | None = None
                               ) -> ObjectInit:
    """Object pose from its detected keypoints (k, 2) with confidences (k,) and the template's
    keypoints, for images without correspondences. With at least 4 confident keypoints, PnP is
    solved for every keypoint relabelling the template's symmetries induce (a symmetric object's
    detector may swap labels) and the lowest reprojection error wins; with fewer, the object is
    placed at the depth of ``fallback_center`` along the detected keypoints (``success`` False)."""
    K = _check_K(K)
    kp = np.asarray(keypoints_2d, dtype=np.float64)
    conf = np.asarray(keypoint_conf, dtype=np.float64)
    if kp.shape != (template.num_keypoints, 2) or conf.shape != (template.num_keypoints,):
        raise ValueError(f"keypoints_2d/keypoint_conf: expected ({template.num_keypoints}, 2) and "
                         f"({template.num_keypoints},) for {template.name!r}, got {kp.shape}, {conf.shape}")
    used = (conf > min_conf) & np.isfinite(kp).all(1)
    points = float(scale) * np.asarray(template.keypoints)
    problem = degeneracy(points[used], kp[used])
    best: tuple[float, RigidTransform] | None = None
    for perm in (np.unique(template.keypoint_permutations, axis=0) if problem is None else []):
        pose = _pnp_all(points[perm][used], kp[used], K)
        if pose is not None:
            err = float(_reprojection(points[perm][used], kp[used], pose, K).mean())
            best = (err, pose) if best is None or err < best[0] else best
    if best is not None and np.isfinite(best[0]):
        return ObjectInit(best[1], used, best[0], True, "keypoints")
    note = f"keypoint PnP impossible: {problem or 'no pose found'}"
    return _place_from_keypoints(kp[used], points[used], used, K, fallback_center, note)
