"""The 2.5D keypoint representation of the paper (eq. 5-7) and cameras in the human frame.

The human frame has its origin at the pelvis and SMPL's canonical axes (y up, z out of the
body's front, x to the body's left). A camera in the human frame is the
:class:`~hoirecon.geometry.transforms.RigidTransform` from camera coordinates (OpenCV: x right,
y down, z forward) to the human frame: its ``rotation`` (the paper's ``R_cam``) maps camera axes
into the human frame and its ``translation`` (``t_cam``) is the optical centre in the human
frame, so a human-frame point ``X`` has camera coordinates ``R_cam^T @ (X - t_cam)``, which is
``camera.inverse().apply(X)``. The 2.5D representation of ``N`` keypoints stacks their unit ray
directions from the camera centre (in the human frame) and the centre itself; it is the same
whether computed from 3D points or from their pixels, whatever the intrinsics and the roll of
the camera about its centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hoirecon.geometry._checks import check_broadcast, check_tensor
from hoirecon.geometry.camera import focal_xy
from hoirecon.geometry.transforms import RigidTransform

_NORM_EPS = 1e-12


@dataclass(frozen=True, eq=False)
class X25D:
    """A 2.5D representation split into its rays and its camera centre."""

    rays: Tensor
    """(..., N, 3) unit rays from the camera centre to the keypoints, human frame."""
    cam_center: Tensor
    """(..., 3) camera centre, human frame."""


def points_to_rays(points: Tensor, cam_center: Tensor) -> Tensor:
    """Unit ray directions ``d_i = normalize(x_i - cam_center)`` from a camera centre to points.

    Shapes: ``points (..., N, 3), cam_center (..., 3) -> (..., N, 3)``, both in the human frame;
    leading dims broadcast. A point on the centre itself gives a zero vector, not NaN.
    """
    check_tensor(points, "points", (None, 3))
    check_tensor(cam_center, "cam_center", (3,))
    check_broadcast({"points": points.shape[:-2], "cam_center": cam_center.shape[:-1]})
    offsets = points - cam_center.unsqueeze(-2)
    return torch.nn.functional.normalize(offsets, dim=-1, eps=_NORM_EPS)


def pixels_to_rays(
    uv: Tensor, focal: Tensor | float, principal_point: Tensor, cam_rotation: Tensor
) -> Tensor:
    """Unit rays in the human frame through pixels: ``normalize(R_cam @ ((u-cx)/fx, (v-cy)/fy, 1))``.

    Shapes: ``uv (..., N, 2)``, ``focal (...)`` or ``(..., 2)`` (see
    :func:`~hoirecon.geometry.camera.focal_xy`), ``principal_point (..., 2)``,
    ``cam_rotation (..., 3, 3) -> (..., N, 3)``; leading dims broadcast. This is eq. (6) of the
    paper, ``normalize(R_cam @ (u, v, f))`` with centred pixels, divided through by ``f``.
    """
    check_tensor(uv, "uv", (None, 2))
    check_tensor(cam_rotation, "cam_rotation", (3, 3))
    fxy = focal_xy(focal, principal_point)
    check_broadcast({"uv": uv.shape[:-2], "focal": fxy.shape[:-1],
                     "principal_point": principal_point.shape[:-1],
                     "cam_rotation": cam_rotation.shape[:-2]})
    xy = (uv - principal_point.unsqueeze(-2)) / fxy.unsqueeze(-2)
    directions = torch.cat((xy, torch.ones_like(xy[..., :1])), dim=-1)
    rays = directions @ cam_rotation.transpose(-1, -2)
    return torch.nn.functional.normalize(rays, dim=-1, eps=_NORM_EPS)


def to_x25d(rays: Tensor, cam_center: Tensor) -> Tensor:
    """Stack rays and camera centre into the 2.5D representation ``[d_1; ...; d_N; t_cam]``.

    Shapes: ``rays (..., N, 3), cam_center (..., 3) -> (..., N + 1, 3)``; leading dims broadcast.
    """
    check_tensor(rays, "rays", (None, 3))
    check_tensor(cam_center, "cam_center", (3,))
    batch = check_broadcast({"rays": rays.shape[:-2], "cam_center": cam_center.shape[:-1]})
    rays = rays.expand(*batch, *rays.shape[-2:])
    center = cam_center.expand(*batch, 3).unsqueeze(-2)
    return torch.cat((rays, center), dim=-2)


def from_x25d(x25d: Tensor) -> X25D:
    """Split a 2.5D representation into its rays and camera centre (inverse of :func:`to_x25d`).

    Shapes: ``x25d (..., N + 1, 3) -> X25D(rays (..., N, 3), cam_center (..., 3))``.
    """
    check_tensor(x25d, "x25d", (None, 3))
    if x25d.shape[-2] < 2:
        raise ValueError(f"x25d: expected at least one ray plus the centre, got {tuple(x25d.shape)}")
    return X25D(rays=x25d[..., :-1, :], cam_center=x25d[..., -1, :])


def camera_from_human_pose(global_orient_rotmat: Tensor, pelvis_cam: Tensor) -> RigidTransform:
    """The camera ``rho = (R_cam, t_cam)`` in the human frame, from the body's pose in the camera.

    Shapes: ``global_orient_rotmat (..., 3, 3), pelvis_cam (..., 3) -> RigidTransform(rotation
    (..., 3, 3), translation (..., 3))``, camera coordinates to the human frame. The body maps
    human-frame points into the camera as ``p_cam = G @ X + pelvis_cam``, so the camera is the
    inverse motion: ``R_cam = G^T`` and ``t_cam = -G^T @ pelvis_cam``.
    """
    check_tensor(global_orient_rotmat, "global_orient_rotmat", (3, 3))
    check_tensor(pelvis_cam, "pelvis_cam", (3,))
    check_broadcast({"global_orient_rotmat": global_orient_rotmat.shape[:-2],
                     "pelvis_cam": pelvis_cam.shape[:-1]})
    return RigidTransform(rotation=global_orient_rotmat, translation=pelvis_cam).inverse()


def human_to_camera(cam_rotation: Tensor, cam_center: Tensor) -> RigidTransform:
    """The rigid map from human-frame points to camera coordinates, ``p_cam = R @ p + t``.

    Shapes: ``cam_rotation (..., 3, 3), cam_center (..., 3) -> RigidTransform(rotation
    (..., 3, 3), translation (..., 3))`` with ``R = cam_rotation^T`` and ``t = -R @ cam_center``:
    the inverse of the camera ``RigidTransform(cam_rotation, cam_center)``, i.e. the body's pose
    in the camera that :func:`camera_from_human_pose` started from.
    """
    check_tensor(cam_rotation, "cam_rotation", (3, 3))
    check_tensor(cam_center, "cam_center", (3,))
    check_broadcast({"cam_rotation": cam_rotation.shape[:-2], "cam_center": cam_center.shape[:-1]})
    return RigidTransform(rotation=cam_rotation, translation=cam_center).inverse()
