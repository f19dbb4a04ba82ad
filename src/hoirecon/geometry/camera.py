"""Pinhole cameras in the OpenCV convention: x right, y down, z forward (into the scene).

Pixels are ``(u, v)`` with ``u`` along image columns and ``v`` along rows. Intrinsics are a
``(..., 3, 3)`` matrix ``K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]``. Points at or behind the
camera (``z <= eps``) have no meaningful projection; :func:`project_points` raises on them by
default, and clamps their depth only when asked (inside an optimisation, where a transiently
bad iterate must not abort the run).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from hoirecon.geometry._checks import check_broadcast, check_tensor

DEPTH_EPS = 1e-6
"""Smallest depth (in scene units) treated as in front of the camera."""

BehindPolicy = Literal["raise", "clamp"]


def focal_xy(focal: Tensor | float, principal_point: Tensor) -> Tensor:
    """Per-axis focal lengths ``(fx, fy)`` from a shared or per-axis focal length.

    Shapes: ``focal (...)`` or ``(..., 2)``, ``principal_point (..., 2) -> (..., 2)``. When
    ``focal`` has at least as many dims as ``principal_point`` its last dim is the axis dim
    (size 2 for ``(fx, fy)``, or 1 for a shared length); with fewer dims (a Python float
    included) it is one length for both axes. Raises ``ValueError`` naming ``focal`` otherwise.
    """
    check_tensor(principal_point, "principal_point", (2,))
    focal = torch.as_tensor(focal, dtype=principal_point.dtype, device=principal_point.device)
    if focal.dim() >= principal_point.dim():
        if focal.shape[-1] not in (1, 2):
            raise ValueError(f"focal: expected a last dim of 1 or 2 (per axis), got {tuple(focal.shape)}")
        fxy = focal.expand(*focal.shape[:-1], 2)
    else:
        fxy = torch.stack((focal, focal), dim=-1)
    check_broadcast({"focal": fxy.shape[:-1], "principal_point": principal_point.shape[:-1]})
    return fxy


def intrinsics_matrix(focal: Tensor | float, principal_point: Tensor) -> Tensor:
    """Intrinsics matrices ``K`` (zero skew) from focal lengths and principal points in pixels.

    Shapes: ``focal (...)`` or ``(..., 2)``, ``principal_point (..., 2) -> K (..., 3, 3)``; see
    :func:`focal_xy` for how ``focal`` is read. Leading dims broadcast.
    """
    fxy = focal_xy(focal, principal_point)
    fxy, pp = torch.broadcast_tensors(fxy, principal_point)
    zero, one = torch.zeros_like(fxy[..., 0]), torch.ones_like(fxy[..., 0])
    rows = (
        torch.stack((fxy[..., 0], zero, pp[..., 0]), dim=-1),
        torch.stack((zero, fxy[..., 1], pp[..., 1]), dim=-1),
        torch.stack((zero, zero, one), dim=-1),
    )
    return torch.stack(rows, dim=-2)


def check_in_front(points: Tensor, name: str = "points", eps: float = DEPTH_EPS) -> None:
    """Raise ``ValueError`` naming ``name`` if any camera-frame point has depth ``z <= eps``.

    Shapes: ``points (..., P, 3)`` in camera coordinates. Use it at a public boundary where
    a point behind the camera means the caller's pose or data is wrong.
    """
    check_tensor(points, name, (None, 3))
    behind = points[..., 2] <= eps
    if bool(behind.any()):
        count, total = int(behind.sum()), behind.numel()
        raise ValueError(f"{name}: {count} of {total} points are at or behind the camera (z <= {eps})")


def world_to_camera(points: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """Map world points into camera coordinates, ``p_cam = R @ p + t``.

    Shapes: ``points (..., P, 3), R (..., 3, 3), t (..., 3) -> (..., P, 3)``; leading dims
    broadcast. ``(R, t)`` are the extrinsics (world to camera), as OpenCV's ``rvec, tvec``.
    """
    check_tensor(points, "points", (None, 3))
    check_tensor(R, "R", (3, 3))
    check_tensor(t, "t", (3,))
    check_broadcast({"points": points.shape[:-2], "R": R.shape[:-2], "t": t.shape[:-1]})
    return points @ R.transpose(-1, -2) + t.unsqueeze(-2)


def project_points(
    points: Tensor, K: Tensor, behind: BehindPolicy = "raise", eps: float = DEPTH_EPS
) -> Tensor:
    """Pixel coordinates of camera-frame points under the pinhole model ``K @ (x/z, y/z, 1)``.

    Shapes: ``points (..., P, 3), K (..., 3, 3) -> (..., P, 2)``; leading dims broadcast. With
    ``behind="raise"`` (default) any point with ``z <= eps`` raises ``ValueError`` naming
    ``points``; with ``behind="clamp"`` its depth is clamped to ``eps`` (gradients w.r.t. that
    depth are then zero), which keeps an optimisation running without NaN or sign flips.
    """
    check_tensor(points, "points", (None, 3))
    check_tensor(K, "K", (3, 3))
    check_broadcast({"points": points.shape[:-2], "K": K.shape[:-2]})
    if behind == "raise":
        check_in_front(points, "points", eps)
    elif behind != "clamp":
        raise ValueError(f"behind: expected 'raise' or 'clamp', got {behind!r}")
    depth = points[..., 2:].clamp_min(eps)
    normalized = torch.cat((points[..., :2] / depth, torch.ones_like(depth)), dim=-1)
    return (normalized @ K.transpose(-1, -2))[..., :2]
