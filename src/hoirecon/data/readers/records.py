"""Typed side-structures the readers return next to each :class:`~hoirecon.data.sample.Sample`.

A :class:`~hoirecon.data.sample.GroundTruth` / :class:`~hoirecon.data.sample.Estimate` needs
quantities only a body model can give (joints, the model's ``transl``). The records below keep
what the files themselves give, body model or not, so nothing is lost when no model is passed:
body parameters with the pelvis position in the camera, and object poses in the camera frame
(and, when the file gives it, in the human frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hoirecon.data.readers.common import as_array
from hoirecon.data.sample import Sample
from hoirecon.geometry import axis_angle_to_rotmat, rotmat_to_axis_angle


def rotmat(axis_angle: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) of an axis-angle vector (3,), in float64."""
    return axis_angle_to_rotmat(torch.as_tensor(axis_angle, dtype=torch.float64)).numpy()


def axis_angle(rotation: np.ndarray) -> np.ndarray:
    """Axis-angle vector (3,) of a rotation matrix (3, 3), in float64."""
    return rotmat_to_axis_angle(torch.as_tensor(rotation, dtype=torch.float64)).numpy()


def nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    """The rotation closest to a nearly orthonormal (3, 3) matrix (float32 files drift a little)."""
    u, _, vt = np.linalg.svd(matrix)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def parse_rotation(value: Any, path: Path, key: str) -> np.ndarray:
    """A rotation given as a (3, 3) matrix or an axis-angle (3,) vector -> (3, 3); errors name
    the file and key."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 3:
        return rotmat(as_array(arr, (3,), path, key))
    return nearest_rotation(as_array(arr, (3, 3), path, key))


@dataclass(frozen=True)
class BodyParams:
    """SMPL-family parameters of one person as seen by one camera.

    The body's human frame (pelvis at the origin, global orientation removed) maps into the
    camera as ``p_cam = R(global_orient) @ X + pelvis_cam``. ``pelvis_cam`` is what the files
    give directly. The body model rotates the body about its rest pelvis ``J0(betas)`` and then
    adds ``transl``, so ``pelvis_cam = J0 + transl``: ``transl`` needs the shaped body's rest
    pelvis and is computed only where a body model is available.
    """

    model_type: str
    """'smplx' (WildHOI) or 'smplh' (BEHAVE)."""
    gender: str
    betas: np.ndarray
    """(10,) shape coefficients."""
    body_pose: np.ndarray
    """(63,) axis-angle of the 21 body joints after the pelvis."""
    global_orient: np.ndarray
    """(3,) axis-angle, human frame -> camera."""
    pelvis_cam: np.ndarray
    """(3,) pelvis joint in the camera frame."""
    left_hand_pose: np.ndarray | None = None
    """(45,) when the file has it."""
    right_hand_pose: np.ndarray | None = None
    """(45,) when the file has it."""

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) human frame -> camera rotation."""
        return rotmat(self.global_orient)

    def transl(self, rest_pelvis: np.ndarray) -> np.ndarray:
        """The body model's ``transl`` (3,), given the shaped body's rest pelvis (3,)."""
        return self.pelvis_cam - rest_pelvis


@dataclass(frozen=True)
class ObjectPose:
    """A posed template: ``X = scale * X_hat @ rotation.T + translation``."""

    rotation: np.ndarray
    """(3, 3) template frame -> target frame."""
    translation: np.ndarray
    """(3,) template origin in the target frame."""
    scale: float = 1.0

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Pose template points (P, 3) -> (P, 3)."""
        return self.scale * points @ self.rotation.T + self.translation

    def human_to_camera(self, body: BodyParams) -> ObjectPose:
        """This human-frame pose expressed in ``body``'s camera frame."""
        rot = body.rotation
        return ObjectPose(rot @ self.rotation, rot @ self.translation + body.pelvis_cam, self.scale)

    def camera_to_human(self, body: BodyParams) -> ObjectPose:
        """This camera-frame pose expressed in ``body``'s human frame."""
        rot = body.rotation
        return ObjectPose(rot.T @ self.rotation, rot.T @ (self.translation - body.pelvis_cam), self.scale)


@dataclass(frozen=True)
class ReaderResult:
    """One image read from a dataset: the sample plus what the files give beyond it."""

    sample: Sample
    source: Path
    """The main file the sample was built from (WildHOI: the test annotation or ``hoi_kps`` file;
    BEHAVE: the view's body estimate)."""
    sequence: str
    """WildHOI ``<video>_<hoi>`` or the BEHAVE sequence name."""
    frame: str
    """Frame id (WildHOI) or frame folder name (BEHAVE, e.g. ``t0003.000``)."""
    view: str = ""
    """Camera of a multi-view dataset (BEHAVE ``k0``..``k3``); empty otherwise."""
    body: BodyParams | None = None
    """Ground-truth (or pseudo ground-truth) body in this camera, when the dataset has one
    (evaluation only, like every record of the truth below)."""
    object_pose: ObjectPose | None = None
    """Ground-truth object pose in the human frame."""
    object_pose_camera: ObjectPose | None = None
    """Ground-truth object pose in this camera's frame."""
    est_body: BodyParams | None = None
    """Off-the-shelf body estimate placed in this camera (WildHOI SMPLer-X, BEHAVE FrankMocap or
    another estimator's file); ``sample.cam_rotation`` / ``cam_center`` are derived from it."""
    est_object_pose_camera: ObjectPose | None = None
    """Object pose from an object pose estimator, camera frame (an EPro-PnP ``pose_opt`` or a
    pose file); with ``object_evidence == "annotation"``, the annotated pose it stands in for."""
    annotated_object_pose_camera: ObjectPose | None = None
    """WildHOI's annotated object pose (``obj_RT``), camera frame: a label, never evidence unless
    ``object_evidence == "annotation"``."""
    object_evidence: str = "estimate"
    """Where the object rows of the sample come from: ``estimate`` (estimator files) or
    ``annotation`` (the dataset's object labels, an explicit reader option)."""
    evidence_files: tuple[str, ...] = ()
    """The evidence files the sample was built from (keypoints, body estimate, object)."""
    pelvis_exact: bool = True
    """False when the human frame's origin is an approximate pelvis (BEHAVE without a body model)."""
    bbox: np.ndarray | None = None
    """(4,) person box ``(x, y, w, h)`` in pixels, when the file has it."""
    object_articulation: float | None = None
    """Articulation angle (radians) of articulated objects (WildHOI bicycle front wheel)."""
