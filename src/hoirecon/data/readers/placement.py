"""Placing a body estimate in an image's camera, and the 22-joint layout it implies.

A reader derives an image's camera in the human frame (``cam_rotation``, ``cam_center``) and
the 22-joint rows of ``keypoints_2d`` from the body ESTIMATE, never from a ground-truth fit.
That needs the estimated pelvis in the camera, which estimator files give in different ways.
In order of preference (the same conversions as :mod:`hoirecon.fitting.estimator_files`, which
the data layer cannot import):

1. ``transl`` in the image's camera: ``pelvis = transl + J0``, with ``J0`` the shaped body's rest
   pelvis. A ``transl`` solved for the estimator's own virtual camera (``transl_camera``
   fx', fy', cx', cy') keeps the pelvis pixel, and its depth scales by f / f'
   (f = (fx + fy) / 2), which keeps the body's image size.
2. A weak-perspective camera (s, tx, ty) of a square crop (cx, cy, size), by the standard HMR
   conversion: tz = 2 f / (s size), then tx + (cx - px) tz / fx and ty + (cy - py) tz / fy give
   the model's ``transl``; a missing crop is the whole image padded to a square.
3. 2D body keypoints of a detector (22-joint rows, confidence 0 = missing): with the estimated
   joints J_j relative to the pelvis, in camera axes, each keypoint at normalised (x, y) gives
   p_x - x p_z = x J_z - J_x and p_y - y p_z = y J_z - J_y, solved for the pelvis p by
   confidence-weighted least squares (this needs the joints, hence a body model).

Everything is numpy; problems raise ``ValueError`` (readers report and skip the image).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.data.readers.assemble import BodyModelLike, body_joints, camera_in_human_frame, project_front
from hoirecon.data.readers.body_estimates import BodyEstimate, read_body_estimate
from hoirecon.data.readers.common import SampleError
from hoirecon.data.readers.records import BodyParams, rotmat

MIN_KEYPOINTS = 2
"""Fewest detected joints (2 equations each) that fix the 3 unknowns of the pelvis."""


@dataclass(frozen=True)
class PlacedBody:
    """A body estimate placed in the image's camera: ``p_cam = rotation @ X + pelvis_cam``."""

    rotation: np.ndarray
    """(3, 3) human frame -> camera (the estimate's global orientation)."""
    pelvis_cam: np.ndarray
    """(3,) estimated pelvis in the camera."""
    transl: np.ndarray
    """(3,) the body model's ``transl`` (``pelvis_cam - J0``)."""
    method: str
    """How the pelvis was found: ``transl``, ``virtual-camera``, ``weak-camera`` or ``keypoints``."""


def check_intrinsics(K: np.ndarray) -> np.ndarray:
    """Intrinsics (3, 3) with positive focal lengths, else ValueError."""
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"K (intrinsics): expected finite (3, 3) with positive focal lengths, got shape {K.shape}")
    return K


def _focal(K: np.ndarray) -> float:
    return float(K[0, 0] + K[1, 1]) / 2


def pelvis_in_camera(pelvis: np.ndarray, source_K: np.ndarray, K: np.ndarray) -> np.ndarray:
    """A pelvis (3,) placed for the camera ``source_K`` (3, 3), moved to the camera ``K`` (3, 3):
    same pixel, depth scaled by the focal lengths' ratio."""
    source_K, K = check_intrinsics(source_K), check_intrinsics(K)
    if pelvis[2] <= 0:
        raise ValueError(f"the pelvis is behind the estimator's camera (z = {pelvis[2]:.3g})")
    pixel = source_K @ (pelvis / pelvis[2])
    return np.linalg.solve(K, pixel) * pelvis[2] * _focal(K) / _focal(source_K)


def transl_from_weak_camera(weak_camera: np.ndarray, crop: np.ndarray | None, K: np.ndarray,
                            image_size: tuple[int, int] | None) -> np.ndarray:
    """The model's ``transl`` (3,) of a weak-perspective camera (s, tx, ty) (3,) of the square
    ``crop`` (cx, cy, size) (None: the image (width, height) padded to a square, which needs
    ``image_size``) in K (3, 3)."""
    K = check_intrinsics(K)
    if crop is None:
        if image_size is None:
            raise ValueError("image_size: needed for a weak camera of the whole image")
        width, height = image_size
        crop = np.array([width / 2, height / 2, max(width, height)], dtype=np.float64)
    s, tx, ty = np.asarray(weak_camera, dtype=np.float64)
    cx, cy, size = np.asarray(crop, dtype=np.float64)
    if s <= 0 or size <= 0:
        raise ValueError(f"weak camera: scale and crop size must be positive, got s={s:.3g}, size={size:.3g}")
    tz = 2 * _focal(K) / (s * size)
    return np.array([tx + (cx - K[0, 2]) * tz / K[0, 0], ty + (cy - K[1, 2]) * tz / K[1, 1], tz])


