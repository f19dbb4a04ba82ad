"""Placing a rigid template relative to a posed body: anchors, axis alignment and directions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Joint indices of the 22 SMPL body joints used by the recipes.
PELVIS, L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2, L_ANKLE, R_ANKLE = range(9)
SPINE3, L_FOOT, R_FOOT, NECK, L_COLLAR, R_COLLAR, HEAD = range(9, 16)
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = range(16, 22)
PALM_OFFSET = 0.08
"""Metres from the wrist to the grip point along the forearm."""


@dataclass(frozen=True)
class ObjectPlacement:
    """Object pose in the human frame for a batch: X_obj = s * X_template @ R.T + t (paper eq. 3)."""

    rotation: np.ndarray
    """(B, 3, 3) template frame -> human frame."""
    translation: np.ndarray
    """(B, 3) translation in the human frame."""
    scale: np.ndarray
    """(B,) template scale."""


def unit(v: np.ndarray) -> np.ndarray:
    """Normalise vectors (..., 3) to unit length."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def direction(azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    """Unit directions (B, 3) in the human frame; azimuth from the front (+z) towards the left (+x)."""
    return np.stack(
        [np.sin(azimuth) * np.cos(elevation), np.sin(elevation), np.cos(azimuth) * np.cos(elevation)], axis=-1
    )


def _basis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Right-handed orthonormal bases (B, 3, 3) whose first column is ``a`` and second lies towards ``b``."""
    a = unit(a)
    b = unit(b - np.sum(a * b, axis=-1, keepdims=True) * a)
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def align_axes(
    template_a: np.ndarray, world_a: np.ndarray, template_b: np.ndarray, world_b: np.ndarray
) -> np.ndarray:
    """Rotations (B, 3, 3) sending template direction a onto world direction a exactly, b as close as possible.

    Template directions are (3,) or (B, 3), world directions (B, 3).
    """
    world_a, world_b = np.asarray(world_a, float), np.asarray(world_b, float)
    ta = np.broadcast_to(template_a, world_a.shape)
    tb = np.broadcast_to(template_b, world_b.shape)
    return _basis(world_a, world_b) @ np.swapaxes(_basis(ta, tb), -1, -2)


def anchor_translation(rotation: np.ndarray, scale: np.ndarray, template_point: np.ndarray, world_point: np.ndarray) -> np.ndarray:
    """Translations (B, 3) that put ``template_point`` (3,) or (B, 3) at ``world_point`` (B, 3)."""
    rotated = np.einsum("bij,bj->bi", rotation, np.broadcast_to(template_point, world_point.shape))
    return world_point - scale[:, None] * rotated


def roll_about(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotations (B, 3, 3) by ``angle`` (B,) about unit ``axis`` (B, 3) (Rodrigues)."""
    axis = unit(axis)
    k = np.zeros(axis.shape[:-1] + (3, 3))
    k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -axis[..., 2], axis[..., 1], -axis[..., 0]
    k = k - np.swapaxes(k, -1, -2)
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def random_rotations(rng: np.random.Generator, b: int) -> np.ndarray:
    """Uniformly random rotations (B, 3, 3) from normalised Gaussian quaternions."""
    q = unit4(rng.normal(size=(b, 4)))
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=-2)


def unit4(q: np.ndarray) -> np.ndarray:
    """Normalise quaternions (B, 4)."""
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def palms(joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right grip points (B, 3): each wrist pushed along its forearm by ``PALM_OFFSET``."""
    left = joints[:, L_WRIST] + PALM_OFFSET * unit(joints[:, L_WRIST] - joints[:, L_ELBOW])
    right = joints[:, R_WRIST] + PALM_OFFSET * unit(joints[:, R_WRIST] - joints[:, R_ELBOW])
    return left, right


def ground_height(joints: np.ndarray) -> np.ndarray:
    """Approximate floor height (B,) under the body: a little below the lowest ankle/foot joint."""
    return joints[:, [L_ANKLE, R_ANKLE, L_FOOT, R_FOOT], 1].min(axis=1) - 0.06


def choose(mode: np.ndarray, options: list[np.ndarray]) -> np.ndarray:
    """Per-row selection among per-mode candidates: ``options[mode[b]][b]``."""
    stacked = np.stack(options)
    return stacked[mode, np.arange(len(mode))]
