"""A body estimate read from an estimator's file -> the :class:`BodyInit` a fit starts from.

The files are read by :mod:`hoirecon.data.readers.body_estimates` (bodies) and
:mod:`hoirecon.data.readers.person_keypoints` (2D keypoints); this module only places the
body in the image's camera (intrinsics K, principal point (px, py)). The translation comes
from, in order of preference:

1. The file's ``transl``. When it was solved for the estimator's own virtual camera
   (``transl_camera`` fx', fy', cx', cy'), the pelvis keeps its pixel and its depth scales by
   f / f' (f = (fx + fy) / 2), which keeps the body's image size.
2. The weak-perspective camera (s, tx, ty) of a square crop (cx, cy, size), by the standard HMR
   conversion: tz = 2 f / (s size), then tx + (cx - px) tz / fx and ty + (cy - py) tz / fy. A
   missing crop is the whole image padded to a square (centre = image centre).
3. The COCO-17 keypoints: with the posed joints J_j relative to the pelvis and the pelvis p in
   the camera, each keypoint at normalised (x, y) gives the linear equations
   p_x - x p_z = x J_z - J_x and p_y - y p_z = y J_z - J_y, solved by confidence-weighted
   least squares.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from hoirecon.body import BodyModel
from hoirecon.data.readers.body_estimates import BodyEstimate
from hoirecon.data.readers.person_keypoints import PersonKeypoints, to_coco17
from hoirecon.data.readers.placement import (
    check_intrinsics,
    pelvis_from_keypoints,
    pelvis_in_camera,
    transl_from_weak_camera,
)
from hoirecon.fitting.body_init import BodyInit, init_body_from_estimate, rest_pelvis
from hoirecon.fitting.smplify import JointPoser, coco_to_smpl
from hoirecon.geometry import axis_angle_to_rotmat


def posed_joints(estimate: BodyEstimate, body_model: BodyModel) -> np.ndarray:
    """The 22 SMPL body joints (22, 3) of ``estimate`` in camera axes, relative to the pelvis."""
    poser = JointPoser(body_model)
    betas = torch.zeros(1, poser.num_betas, dtype=torch.float64)
    count = min(len(estimate.betas), poser.num_betas)
    betas[0, :count] = torch.as_tensor(estimate.betas[:count])
    rotvecs = np.concatenate([estimate.global_orient, estimate.body_pose]).reshape(1, 22, 3)
    rotmats = axis_angle_to_rotmat(torch.as_tensor(rotvecs, dtype=torch.float64))
    with torch.no_grad():
        return poser.pelvis_relative(betas, rotmats)[0].numpy()


def _coco17(keypoints: PersonKeypoints | np.ndarray) -> np.ndarray:
    """COCO-17 keypoints (17, 3) of a detection record or an array."""
    if isinstance(keypoints, PersonKeypoints):
        return to_coco17(keypoints).keypoints
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape != (17, 3):
        raise ValueError(f"keypoints: expected COCO-17 (17, 3), got {keypoints.shape}")
    return keypoints


def _transl(estimate: BodyEstimate, body_model: BodyModel, K: Any, image_size: tuple[int, int] | None,
            keypoints: PersonKeypoints | np.ndarray | None) -> np.ndarray:
    """The body model's ``transl`` (3,) in the image's camera (see the module docstring)."""
    if estimate.transl is not None and estimate.transl_camera is None:
        return np.asarray(estimate.transl, dtype=np.float64)
    if K is None:
        raise ValueError("K: the image's intrinsics are needed to place this body estimate")
    K = check_intrinsics(K)
    j0 = rest_pelvis(body_model, estimate.betas)
    if estimate.transl is not None:
        fx, fy, cx, cy = estimate.transl_camera
        source_K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        return pelvis_in_camera(np.asarray(estimate.transl) + j0, check_intrinsics(source_K), K) - j0
    if estimate.weak_camera is not None:
        return transl_from_weak_camera(estimate.weak_camera, estimate.crop, K, image_size)
    if keypoints is None:
        raise ValueError(f"body estimate ({estimate.source}) has no translation or camera: "
                         "2D keypoints are needed to place it")
    smpl_kp, smpl_conf = (a[0] for a in coco_to_smpl(_coco17(keypoints)[None]))
    return pelvis_from_keypoints(posed_joints(estimate, body_model), smpl_kp, smpl_conf, K) - j0


def to_body_init(estimate: BodyEstimate, body_model: BodyModel, *, K: Any = None,
                 image_size: tuple[int, int] | None = None,
                 keypoints: PersonKeypoints | np.ndarray | None = None) -> BodyInit:
    """The fit's starting body from a file's estimate, placed in the image's camera.

    Args:
        estimate: from :func:`~hoirecon.data.readers.body_estimates.read_body_estimate`.
        body_model: the body model the fit uses (its rest pelvis links ``transl`` and pelvis).
        K: (3, 3) the image's intrinsics; needed unless ``estimate.transl`` is already in them.
        image_size: (width, height) pixels; needed for a weak camera without a crop.
        keypoints: the person's 2D keypoints (a record, or COCO-17 (17, 3)), used when the
            estimate has neither a translation nor a weak camera.

    Raises:
        ValueError: when the inputs cannot place the body (see the module docstring).
    """
    transl = _transl(estimate, body_model, K, image_size, keypoints)
    return init_body_from_estimate(replace(estimate, transl=transl), body_model)
