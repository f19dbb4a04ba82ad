"""Pinhole cameras in the OpenCV convention: x right, y down, z forward (into the scene).

Pixels are ``(u, v)`` with ``u`` along image columns and ``v`` along rows. Intrinsics are a
``(..., 3, 3)`` matrix ``K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]``.

Points at or behind the camera (``z <= eps``) have no projection, and :func:`project_points`,
the one projection of the package, makes each caller say what it wants for them:

- ``"raise"`` (default): a ``ValueError`` naming ``points``; for public boundaries, where such a
  point means the pose or the data is wrong.
- ``"clamp"``: the depth is clamped to ``eps``, so values and gradients stay finite; inside
  optimisations, where a transiently bad iterate must not abort the run or produce NaN.
- ``"inf"``: ``+inf`` pixel coordinates; for metrics, where a pose that puts the object behind
  the camera must score as a miss (MSPD = inf) rather than as its mirror image.

Extrinsics (world to camera) are a :class:`~hoirecon.geometry.transforms.RigidTransform`:
``extrinsics.apply(points)`` gives camera coordinates.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from hoirecon.geometry._arrays import accepts_numpy
from hoirecon.geometry._checks import check_broadcast, check_tensor

DEPTH_EPS = 1e-6
"""Smallest depth (in scene units) treated as in front of the camera."""

BehindPolicy = Literal["raise", "clamp", "inf"]
"""What :func:`project_points` does with points at or behind the camera (module docstring)."""
_POLICIES = ("raise", "clamp", "inf")


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


@accepts_numpy
def check_in_front(points: Tensor, name: str = "points", eps: float = DEPTH_EPS) -> None:
    """Raise ``ValueError`` naming ``name`` if any camera-frame point has depth ``z <= eps``.

    Shapes: ``points (..., P, 3)`` in camera coordinates (a tensor or a numpy array). Use it at a
    public boundary where a point behind the camera means the caller's pose or data is wrong.
    """
    check_tensor(points, name, (None, 3))
    behind = points[..., 2] <= eps
    if bool(behind.any()):
        count, total = int(behind.sum()), behind.numel()
        raise ValueError(f"{name}: {count} of {total} points are at or behind the camera (z <= {eps})")


@accepts_numpy
def project_points(
    points: Tensor, K: Tensor, behind: BehindPolicy = "raise", eps: float = DEPTH_EPS
) -> Tensor:
    """Pixel coordinates of camera-frame points under the pinhole model ``K @ (x/z, y/z, 1)``.

    Shapes: ``points (..., P, 3), K (..., 3, 3) -> (..., P, 2)``; leading dims broadcast. Takes
    torch tensors or numpy arrays and returns the same kind (numpy is computed in torch). A point
    with ``z <= eps`` is handled by ``behind``: ``"raise"`` (default) raises ``ValueError`` naming
    ``points``; ``"clamp"`` clamps its depth to ``eps`` (gradients w.r.t. that depth are then
    zero); ``"inf"`` gives it ``+inf`` for both coordinates (with zero gradients). Gradients of
    the points in front are the same under every policy.
    """
    check_tensor(points, "points", (None, 3))
    check_tensor(K, "K", (3, 3))
    check_broadcast({"points": points.shape[:-2], "K": K.shape[:-2]})
    if behind not in _POLICIES:
        raise ValueError(f"behind: expected one of {_POLICIES}, got {behind!r}")
    if behind == "raise":
        check_in_front(points, "points", eps)
    depth = points[..., 2:]
    normalized = torch.cat((points[..., :2] / depth.clamp_min(eps), torch.ones_like(depth)), dim=-1)
    pixels = (normalized @ K.transpose(-1, -2))[..., :2]
    if behind == "inf":
        pixels = torch.where(depth <= eps, torch.inf, pixels)
    return pixels
