"""What the optimiser changes (``FitState``) and what it fits to (``FitBatch``), for B images at once."""

from __future__ import annotations

from dataclasses import dataclass, fields

import roma
import torch
from torch import Tensor, nn

from hoirecon.geometry import rot6d_to_rotmat, rotmat_to_rot6d


@dataclass
class FitBatch:
    """Observations and initial estimates of B images, as float tensors (pixels, metres)."""

    keypoints: Tensor
    """(B, 22+k, 2) observed 2D keypoints: 22 SMPL joints then the object keypoints (the object
    part is the object reprojection target; the prior reads the whole layout)."""
    keypoint_conf: Tensor
    """(B, 22+k) their confidences."""
    coco_keypoints: Tensor
    """(B, 17, 2) the body detector's COCO-17 keypoints, pixels: the target of L_J."""
    coco_conf: Tensor
    """(B, 17) their confidences (0 = not detected)."""
    intrinsics: Tensor
    """(B, 3, 3) camera intrinsics."""
    image_size: Tensor
    """(B,) the larger image side, pixels (residuals are measured relative to it)."""
    corr_points: Tensor
    """(B, C, 3) template points of object 2D-3D correspondences."""
    corr_pixels: Tensor
    """(B, C, 2) their pixels."""
    corr_weight: Tensor
    """(B, C) their weights (0 = padding)."""
    init_betas: Tensor
    """(B, 10) initial shape."""
    init_body_pose: Tensor
    """(B, 63) initial body pose."""
    init_orient: Tensor
    """(B, 3) initial global orientation (axis-angle, human -> camera)."""
    init_pelvis: Tensor
    """(B, 3) initial pelvis position in the camera frame."""
    init_obj_rotation: Tensor
    """(B, 3, 3) initial object rotation in the human frame."""
    init_obj_translation: Tensor
    """(B, 3) initial object translation in the human frame."""
    contact_body_ids: Tensor
    """(B, Nh) body vertex ids of the contact candidates (padded)."""
    contact_body_weight: Tensor
    """(B, Nh) their weights (0 = padding)."""
    contact_object_ids: Tensor
    """(B, No) object vertex ids of the contact candidates (padded)."""
    contact_object_weight: Tensor
    """(B, No) their weights (0 = padding)."""

    @property
    def size(self) -> int:
        """Number of images B."""
        return self.keypoints.shape[0]

    def select(self, index: Tensor) -> FitBatch:
        """The sub-batch of the given image indices."""
        return FitBatch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


class FitState(nn.Module):
    """Free parameters of B fits: body (camera frame), object (human frame), virtual cameras."""

    def __init__(self, batch: FitBatch, virtual_cameras: Tensor) -> None:
        super().__init__()
        self.betas = nn.Parameter(batch.init_betas.clone())
        self.body_pose = nn.Parameter(batch.init_body_pose.clone())
        self.orient = nn.Parameter(batch.init_orient.clone())
        self.pelvis = nn.Parameter(batch.init_pelvis.clone())
        self.obj_rot6d = nn.Parameter(rotmat_to_rot6d(batch.init_obj_rotation).clone())
        self.obj_translation = nn.Parameter(batch.init_obj_translation.clone())
        self.obj_log_scale = nn.Parameter(torch.zeros(batch.size, dtype=batch.keypoints.dtype,
                                                      device=batch.keypoints.device))
        self.virtual_cameras = nn.Parameter(virtual_cameras.clone())
        """(B, M, 3) virtual camera centres in the human frame."""

    def body_parameters(self) -> list[nn.Parameter]:
        """Parameters frozen in the first (object-only) phase."""
        return [self.betas, self.body_pose, self.orient, self.pelvis]

    def object_parameters(self) -> list[nn.Parameter]:
        """Object pose and scale plus the virtual cameras (free in both phases)."""
        return [self.obj_rot6d, self.obj_translation, self.obj_log_scale, self.virtual_cameras]

    def obj_rotation(self) -> Tensor:
        """(B, 3, 3) object rotation in the human frame."""
        return rot6d_to_rotmat(self.obj_rot6d)

    def obj_scale(self) -> Tensor:
        """(B,) object scale."""
        return self.obj_log_scale.exp()

    def orient_matrix(self) -> Tensor:
        """(B, 3, 3) rotation from the human frame to the camera frame."""
        return roma.rotvec_to_rotmat(self.orient)

    def to_camera(self, points: Tensor) -> Tensor:
        """Map human-frame points (B, P, 3) into the camera frame (B, P, 3)."""
        return points @ self.orient_matrix().transpose(1, 2) + self.pelvis[:, None]
