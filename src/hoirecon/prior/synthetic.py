"""Synthetic human-object keypoint data for tests, benchmarks and demos of the prior.

Interactions come in clusters: each cluster is one arrangement of the 22 SMPL joints (a rest
skeleton with random joint offsets) and ``t`` object keypoints (corners of a box held near a
wrist); every image draws a jittered copy of its cluster's arrangement and a random camera
looking at the pelvis from 2-5 m. The camera gives normalised 2D observations
``(u, v, conf) = (x_c / z_c, y_c / z_c, 1)`` (plus optional noise), and the 2.5D representation is
computed from those observations (``d = normalize(R (u, v, 1))``), as it would be from a detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hoirecon.geometry import project_points
from hoirecon.prior.layout import SMPL_JOINT_COUNT

SMPL_REST_JOINTS = torch.tensor([
    [0.00, 0.00, 0.00], [0.06, -0.09, 0.00], [-0.06, -0.09, 0.00], [0.00, 0.11, -0.02],
    [0.10, -0.47, 0.00], [-0.10, -0.47, 0.00], [0.00, 0.25, 0.00], [0.09, -0.87, -0.04],
    [-0.09, -0.87, -0.04], [0.00, 0.30, 0.02], [0.12, -0.93, 0.08], [-0.12, -0.93, 0.08],
    [0.00, 0.51, -0.01], [0.08, 0.42, 0.00], [-0.08, 0.42, 0.00], [0.00, 0.58, 0.05],
    [0.17, 0.45, -0.01], [-0.17, 0.45, -0.01], [0.43, 0.44, -0.03], [-0.43, 0.44, -0.03],
    [0.68, 0.45, -0.03], [-0.68, 0.45, -0.03],
])
"""Approximate SMPL rest-pose joints (metres, human frame: y up, x to the body's left)."""


@dataclass
class SyntheticInteractions:
    """A synthetic data set; ``N`` images of ``K = 22 + t`` keypoints."""

    x3d: Tensor
    """``(N, K, 3)`` keypoints in the human frame (pelvis at the origin)."""
    x25d: Tensor
    """``(N, K + 1, 3)`` unit rays from the observations, then the camera centre."""
    observations: Tensor
    """``(N, K, 3)`` normalised image coordinates ``(u, v)`` and confidence."""
    cluster: Tensor
    """``(N,)`` int64 cluster (shared arrangement) of each image."""
    cam_rotation: Tensor
    """``(N, 3, 3)`` camera axes in the human frame (OpenCV: x right, y down, z forward)."""
    cam_center: Tensor
    """``(N, 3)`` camera centres in the human frame."""


def _random_rotation(n: int, generator: torch.Generator) -> Tensor:
    """``(n, 3, 3)`` uniformly random rotations (QR of Gaussian matrices, sign-fixed)."""
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=generator))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    return q * torch.det(q).sign()[:, None, None]


def _arrangements(n: int, object_keypoints: int, generator: torch.Generator) -> Tensor:
    """``(n, 22 + t, 3)`` random body-object arrangements around the rest skeleton."""
    body = SMPL_REST_JOINTS + 0.08 * torch.randn(n, SMPL_JOINT_COUNT, 3, generator=generator)
    body[:, 0] = 0.0
    corners = torch.tensor([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)],
                           dtype=torch.float32) * torch.tensor([0.2, 0.15, 0.1])
    corners = corners[torch.arange(object_keypoints) % 8] * (1 + torch.arange(object_keypoints) // 8)[:, None]
    hand = torch.where(torch.rand(n, 1, generator=generator) < 0.5, body[:, 20], body[:, 21])
    centre = hand + 0.15 * torch.randn(n, 3, generator=generator)
    obj = corners @ _random_rotation(n, generator).transpose(1, 2) + centre[:, None]
    return torch.cat([body, obj], dim=1)


def _look_at(center: Tensor, roll: Tensor) -> Tensor:
    """Camera rotations ``(n, 3, 3)`` at ``center (n, 3)`` looking at the origin, rolled by ``roll (n,)``."""
    forward = torch.nn.functional.normalize(-center, dim=-1)
    up = torch.tensor([0.0, 1.0, 0.0]).expand_as(forward)
    right = torch.nn.functional.normalize(torch.linalg.cross(forward, up, dim=-1), dim=-1)
    down = torch.linalg.cross(forward, right, dim=-1)
    cos, sin = roll.cos()[:, None], roll.sin()[:, None]
    x_axis, y_axis = cos * right + sin * down, -sin * right + cos * down
    return torch.stack([x_axis, y_axis, forward], dim=-1)


def synthetic_interactions(n_images: int, object_keypoints: int = 8, n_clusters: int | None = None,
                           jitter: float = 0.03, pixel_noise: float = 0.0,
                           seed: int = 0) -> SyntheticInteractions:
    """Draw ``n_images`` images of clustered interactions (see the module docstring).

    ``n_clusters`` defaults to ``max(1, n_images // 100)``; ``jitter`` (metres) spreads the
    arrangements of a cluster; ``pixel_noise`` is the std of the noise added to ``(u, v)``.
    """
    if n_images < 0 or object_keypoints < 0:
        raise ValueError("n_images, object_keypoints: expected non-negative counts")
    g = torch.Generator().manual_seed(seed)
    n_clusters = n_clusters or max(1, n_images // 100)
    cluster = torch.randint(0, n_clusters, (n_images,), generator=g)
    x3d = _arrangements(n_clusters, object_keypoints, g)[cluster]
    x3d = x3d + jitter * torch.randn(x3d.shape, generator=g)
    x3d[:, 0] = 0.0
    direction = torch.nn.functional.normalize(torch.randn(n_images, 3, generator=g), dim=-1)
    direction[:, 1] = direction[:, 1].clamp(-0.4, 0.6)
    direction = torch.nn.functional.normalize(direction, dim=-1)
    center = direction * (2.0 + 3.0 * torch.rand(n_images, 1, generator=g))
    rotation = _look_at(center, 0.2 * torch.randn(n_images, generator=g))
    camera = torch.einsum("nji,nkj->nki", rotation, x3d - center[:, None])
    # identity intrinsics: the observations are normalised image coordinates
    uv = project_points(camera, torch.eye(3, dtype=camera.dtype))
    uv = uv + pixel_noise * torch.randn(uv.shape, generator=g)
    observations = torch.cat([uv, torch.ones_like(uv[..., :1])], dim=-1)
    homogeneous = torch.cat([uv, torch.ones_like(uv[..., :1])], dim=-1)
    rays = torch.nn.functional.normalize(torch.einsum("nij,nkj->nki", rotation, homogeneous), dim=-1)
    x25d = torch.cat([rays, center[:, None]], dim=1)
    return SyntheticInteractions(x3d, x25d, observations, cluster, rotation, center)
