"""Initialisers that need no network weights: the object by PnP, the body from an estimate.

The object pose comes from 2D-3D correspondences (a dense-correspondence network's output) by
OpenCV's RANSAC PnP refined by Levenberg-Marquardt on the inliers, or from the object's 2D
keypoints and the template's 3D keypoints (every keypoint relabelling of the template's
symmetries is tried). Degenerate input (too few points, identical or collinear points, no
consistent pose) never raises: the object is placed at the body's depth and the
:class:`ObjectInit` says so. The template is posed at scale ``scale`` (1 = its metric size).
The body comes from an HMR-style estimate; images without one are fitted to their keypoints
(:mod:`hoirecon.fitting.smplify`). Readers for the files such estimators write (HMR-style SMPL
parameters, COCO keypoint JSON) are at the end of this module.

Frames: ``R_cam, t_cam`` map template points into the camera, ``p = s R X + t``; the human
frame has the pelvis at the origin and the body's global orientation removed, so a human-frame
point ``p_h`` is ``R_go p_h + pelvis_cam`` in the camera.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import cv2
import numpy as np
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel
from hoirecon.objects import ObjectTemplate

if TYPE_CHECKING:
    from hoirecon.fitting.smplify import SmplifyConfig

log = logging.getLogger(__name__)

DEFAULT_DEPTH = 3.0
"""Depth (metres) of an object placed without any depth cue."""
MIN_THRESHOLD_PX = 4.0
"""Smallest default RANSAC inlier threshold, pixels."""


@dataclass(frozen=True)
class ObjectInit:
    """An object pose in the camera frame and how it was obtained."""

    R_cam: np.ndarray
    """(3, 3) template -> camera rotation."""
    t_cam: np.ndarray
    """(3,) template origin in the camera frame."""
    inliers: np.ndarray
    """(C,) bool, the correspondences (or keypoints) the pose agrees with."""
    reprojection_px: float
    """Mean reprojection error of the inliers, pixels (nan when there are none)."""
    success: bool
    """True when the pose was solved from the image evidence; False for a placement fallback."""
    method: str
    """"ransac", "pnp_all", "keypoints" or "placement"."""
    note: str = ""
    """Why a fallback was used (empty when none was)."""


@dataclass(frozen=True)
class BodyInit:
    """A body in the camera frame (axis-angle, the body model's parameters)."""

    betas: np.ndarray
    """(num_betas,) shape."""
    body_pose: np.ndarray
    """(63,) pose of the 21 body joints."""
    global_orient: np.ndarray
    """(3,) body -> camera rotation."""
    pelvis_cam: np.ndarray
    """(3,) pelvis joint in the camera frame (= transl + rest pelvis J0(betas))."""
    transl: np.ndarray
    """(3,) the body model's ``transl`` argument."""


@dataclass(frozen=True)
class HumanFramePose:
    """An object pose in the human frame, ``p_h = s R X + t``; unpacks as ``R, t``."""

    rotation: np.ndarray
    """(3, 3) template -> human frame."""
    translation: np.ndarray
    """(3,) template origin in the human frame."""

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.rotation, self.translation))


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


def _reprojection(points: np.ndarray, pixels: np.ndarray, R: np.ndarray, t: np.ndarray,
                  K: np.ndarray) -> np.ndarray:
    """Pixel error (P,) of points (P, 3) posed by R, t; inf behind the camera."""
    cam = points @ R.T + t
    z = cam[:, 2]
    uv = (cam @ K.T)[:, :2] / np.where(z > 1e-9, z, 1.0)[:, None]
    return np.where(z > 1e-9, np.linalg.norm(uv - pixels, axis=1), np.inf)


