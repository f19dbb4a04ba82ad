"""Turn parsed file contents into typed samples: cameras, ground truth and estimates.

The body model is optional everywhere. It is any callable that takes ``betas (1, 10)`` and
``body_pose (1, 63)`` tensors as keywords and returns an object whose ``joints`` are
``(1, J, 3)`` with the 22 SMPL body joints first (``hoirecon.body.BodyModel`` does). With
zero global orientation and translation its joint 0 is the shaped body's rest pelvis, so one
call gives both the human-frame joints and the offset between ``pelvis_cam`` and ``transl``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from hoirecon.data.readers.records import BodyParams, ObjectPose
from hoirecon.data.sample import NUM_BODY_JOINTS, GroundTruth
from hoirecon.geometry import camera_from_human_pose, project_points

log = logging.getLogger(__name__)


class BodyModelLike(Protocol):
    """A body model: ``model(betas=..., body_pose=...)`` returns an object with ``joints``."""

    def __call__(self, *, betas: torch.Tensor, body_pose: torch.Tensor) -> Any: ...


BodyModels = BodyModelLike | Mapping[str, BodyModelLike] | None
"""One model, or one per gender ('male', 'female', 'neutral'), or none."""


@dataclass(frozen=True)
class BodyJoints:
    """Joints of a shaped and posed body with zero global orientation."""

    joints: np.ndarray
    """(22, 3) body joints in the human frame (pelvis at the origin)."""
    rest_pelvis: np.ndarray
    """(3,) pelvis of the shaped body in the model's own frame (``transl = pelvis_cam - it``: the root rotates about it)."""


def pick_body_model(models: BodyModels, gender: str) -> BodyModelLike | None:
    """The model for ``gender`` from a per-gender mapping (falling back to 'neutral'), or ``models``."""
    if models is None or not isinstance(models, Mapping):
        return models
    return models.get(gender, models.get("neutral"))


def _model_dtype(model: Any) -> torch.dtype:
    """The floating dtype of a module's buffers or parameters; float64 for other callables."""
    for name in ("buffers", "parameters"):
        tensors = getattr(model, name, None)
        if callable(tensors):
            for tensor in tensors():
                if tensor.is_floating_point():
                    return tensor.dtype
    return torch.float64


def body_joints(model: BodyModelLike, betas: np.ndarray, body_pose: np.ndarray) -> BodyJoints:
    """Human-frame joints and rest pelvis of a body. Shapes: ``betas (10,), body_pose (63,)``."""
    dtype = _model_dtype(model)
    with torch.no_grad():
        out = model(betas=torch.as_tensor(betas[None], dtype=dtype),
                    body_pose=torch.as_tensor(body_pose[None], dtype=dtype))
    joints = np.asarray(out.joints[0, :NUM_BODY_JOINTS].detach().cpu().numpy(), dtype=np.float64)
    if joints.shape != (NUM_BODY_JOINTS, 3):
        raise ValueError(f"body model returned joints of shape {joints.shape}; expected at least (22, 3)")
    return BodyJoints(joints=joints - joints[0], rest_pelvis=joints[0].copy())


def ground_truth(body: BodyParams, joints: BodyJoints, obj: ObjectPose,
                 object_keypoints: np.ndarray) -> GroundTruth:
    """The typed ground truth. Shapes: ``object_keypoints (k, 3)`` in the template frame."""
    return GroundTruth(
        betas=body.betas, body_pose=body.body_pose, global_orient=body.global_orient,
        transl=body.transl(joints.rest_pelvis), joints_3d=joints.joints,
        object_rotation=obj.rotation, object_translation=obj.translation,
        object_scale=float(obj.scale), object_keypoints_3d=obj.apply(object_keypoints),
    )


def project(points_cam: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points (P, 3) to pixels (P, 2); raises ValueError
    on a point at or behind the camera (callers keep the points in front)."""
    return project_points(points_cam, intrinsics)


def project_front(points_cam: np.ndarray, intrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (P, 2) of camera-frame points (P, 3) and whether each is in front (P,) bool;
    points at or behind the camera get pixel (0, 0), as detectors write a missing keypoint."""
    pixels = project_points(np.asarray(points_cam, dtype=np.float64).reshape(-1, 3), intrinsics, behind="inf")
    front = np.isfinite(pixels).all(axis=1)
    return np.where(front[:, None], pixels, 0.0), front


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """Zero-skew pinhole intrinsics (3, 3)."""
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def camera_in_human_frame(rotation: np.ndarray, pelvis_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cam_rotation (3, 3), cam_center (3,))`` of a camera that sees the body as
    ``p_cam = rotation @ X + pelvis_cam``: the camera axes in the human frame are
    ``rotation^T`` and its centre ``-rotation^T @ pelvis_cam``."""
    cam = camera_from_human_pose(torch.as_tensor(rotation, dtype=torch.float64),
                                 torch.as_tensor(pelvis_cam, dtype=torch.float64))
    return cam.rotation.numpy(), cam.translation.numpy()
