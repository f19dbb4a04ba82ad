"""Loss terms of the post-optimisation (paper eq. 13-15), each returning one value per image (B,).

Reprojection residuals are measured as a fraction of the image size and passed through a
Geman-McClure robustifier, so the same weights work at any resolution and outliers saturate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from hoirecon.geometry import project_points

ROBUST_SIGMA = 0.02
"""Geman-McClure scale in image-size units (about 5 px at 256 px)."""


@dataclass
class Evaluated:
    """Quantities of the current state that several losses share (human frame unless noted)."""

    joints: Tensor
    """(B, 22, 3) body joints."""
    coco_points: Tensor
    """(B, 17, 3) the body's points matching the COCO-17 keypoints (face landmark vertices, then
    the shoulder ... ankle joints)."""
    object_keypoints: Tensor
    """(B, k, 3) object keypoints."""
    body_vertices: Tensor | None
    """(B, Nh, 3) contact-candidate body vertices."""
    object_vertices: Tensor | None
    """(B, No, 3) contact-candidate object vertices."""
    to_camera: Callable[[Tensor], Tensor]
    """Maps human-frame points (B, P, 3) to the camera frame."""


def gmof(squared: Tensor, sigma: float = ROBUST_SIGMA) -> Tensor:
    """Geman-McClure robust penalty of squared residuals: sigma^2 r^2 / (r^2 + sigma^2)."""
    s2 = sigma * sigma
    return s2 * squared / (squared + s2)


def reprojection(points_cam: Tensor, target: Tensor, weight: Tensor, intrinsics: Tensor, image_size: Tensor) -> Tensor:
    """Weighted robust reprojection error (B,) of camera points (B, P, 3) against pixels (B, P, 2)."""
    uv = project_points(points_cam, intrinsics, behind="clamp")
    squared = ((uv - target) / image_size[:, None, None]).square().sum(-1)
    return (weight * gmof(squared)).sum(-1) / weight.sum(-1).clamp(min=1e-6)


def symmetric_keypoint_reprojection(
    points_cam: Tensor, target: Tensor, weight: Tensor, intrinsics: Tensor, image_size: Tensor, permutations: Tensor
) -> Tensor:
    """Object keypoint reprojection (B,) minimised over the template's keypoint permutations (S, k)."""
    if points_cam.shape[1] == 0:
        return points_cam.new_zeros(points_cam.shape[0])
    uv = project_points(points_cam, intrinsics, behind="clamp")[:, permutations]  # (B, S, k, 2)
    squared = ((uv - target[:, None]) / image_size[:, None, None, None]).square().sum(-1)
    per_perm = (weight[:, None] * gmof(squared)).sum(-1) / weight.sum(-1, keepdim=True).clamp(min=1e-6)
    return per_perm.min(dim=1).values


def weighted_chamfer(a: Tensor, wa: Tensor, b: Tensor, wb: Tensor) -> Tensor:
    """The contact loss of paper eq. 14 (B,) between contact sets a (B, Na, 3) and b (B, Nb, 3).

    ``L = 1/|C_a| sum_i min_j w_ij |a_i - b_j| + 1/|C_b| sum_j min_i w_ij |a_i - b_j|`` with
    ``w_ij = wa_i wb_j`` (the per-vertex weights ``c c̄`` of the two sets, (B, Na) and (B, Nb)).
    The weight sits inside the minimum, so a point's partner is the one that minimises the
    weighted distance, and each direction is averaged over the number of points of the set,
    not over the weights. Points with weight 0 are padding (they are neither partners nor
    counted in ``|C|``); an image with an empty side contributes 0.
    """
    if a.shape[1] == 0 or b.shape[1] == 0:
        return a.new_zeros(a.shape[0])
    valid_a, valid_b = wa > 0, wb > 0
    weighted = wa[:, :, None] * wb[:, None, :] * torch.cdist(a, b)  # (B, Na, Nb)
    pair_ok = valid_a[:, :, None] & valid_b[:, None, :]
    big = weighted.detach().max() + 1.0
    masked = torch.where(pair_ok, weighted, big)
    a_to_b = torch.where(valid_a, masked.min(dim=2).values, 0.0).sum(-1)
    b_to_a = torch.where(valid_b, masked.min(dim=1).values, 0.0).sum(-1)
    n_a, n_b = valid_a.sum(-1), valid_b.sum(-1)
    total = a_to_b / n_a.clamp(min=1) + b_to_a / n_b.clamp(min=1)
    return torch.where((n_a > 0) & (n_b > 0), total, torch.zeros_like(total))


def prior_nll(points: Tensor, cameras: Tensor, log_prob: Callable[[Tensor], Tensor]) -> Tensor:
    """Mean negative log-density (B,) of the 2.5D views of 3D keypoints (B, n, 3) from cameras (B, M, 3).

    ``log_prob`` maps X2.5D (B, M, n+1, 3) to (B, M); the value is divided by the dimension
    3 (n + 1) so its scale does not depend on the keypoint count.
    """
    rays = points[:, None] - cameras[:, :, None]
    rays = rays / rays.norm(dim=-1, keepdim=True).clamp(min=1e-9)
    x25d = torch.cat([rays, cameras[:, :, None]], dim=2)
    return -log_prob(x25d).mean(dim=1) / (3 * x25d.shape[2])
