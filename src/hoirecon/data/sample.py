"""Typed per-image samples: observations, ground truth and off-the-shelf estimates.

Conventions (also in ``docs/data-format.md``): metres and pixels; cameras are OpenCV pinholes
(x right, y down, z forward); the *human frame* has the pelvis at the origin and the body's
global orientation removed (SMPL axes: y up, z to the body's front, x to its left). A
human-frame point ``X`` projects to pixels as ``intrinsics @ (cam_rotation.T @ (X - cam_center))``.
Keypoint rows are the 22 SMPL body joints followed by the category's ``k`` object keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.geometry import RigidTransform, project_points

NUM_BODY_JOINTS = 22
COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)


@dataclass(frozen=True)
class GroundTruth:
    """Known 3D truth of one image (synthetic data or a dataset with fits).

    Body parameters refer to the dataset's body model (manifest ``body_model``) and are in the
    CAMERA frame (``global_orient``, ``transl``); joints and the object pose are in the human frame.
    """

    betas: np.ndarray
    """(10,) shape coefficients."""
    body_pose: np.ndarray
    """(63,) axis-angle of the 21 body joints after the pelvis."""
    global_orient: np.ndarray
    """(3,) axis-angle, body to camera."""
    transl: np.ndarray
    """(3,) body translation in the camera frame (the model's ``transl`` argument)."""
    joints_3d: np.ndarray
    """(22, 3) SMPL body joints in the human frame."""
    object_rotation: np.ndarray
    """(3, 3) object template frame -> human frame."""
    object_translation: np.ndarray
    """(3,) object origin in the human frame."""
    object_scale: float
    """Scale of the template (1 = the template's metric size)."""
    object_keypoints_3d: np.ndarray
    """(k, 3) object keypoints in the human frame."""
    cam_rotation: np.ndarray | None = None
    """(3, 3) the TRUE camera axes -> human frame, when the evidence camera (``Sample.cam_rotation``,
    derived from a body estimate) differs from it; None means the sample's camera is the true one."""
    cam_center: np.ndarray | None = None
    """(3,) the TRUE camera centre in the human frame (see ``cam_rotation``)."""
    instance_id: str | None = None
    """Which 3D interaction the image shows: images with the same id are views (and frames) of one
    interaction instance, the true multi-view groups; None when the dataset does not say."""


@dataclass(frozen=True)
class Estimate:
    """Outputs of off-the-shelf estimators used to initialise fitting (all in pixels / camera frame)."""

    betas: np.ndarray
    """(10,) estimated shape."""
    body_pose: np.ndarray
    """(63,) estimated body pose, axis-angle."""
    global_orient: np.ndarray
    """(3,) estimated global orientation, body to camera."""
    transl: np.ndarray
    """(3,) estimated translation in the camera frame."""
    object_keypoints_2d: np.ndarray
    """(k, 2) detected object keypoints, pixels."""
    object_keypoint_conf: np.ndarray
    """(k,) their confidences in [0, 1]."""
    corr_points: np.ndarray
    """(C, 3) template-frame object points of the 2D-3D correspondences."""
    corr_pixels: np.ndarray
    """(C, 2) their detected pixels (may include outliers)."""
    corr_weight: np.ndarray
    """(C,) confidence; 0 marks padding."""


@dataclass(frozen=True)
class Sample:
    """One image showing one person interacting with one object."""

    image_id: str
    category: str
    split: str
    image_path: Path | None
    human_mask_path: Path | None
    object_mask_path: Path | None
    image_size: tuple[int, int]
    """(width, height) in pixels."""
    keypoints_2d: np.ndarray
    """(22+k, 2) observed 2D keypoints, pixels."""
    keypoint_conf: np.ndarray
    """(22+k,) confidences in [0, 1] (0 = missing)."""
    keypoint_visible: np.ndarray
    """(22+k,) bool, whether the keypoint is unoccluded."""
    coco_keypoints: np.ndarray
    """(17, 3) COCO body keypoints (u, v, confidence)."""
    intrinsics: np.ndarray
    """(3, 3) pinhole intrinsics K."""
    cam_rotation: np.ndarray
    """(3, 3) camera axes -> human frame (the paper's R_cam)."""
    cam_center: np.ndarray
    """(3,) camera centre in the human frame (the paper's t_cam)."""
    gt: GroundTruth | None = None
    estimate: Estimate | None = None
    video_id: str | None = None
    """The video the image is a frame of (evidence: a collection knows its files' sources); None for stills."""
    frame_index: int | None = None
    """The frame's index in that video (None for stills)."""

    @property
    def num_object_keypoints(self) -> int:
        """Number k of object keypoints."""
        return int(self.keypoints_2d.shape[0] - NUM_BODY_JOINTS)

    @property
    def focal(self) -> np.ndarray:
        """(2,) focal lengths (fx, fy) in pixels."""
        return np.array([self.intrinsics[0, 0], self.intrinsics[1, 1]])

    @property
    def principal_point(self) -> np.ndarray:
        """(2,) principal point (cx, cy) in pixels."""
        return np.array([self.intrinsics[0, 2], self.intrinsics[1, 2]])

    def human_to_camera(self, points: np.ndarray) -> np.ndarray:
        """Map human-frame points (..., 3) into this image's camera frame (..., 3)."""
        return (points - self.cam_center) @ self.cam_rotation

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project human-frame points (..., P, 3) to pixels (..., P, 2); points at or behind the
        camera are in no image and get ``+inf`` pixels."""
        return project_points(self.human_to_camera(points), self.intrinsics, behind="inf")

    def object_pose_camera(self) -> RigidTransform:
        """Ground-truth object pose in the TRUE camera: template (scaled by ``gt.object_scale``)
        -> camera, ``rotation`` (3, 3) and ``translation`` (3,), in the arrays' common dtype."""
        gt = self.gt
        if gt is None:
            raise ValueError(f"sample {self.image_id!r} has no ground truth")
        cam_rotation = self.cam_rotation if gt.cam_rotation is None else gt.cam_rotation
        cam_center = self.cam_center if gt.cam_center is None else gt.cam_center
        dtype = np.result_type(cam_rotation, cam_center, gt.object_rotation, gt.object_translation)
        camera = RigidTransform(rotation=np.asarray(cam_rotation, dtype), translation=np.asarray(cam_center, dtype))
        obj = RigidTransform(rotation=np.asarray(gt.object_rotation, dtype),
                             translation=np.asarray(gt.object_translation, dtype))
        return camera.inverse().compose(obj)