def pelvis_from_keypoints(joints: np.ndarray, keypoints: np.ndarray, conf: np.ndarray, K: np.ndarray) -> np.ndarray:
    """The pelvis (3,) that best projects pelvis-relative camera-axis ``joints`` (J, 3) onto
    ``keypoints`` (J, 2) pixels weighted by ``conf`` (J,) (0 = unused); see the module docstring."""
    K = check_intrinsics(K)
    used = (np.asarray(conf) > 0) & np.all(np.isfinite(keypoints), axis=1)
    if used.sum() < MIN_KEYPOINTS:
        raise ValueError(f"{int(used.sum())} detected body keypoints, at least {MIN_KEYPOINTS} needed")
    xy = (np.asarray(keypoints)[used] - K[:2, 2]) / np.diag(K)[:2]
    J, w = np.asarray(joints)[used], np.sqrt(np.asarray(conf)[used])
    rows, rhs = [], []
    for axis in (0, 1):
        a = np.zeros((len(J), 3))
        a[:, axis], a[:, 2] = 1.0, -xy[:, axis]
        rows.append(a * w[:, None])
        rhs.append((xy[:, axis] * J[:, 2] - J[:, axis]) * w)
    pelvis, *_ = np.linalg.lstsq(np.concatenate(rows), np.concatenate(rhs), rcond=None)
    if pelvis[2] <= 0:
        raise ValueError(f"the keypoints put the body behind the camera (z = {pelvis[2]:.3g})")
    return pelvis


def place_body(estimate: BodyEstimate, K: np.ndarray, image_size: tuple[int, int], rest_pelvis: np.ndarray,
               joints: np.ndarray | None = None, keypoints: np.ndarray | None = None,
               conf: np.ndarray | None = None) -> PlacedBody:
    """Place ``estimate`` in the camera K (3, 3) of an image of ``image_size`` (width, height).

    Args:
        rest_pelvis: (3,) the estimated body's rest pelvis J0 (links ``transl`` and the pelvis).
        joints: (22, 3) the estimated body's joints in its human frame (pelvis at the origin,
            zero global orientation); needed only to place from keypoints.
        keypoints / conf: (22, 2) / (22,) detected 22-joint rows, for the keypoint placement.

    Raises:
        ValueError: when none of the module docstring's ways applies.
    """
    rotation = rotmat(estimate.global_orient)
    if estimate.transl is not None and estimate.transl_camera is None:
        transl, method = np.asarray(estimate.transl, dtype=np.float64), "transl"
    elif estimate.transl is not None:
        fx, fy, cx, cy = estimate.transl_camera
        source = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        transl = pelvis_in_camera(np.asarray(estimate.transl) + rest_pelvis, source, K) - rest_pelvis
        method = "virtual-camera"
    elif estimate.weak_camera is not None:
        transl, method = transl_from_weak_camera(estimate.weak_camera, estimate.crop, K, image_size), "weak-camera"
    elif joints is None or keypoints is None or conf is None:
        raise ValueError(f"the {estimate.source} estimate has no translation or camera; placing it from the "
                         "2D keypoints needs its joints (pass a body model)")
    else:
        pelvis = pelvis_from_keypoints(np.asarray(joints) @ rotation.T, keypoints, conf, K)
        return PlacedBody(rotation, pelvis, pelvis - rest_pelvis, "keypoints")
    return PlacedBody(rotation, transl + rest_pelvis, transl, method)


def body_layout(joints: np.ndarray, body: PlacedBody, K: np.ndarray, detected_conf: np.ndarray,
                joint_conf: float) -> tuple[np.ndarray, np.ndarray]:
    """The 22-joint rows of ``keypoints_2d`` from an estimated body: pixels (22, 2) of its joints
    (22, 3) (human frame) seen by its placed camera, and confidences (22,): the detector's
    ``detected_conf`` (22,) where the joint has a detected counterpart (value >= 0, -1 where it
    has none), ``joint_conf`` elsewhere, 0 for a joint behind the camera."""
    pixels, front = project_front(np.asarray(joints) @ body.rotation.T + body.pelvis_cam, K)
    detected = np.asarray(detected_conf, dtype=np.float64)
    conf = np.where(detected >= 0, detected, joint_conf)
    return pixels, np.where(front, conf, 0.0)


@dataclass(frozen=True)
class EstimatedBody:
    """A body estimate read from a file and placed in the image's camera."""

    estimate: BodyEstimate
    placed: PlacedBody
    joints: np.ndarray | None
    """(22, 3) its joints in its human frame, when a body model gave them."""
    path: Path
    """The estimator's file."""

    def params(self) -> BodyParams:
        """The placed body as a record (SMPL parameters in this camera)."""
        e = self.estimate
        return BodyParams("smpl", "neutral", e.betas, e.body_pose, e.global_orient, self.placed.pelvis_cam)

    def camera(self) -> tuple[np.ndarray, np.ndarray]:
        """(cam_rotation (3, 3), cam_center (3,)) of the image in the ESTIMATED body's human frame."""
        return camera_in_human_frame(self.placed.rotation, self.placed.pelvis_cam)


def estimate_body(path: Path, model: BodyModelLike | None, K: np.ndarray, image_size: tuple[int, int],
                  rest_pelvis: np.ndarray, keypoints: np.ndarray, conf: np.ndarray) -> EstimatedBody:
    """Read a body estimate file and place it (see :func:`place_body`).

    ``model`` gives the estimate's joints and rest pelvis; without one ``rest_pelvis`` (3,)
    stands in for the latter and the keypoint placement is unavailable. ``keypoints`` (22, 2)
    and ``conf`` (22,) are the detected 22-joint rows. Raises SampleError naming the file.
    """
    estimate = read_body_estimate(path)
    joints = None
    if model is not None:
        shaped = body_joints(model, estimate.betas, estimate.body_pose)
        joints, rest_pelvis = shaped.joints, shaped.rest_pelvis
    try:
        placed = place_body(estimate, K, image_size, rest_pelvis, joints, keypoints, conf)
    except ValueError as err:
        raise SampleError(path, f"cannot place the body estimate in the camera: {err}") from err
    return EstimatedBody(estimate, placed, joints, path)

