"""BEHAVE's fits (``person/fit02``, ``<object>/fit01``) as ground truth seen by one camera.

Evaluation only: nothing here feeds an evidence column. Fits are in the world frame of camera
k1; a camera k sees the world as ``p_k = R_k^T (p_world - t_k)``. The true human frame needs
the pelvis, ``trans + J_pelvis(betas)``: exact with a body model, else the approximation
:data:`APPROX_REST_PELVIS` (or the caller's rest pelvis), and then there is no ``GroundTruth``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hoirecon.data.readers import assemble
from hoirecon.data.readers.assemble import BodyJoints, BodyModelLike, body_joints
from hoirecon.data.readers.behave_files import KinectCamera, PersonFit, SequenceInfo, read_object_fit, read_person_fit
from hoirecon.data.readers.records import BodyParams, ObjectPose, axis_angle, rotmat
from hoirecon.data.sample import GroundTruth

APPROX_REST_PELVIS = np.array([0.0, -0.23, 0.03])
"""Approximate rest pelvis of a mean-shape SMPL / SMPL-H body in the model frame (metres).

Used only without a body model; SMPL-family templates put the pelvis roughly this far below
and in front of the model origin, and shape moves it by a few centimetres more."""


@dataclass(frozen=True)
class FrameFits:
    """The world-frame fits of one frame, with the resolved pelvis."""

    person: PersonFit
    object_world: ObjectPose
    pelvis_world: np.ndarray
    """(3,) pelvis in the world (exact with a body model)."""
    joints: BodyJoints | None
    """Human-frame joints, with a body model."""


@dataclass(frozen=True)
class ViewTruth:
    """The fits as one camera sees them."""

    body: BodyParams
    """The true body in this camera (its pelvis approximate without a body model)."""
    object_camera: ObjectPose
    """The object fit in this camera."""
    object_human: ObjectPose
    """The object fit in the true human frame."""
    gt: GroundTruth | None
    """With a body model; its ``cam_rotation`` / ``cam_center`` are the TRUE camera."""


def read_fits(frame: Path, info: SequenceInfo, model: BodyModelLike | None,
              rest_pelvis: np.ndarray | None) -> FrameFits:
    """The fits of a frame folder; raises SampleError naming a missing or broken fit file."""
    person = read_person_fit(frame)
    _, obj = read_object_fit(frame, info.object_name)
    joints = None if model is None else body_joints(model, person.betas, person.pose[3:66])
    rest = joints.rest_pelvis if joints is not None else (
        rest_pelvis if rest_pelvis is not None else APPROX_REST_PELVIS)
    return FrameFits(person, obj, person.trans + rest, joints)


def view_truth(fits: FrameFits, camera: KinectCamera, gender: str, object_keypoints: np.ndarray) -> ViewTruth:
    """The fits seen by ``camera``; ``object_keypoints`` (k, 3) are the template's."""
    pose = fits.person.pose
    rotation = camera.rotation.T @ rotmat(pose[:3])
    pelvis = camera.world_to_camera(fits.pelvis_world[None])[0]
    body = BodyParams("smplh", gender, fits.person.betas, pose[3:66], axis_angle(rotation),
                      pelvis, pose[66:111], pose[111:156])
    obj_cam = ObjectPose(camera.rotation.T @ fits.object_world.rotation,
                         camera.world_to_camera(fits.object_world.translation[None])[0])
    obj_human = obj_cam.camera_to_human(body)
    gt = None
    if fits.joints is not None:
        cam_rotation, cam_center = assemble.camera_in_human_frame(rotation, pelvis)
        gt = replace(assemble.ground_truth(body, fits.joints, obj_human, object_keypoints),
                     cam_rotation=cam_rotation, cam_center=cam_center)
    return ViewTruth(body, obj_cam, obj_human, gt)
