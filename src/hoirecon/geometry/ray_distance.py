"""Distances between corresponding keypoint rays of two cameras (paper eq. 11-12).

Two images of the same interaction agree when, keypoint by keypoint, their rays (from each
camera centre, in the human frame) pass close to each other. The distance between two lines
``c_a + s d_a`` and ``c_b + s d_b`` is ``|(c_a - c_b) . (d_a x d_b)| / |d_a x d_b|`` when they are
skew, and the point-to-line distance ``|(c_a - c_b) x d|`` when they are parallel. The skew
formula is 0/0 for parallel rays, so we blend the two with the weight
``w = s^2 / (s^2 + eps^2)``, ``s = |d_a x d_b|`` the sine of the angle between the rays: the
result is the skew distance for rays more than a few ``eps`` apart (off by at most
``eps^2 / s^2`` times the point-to-line distance, ~1e-11 for rays 20 degrees apart and 10 units
away), the point-to-line distance for parallel rays, smooth in between and free of NaN values
and gradients everywhere. The default ``eps`` sits above float32 round-off in ``s``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hoirecon.geometry._checks import check_broadcast, check_same_size, check_tensor

PARALLEL_EPS = 1e-6
"""Sine of the angle below which two rays are treated as parallel."""


def _point_line_distance(offset: Tensor, direction: Tensor) -> Tensor:
    """Distance ``|offset x direction|`` from a line with unit ``direction`` to a point at
    ``offset`` from a point of the line; shapes ``(..., N, 3), (..., N, 3) -> (..., N)``."""
    return torch.linalg.vector_norm(torch.linalg.cross(offset, direction), dim=-1)


def ray_distances(
    rays_a: Tensor, center_a: Tensor, rays_b: Tensor, center_b: Tensor, eps: float = PARALLEL_EPS
) -> Tensor:
    """Per-keypoint distance between the lines of corresponding rays of two cameras.

    Shapes: ``rays_a (..., N, 3)`` (unit), ``center_a (..., 3)``, ``rays_b (..., N, 3)`` (unit),
    ``center_b (..., 3) -> (..., N)``; leading dims broadcast. Symmetric in ``a`` and ``b``; for
    parallel rays it is the mean of the two point-to-line distances (equal for exact
    parallels); see the module docstring for the blend that avoids 0/0.
    """
    check_tensor(rays_a, "rays_a", (None, 3))
    check_tensor(center_a, "center_a", (3,))
    check_tensor(rays_b, "rays_b", (None, 3))
    check_tensor(center_b, "center_b", (3,))
    check_same_size(rays_a, "rays_a", rays_b, "rays_b", -2)
    check_broadcast({"rays_a": rays_a.shape[:-2], "center_a": center_a.shape[:-1],
                     "rays_b": rays_b.shape[:-2], "center_b": center_b.shape[:-1]})
    offset = (center_a - center_b).unsqueeze(-2)
    normal = torch.linalg.cross(rays_a, rays_b)
    sin_sq = (normal * normal).sum(dim=-1)
    # weight * skew == |offset . normal| * sin / (sin^2 + eps^2); flooring sin at eps^2 keeps the
    # gradient of the square root finite and changes the result by at most |offset| * eps^2.
    sine = sin_sq.clamp_min(eps**4).sqrt()
    weighted_skew = (offset * normal).sum(dim=-1).abs() * sine / (sin_sq + eps**2)
    parallel = 0.5 * (_point_line_distance(offset, rays_a) + _point_line_distance(offset, rays_b))
    return weighted_skew + eps**2 / (sin_sq + eps**2) * parallel


def ray_distance(
    rays_a: Tensor, center_a: Tensor, rays_b: Tensor, center_b: Tensor, eps: float = PARALLEL_EPS
) -> Tensor:
    """Mean over keypoints of :func:`ray_distances`: the image-to-image distance of eq. (11).

    Shapes: ``rays_a (..., N, 3), center_a (..., 3), rays_b (..., N, 3), center_b (..., 3) -> (...)``.
    """
    return ray_distances(rays_a, center_a, rays_b, center_b, eps).mean(dim=-1)