def _pose_arrays(rvec: np.ndarray, tvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's rvec, tvec as a rotation matrix (3, 3) and translation (3,)."""
    return Rotation.from_rotvec(np.ravel(rvec)).as_matrix(), np.ravel(tvec).astype(np.float64)


def _ransac(points: np.ndarray, pixels: np.ndarray, K: np.ndarray, threshold: float,
            iterations: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
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
    return _pose_arrays(rvec, tvec)


def _pnp_all(points: np.ndarray, pixels: np.ndarray, K: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """Least-squares PnP (SQPnP, then LM) on all points; None when OpenCV fails."""
    try:
        ok, rvec, tvec = cv2.solvePnP(points, pixels, K, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok:
            return None
        rvec, tvec = cv2.solvePnPRefineLM(points, pixels, K, None, rvec, tvec)
    except cv2.error as err:
        log.debug("solvePnP failed: %s", err)
        return None
    return _pose_arrays(rvec, tvec)


def _refit_inliers(points: np.ndarray, pixels: np.ndarray, K: np.ndarray,
                   pose: tuple[np.ndarray, np.ndarray], threshold: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inliers (P,) of a pose and the pose refined once more on exactly those inliers."""
    R, t = pose
    inliers = _reprojection(points, pixels, R, t, K) < threshold
    if inliers.sum() >= 4:
        rvec, tvec = cv2.solvePnPRefineLM(points[inliers], pixels[inliers], K, None,
                                          cv2.Rodrigues(R)[0], t.reshape(3, 1).copy())
        R, t = _pose_arrays(rvec, tvec)
        inliers = _reprojection(points, pixels, R, t, K) < threshold
    return R, t, inliers


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
    return ObjectInit(np.eye(3), t, np.zeros(count, dtype=bool), float("nan"), False, "placement", note)


def init_object_pnp(corr_points: np.ndarray, corr_pixels: np.ndarray, corr_weight: np.ndarray,
                    K: np.ndarray, *, scale: float = 1.0, threshold_px: float | None = None,
                    iterations: int = 500, fallback_center: np.ndarray | None = None,
                    seed: int = 0) -> ObjectInit:
    """Object pose from 2D-3D correspondences by RANSAC PnP.

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

    Returns:
        The pose with its inlier mask over all C correspondences; ``success`` is False (and
        ``note`` says why) when the object had to be placed without a pose solution.
    """
    K = _check_K(K)
    points, pixels, weight = _check_correspondences(corr_points, corr_pixels, corr_weight)
    valid = (weight > 0) & np.isfinite(points).all(1) & np.isfinite(pixels).all(1)
    obj, img = float(scale) * points[valid], pixels[valid]
    threshold = float(threshold_px) if threshold_px is not None else default_threshold_px(K)
    problem = degeneracy(obj, img)
    if problem is not None:
        return placement(img, K, fallback_center, f"PnP impossible: {problem}", len(points))
    method, pose = "ransac", _ransac(obj, img, K, threshold, iterations, seed)
    if pose is None:
        method, pose = "pnp_all", _pnp_all(obj, img, K)
    if pose is None:
        return placement(img, K, fallback_center, "PnP found no pose", len(points))
    R, t, inl = _refit_inliers(obj, img, K, pose, threshold)
    if inl.sum() < max(4, int(0.2 * len(obj))):
        note = f"no consistent pose ({int(inl.sum())}/{len(obj)} inliers at {threshold:.1f} px)"
        return placement(img, K, fallback_center, note, len(points))
    inliers = np.zeros(len(points), dtype=bool)
    inliers[np.flatnonzero(valid)[inl]] = True
    error = float(_reprojection(obj[inl], img[inl], R, t, K).mean())
    note = "" if method == "ransac" else "RANSAC failed; least-squares PnP on all points"
    return ObjectInit(R, t, inliers, error, True, method, note)


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
    depth = np.full(len(pixels), base.t_cam[2])
    if len(pixels) == 2:
        depth = _depths_on_rays(rays[0], rays[1], float(np.linalg.norm(points[1] - points[0])), depth[0])
    target = depth[:, None] * rays
    R = np.eye(3)
    if len(pixels) >= 2 and np.ptp(points, axis=0).max() > 1e-9:
        R = Rotation.align_vectors(target[1:] - target[0], points[1:] - points[0])[0].as_matrix()
    t = target.mean(0) - R @ points.mean(0)
    return ObjectInit(R, t, used.copy(), float("nan"), False, "placement", note)


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
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for perm in (np.unique(template.keypoint_permutations, axis=0) if problem is None else []):
        pose = _pnp_all(points[perm][used], kp[used], K)
        if pose is not None:
            err = float(_reprojection(points[perm][used], kp[used], *pose, K).mean())
            best = (err, *pose) if best is None or err < best[0] else best
    if best is not None and np.isfinite(best[0]):
        return ObjectInit(best[1], best[2], used, best[0], True, "keypoints")
    note = f"keypoint PnP impossible: {problem or 'no pose found'}"
    return _place_from_keypoints(kp[used], points[used], used, K, fallback_center, note)


def rest_pelvis(body_model: BodyModel, betas: np.ndarray) -> np.ndarray:
    """The rest-pose pelvis J0(betas) (3,) of shape betas (<= num_betas,): the point the
    body's global rotation turns about, so ``pelvis_cam = transl + J0(betas)``."""
    with torch.no_grad():
        basis = body_model.joint_shapedirs[0].detach().cpu().double()  # (3, C)
        coeffs = np.zeros(basis.shape[1])
        coeffs[:len(betas)] = betas
        return (body_model.joint_template[0].detach().cpu().double()
                + basis @ torch.as_tensor(coeffs)).numpy()


def _vector(value: Any, name: str, sizes: tuple[int, ...]) -> np.ndarray:
    """A finite flat float64 vector whose length is one of ``sizes`` (any length if empty)."""
    arr = np.asarray(value, dtype=np.float64).ravel()
    if (sizes and arr.size not in sizes) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected a finite vector of length {' or '.join(map(str, sizes))}, "
                         f"got shape {np.shape(value)}")
    return arr


def init_body_from_estimate(estimate: Any, body_model: BodyModel) -> BodyInit:
    """Body init from an HMR-style estimate with attributes ``betas``, ``body_pose`` (63 or
    69; SMPL's hand joints are dropped), ``global_orient`` (3) and ``transl`` (3) in the camera
    frame (a :class:`~hoirecon.data.sample.Estimate` or ``GroundTruth``). Shapes beyond the
    model's ``num_betas`` are dropped, shorter ones zero-padded."""
    betas = _vector(estimate.betas, "betas", ())
    num_betas = int(body_model.num_betas)
    betas = np.pad(betas[:num_betas], (0, max(0, num_betas - len(betas))))
    transl = _vector(estimate.transl, "transl", (3,))
    return BodyInit(betas=betas, body_pose=_vector(estimate.body_pose, "body_pose", (63, 69))[:63],
                    global_orient=_vector(estimate.global_orient, "global_orient", (3,)),
                    pelvis_cam=transl + rest_pelvis(body_model, betas), transl=transl)


def object_pose_in_human_frame(R_cam: np.ndarray, t_cam: np.ndarray, body_init: BodyInit
                               ) -> HumanFramePose:
    """Move an object pose from the camera to the human frame: with ``p_cam = R_go p_h +
    pelvis_cam``, ``R_h = R_go^T R_cam`` and ``t_h = R_go^T (t_cam - pelvis_cam)``
    (R_cam (3, 3), t_cam (3,); valid at any object scale)."""
    R_go = Rotation.from_rotvec(np.asarray(body_init.global_orient, dtype=np.float64)).as_matrix()
    R_h = R_go.T @ np.asarray(R_cam, dtype=np.float64)
    t_h = R_go.T @ (np.asarray(t_cam, dtype=np.float64) - body_init.pelvis_cam)
    return HumanFramePose(R_h, t_h)


@dataclass
class InitBatch:
    """Initial bodies and objects of B images, stacked, with what each needed to fall back on."""

    image_ids: list[str]
    betas: np.ndarray
    """(B, num_betas)."""
    body_pose: np.ndarray
    """(B, 63)."""
    global_orient: np.ndarray
    """(B, 3) body -> camera."""
    transl: np.ndarray
    """(B, 3) the body model's ``transl``."""
    pelvis_cam: np.ndarray
    """(B, 3) pelvis in the camera frame."""
    object_rotation_cam: np.ndarray
    """(B, 3, 3) template -> camera."""
    object_translation_cam: np.ndarray
    """(B, 3) camera frame."""
    object_rotation: np.ndarray
    """(B, 3, 3) template -> human frame."""
    object_translation: np.ndarray
    """(B, 3) human frame."""
    object_scale: np.ndarray
    """(B,) template scale."""
    object_success: np.ndarray
    """(B,) bool, False where the object was placed without a pose solution."""
    object_method: list[str] = field(default_factory=list)
    body_source: list[str] = field(default_factory=list)
    """"estimate" or "smplify" per image."""
    notes: list[list[str]] = field(default_factory=list)
    """Per image, the fallbacks used and why."""

    def __len__(self) -> int:
        return len(self.image_ids)

    def body(self, index: int) -> BodyInit:
        """The body of image ``index``."""
        return BodyInit(self.betas[index], self.body_pose[index], self.global_orient[index],
                        self.pelvis_cam[index], self.transl[index])


def _fit_missing_bodies(samples: list[Any], missing: list[int], body_model: BodyModel,
                        config: SmplifyConfig | None) -> dict[int, BodyInit]:
    """SMPLify bodies of the samples ``missing`` an estimate, from their SMPL-joint keypoints
    (their COCO keypoints when the former are all missing)."""
    from hoirecon.fitting.smplify import coco_to_smpl, fit_smplify  # smplify builds on BodyInit

    kps, confs = [], []
    for i in missing:
        kp, conf = samples[i].keypoints_2d[:22], samples[i].keypoint_conf[:22]
        if not np.any(conf > 0):
            kp, conf = (a[0] for a in coco_to_smpl(samples[i].coco_keypoints[None]))
        kps.append(kp)
        confs.append(conf)
    K = np.stack([samples[i].intrinsics for i in missing])
    fit = fit_smplify(np.stack(kps), np.stack(confs), K, body_model, config)
    return {i: fit.body(j) for j, i in enumerate(missing)}


def _init_bodies(samples: list[Any], body_model: BodyModel, config: SmplifyConfig | None,
                 notes: list[list[str]]) -> tuple[list[BodyInit], list[str]]:
    """Bodies from the samples' estimates, SMPLify where there is none (or it is malformed)."""
    bodies: dict[int, BodyInit] = {}
    for i, sample in enumerate(samples):
        if sample.estimate is None:
            continue
        try:
            bodies[i] = init_body_from_estimate(sample.estimate, body_model)
        except ValueError as err:
            notes[i].append(f"body estimate unusable ({err})")
    missing = [i for i in range(len(samples)) if i not in bodies]
    for i in missing:
        notes[i].append("no body estimate: SMPLify fit to the 2D keypoints")
    if missing:
        bodies.update(_fit_missing_bodies(samples, missing, body_model, config))
    sources = ["smplify" if i in missing else "estimate" for i in range(len(samples))]
    return [bodies[i] for i in range(len(samples))], sources


def _init_object(sample: Any, template: ObjectTemplate, body: BodyInit, scale: float,
                 notes: list[str]) -> ObjectInit:
    """Object pose of one sample: correspondences, else keypoints, else a placement."""
    est, K, center = sample.estimate, sample.intrinsics, body.pelvis_cam
    try:
        if est is not None and np.count_nonzero(np.asarray(est.corr_weight) > 0) >= 4:
            result = init_object_pnp(est.corr_points, est.corr_pixels, est.corr_weight, K,
                                     scale=scale, fallback_center=center)
            if result.success:
                return result
            notes.append(f"correspondences: {result.note}")
        kp, conf = ((est.object_keypoints_2d, est.object_keypoint_conf) if est is not None
                    else (sample.keypoints_2d[22:], sample.keypoint_conf[22:]))
        result = init_object_from_keypoints(kp, conf, template, K, scale=scale, fallback_center=center)
    except ValueError as err:
        # no pixels: the placement puts the object at `center` and never reads K
        result = placement(np.zeros((0, 2)), np.eye(3), center, f"object input unusable ({err})", 0)
    if result.note:
        notes.append(result.note)
    return result


def init_batch(samples: Sequence[Any], template: ObjectTemplate, body_model: BodyModel, *,
               scale: float = 1.0, smplify_config: SmplifyConfig | None = None) -> InitBatch:
    """Initialise the bodies and objects of B samples of one category (``Sample`` objects).

    Bodies come from each sample's estimate (SMPLify on its keypoints when it has none);
    objects from its correspondences by RANSAC PnP, else from its object keypoints, else they
    are placed at the body's depth. The template starts at ``scale`` (1 = its metric size, the
    paper's empirical category size). Nothing raises for one bad sample: its fallbacks are in
    ``notes`` and ``object_success``.
    """
    samples = list(samples)
    if not samples:
        raise ValueError("samples: expected at least one sample")
    notes: list[list[str]] = [[] for _ in samples]
    bodies, sources = _init_bodies(samples, body_model, smplify_config, notes)
    objects = [_init_object(s, template, b, scale, n) for s, b, n in zip(samples, bodies, notes)]
    human = [object_pose_in_human_frame(o.R_cam, o.t_cam, b) for o, b in zip(objects, bodies)]
    stack = lambda items, name: np.stack([getattr(x, name) for x in items])  # noqa: E731
    return InitBatch(
        image_ids=[str(s.image_id) for s in samples], betas=stack(bodies, "betas"),
        body_pose=stack(bodies, "body_pose"), global_orient=stack(bodies, "global_orient"),
        transl=stack(bodies, "transl"), pelvis_cam=stack(bodies, "pelvis_cam"),
        object_rotation_cam=stack(objects, "R_cam"), object_translation_cam=stack(objects, "t_cam"),
        object_rotation=stack(human, "rotation"), object_translation=stack(human, "translation"),
        object_scale=np.full(len(samples), float(scale)),
        object_success=np.array([o.success for o in objects]),
        object_method=[o.method for o in objects], body_source=sources, notes=notes)


# ---- estimator files -------------------------------------------------------------------------
BODY_FILE_KEYS: dict[str, tuple[str, ...]] = {
    "betas": ("betas", "shape", "pred_betas"),
    "body_pose": ("body_pose", "pred_body_pose"),
    "pose": ("pose", "poses", "thetas", "full_pose"),
    "global_orient": ("global_orient", "root_orient", "pred_global_orient"),
    "transl": ("transl", "trans", "cam_t", "pred_cam_t"),
}
"""Accepted key spellings of a body estimate file (first match wins)."""


def _load_mapping(path: Path) -> dict[str, Any]:
    """The key -> value contents of an ``.npz`` or ``.pkl`` file, one level of nested dicts
    (e.g. HMR 2.0's ``pred_smpl_params``) merged into the top level."""
    from hoirecon.body.legacy_pickle import load_legacy_pickle  # numpy-only unpickler

    if path.suffix not in (".npz", ".pkl"):
        raise ValueError(f"{path}: expected a .npz or .pkl file")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                data: Any = {k: npz[k] for k in npz.files}
        else:
            data = load_legacy_pickle(path)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path}: unreadable ({type(err).__name__}: {err})") from err
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of parameter names, got {type(data).__name__}")
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for value in data.values():
        if isinstance(value, dict):
            flat.update({k: v for k, v in value.items() if k not in flat})
    return flat


def _lookup(data: dict[str, Any], name: str) -> Any:
    """The value of the first accepted spelling of ``name`` in ``data``, or None."""
    return next((data[k] for k in BODY_FILE_KEYS[name] if k in data), None)


def _per_person(value: Any, path: Path, name: str, sizes: tuple[int, ...], index: int) -> np.ndarray:
    """Flat axis-angle (or shape) vector of person ``index`` (rotation matrices (..., 3, 3)
    are converted); the person axis is optional when there is one person."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: key {name!r} is not numeric ({err})") from err
    if arr.ndim >= 2 and arr.shape[-2:] == (3, 3) and arr.size % 9 == 0:
        mats = arr.reshape(-1, 3, 3)
        if np.allclose(mats @ mats.transpose(0, 2, 1), np.eye(3), atol=1e-4):
            arr = Rotation.from_matrix(mats).as_rotvec().reshape(arr.shape[:-2] + (3,))
    single = arr.ndim == 1 if not sizes else arr.size in sizes
    if not single:
        if arr.ndim < 2 or index >= arr.shape[0]:
            raise ValueError(f"{path}: key {name!r} has shape {arr.shape}; expected "
                             f"{' or '.join(map(str, sizes)) or 'a vector'} values per person")
        arr = arr[index]
    if (sizes and arr.size not in sizes) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{path}: key {name!r} has a bad value of shape {arr.shape}")
    return arr.ravel()


def read_body_estimate(path: str | Path, body_model: BodyModel, index: int = 0) -> BodyInit:
    """Read SMPL parameters written by an HMR-style estimator (``.npz`` or ``.pkl``).

    Accepted keys (see ``BODY_FILE_KEYS``): ``betas`` (any length; cut or padded to the model's),
    ``body_pose`` (63/69 axis-angle or (21|23, 3, 3) matrices) or else ``pose`` (72 SMPL / 156
    SMPL-H / 165 SMPL-X axis-angle: global orientation then body joints), ``global_orient``
    ((3,) or (1, 3, 3); else taken from ``pose``), and ``transl`` or ``cam_t`` (3,) (HMR 2.0's
    ``pred_cam_t`` is added to the unposed-translation SMPL output, so it is ``transl``).
    A leading person axis is allowed; ``index`` picks the person. Problems raise ValueError
    naming the file and key.
    """
    path = Path(path)
    data = _load_mapping(path)
    get = lambda name: _lookup(data, name)  # noqa: E731
    missing = [n for n in ("betas", "transl") if get(n) is None]
    if get("body_pose") is None and get("pose") is None:
        missing.append("body_pose or pose")
    if get("global_orient") is None and get("pose") is None:
        missing.append("global_orient or pose")
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(data)}")
    full = None if get("pose") is None else _per_person(get("pose"), path, "pose", (72, 156, 165), index)
    body_pose = (full[3:66] if get("body_pose") is None
                 else _per_person(get("body_pose"), path, "body_pose", (63, 69), index)[:63])
    orient = (full[:3] if get("global_orient") is None
              else _per_person(get("global_orient"), path, "global_orient", (3,), index))
    fields = {"betas": _per_person(get("betas"), path, "betas", (), index), "body_pose": body_pose,
              "global_orient": orient, "transl": _per_person(get("transl"), path, "transl", (3,), index)}
    return init_body_from_estimate(_Fields(**fields), body_model)


@dataclass(frozen=True)
class _Fields:
    betas: np.ndarray
    body_pose: np.ndarray
    global_orient: np.ndarray
    transl: np.ndarray


def _coco_entries(data: Any, path: Path) -> list[dict[str, Any]]:
    """Person records of a COCO results list, a COCO ``annotations`` dict or an mmpose 1.x
    ``instance_info`` prediction file (whose ``frame_id`` becomes ``image_id``)."""
    if isinstance(data, dict) and "annotations" in data:
        data = data["annotations"]
    elif isinstance(data, dict) and "instance_info" in data:
        data = [dict(inst, image_id=frame.get("frame_id")) for frame in data["instance_info"]
                for inst in frame.get("instances", [])]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ValueError(f"{path}: expected a list of person records with 'keypoints'")
    return data


def _coco_person(entry: dict[str, Any], path: Path, i: int) -> tuple[np.ndarray, float]:
    """Keypoints (17, 3) and person score of record ``i``."""
    try:
        kp = np.asarray(entry["keypoints"], dtype=np.float64)
        if kp.size == 34 or kp.shape == (17, 2):
            kp = np.c_[kp.reshape(17, 2), np.asarray(entry["keypoint_scores"], dtype=np.float64).ravel()]
        kp = kp.reshape(17, 3)
    except KeyError as err:
        raise ValueError(f"{path}: record {i} lacks key {err.args[0]!r}") from err
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: record {i} key 'keypoints' is not 17 x (x, y, score)") from err
    score = entry.get("score", entry.get("bbox_score", kp[:, 2].mean()))
    return kp, float(np.mean(score))


def read_coco_keypoints(path: str | Path, image_id: Any = None) -> np.ndarray:
    """The highest-scoring person's COCO-17 keypoints (17, 3) of (x, y, score) from a JSON file
    written by mmpose/ViTPose (COCO results list ``[{"keypoints": [x, y, s] * 17, "score",
    "image_id", ...}]``, a dict with ``annotations``, or mmpose 1.x ``instance_info``), among the
    records of ``image_id`` when given. Problems raise ValueError naming the file and key."""
    import json

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable JSON file ({err})") from err
    entries = [(i, e) for i, e in enumerate(_coco_entries(data, path))
               if image_id is None or e.get("image_id") == image_id]
    if not entries:
        raise ValueError(f"{path}: no person record" + (f" for image_id {image_id!r}" if image_id is not None else ""))
    people = [_coco_person(e, path, i) for i, e in entries]
    keypoints = max(people, key=lambda p: p[1])[0]
    if not np.all(np.isfinite(keypoints)):
        raise ValueError(f"{path}: key 'keypoints' holds NaN or infinite values")
    return keypoints
