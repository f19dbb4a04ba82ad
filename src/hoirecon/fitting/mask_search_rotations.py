"""Rotation hypotheses for the mask search: a uniform grid of SO(3) and distances modulo symmetry.

The grid is a super-Fibonacci spiral (Alexa, "Super-Fibonacci Spirals", CVPR 2022): N unit
quaternions spread evenly over the 3-sphere by a closed formula, so the same N always gives the
same rotations. roma only offers random rotations, whose clumps and gaps would need several
times more hypotheses for the same worst-case distance to the true rotation, hence this
ten-line formula. A template with S symmetries needs only about N / S of them: rotations ``R``
and ``R @ R_s`` give the same surface; a sphere needs one, as every rotation gives the same surface.
"""

from __future__ import annotations

import math

import numpy as np
import roma
import torch

from hoirecon.objects import ObjectTemplate
from hoirecon.objects.symmetry import is_sphere

__all__ = ["super_fibonacci_rotations", "hypothesis_rotations", "symmetric_angle", "diverse_order"]

_PHI = math.sqrt(2.0)
_PSI = 1.533751168755204288118041


def super_fibonacci_rotations(n: int) -> np.ndarray:
    """``n`` rotation matrices (n, 3, 3) spread evenly over SO(3), deterministic in ``n``."""
    s = np.arange(n, dtype=np.float64) + 0.5
    radius, cradius = np.sqrt(s / n), np.sqrt(1.0 - s / n)
    alpha, beta = 2.0 * np.pi * s / _PHI, 2.0 * np.pi * s / _PSI
    quat = np.stack([radius * np.sin(alpha), radius * np.cos(alpha),
                     cradius * np.sin(beta), cradius * np.cos(beta)], axis=1)  # (n, 4) xyzw
    return roma.unitquat_to_rotmat(torch.from_numpy(quat)).numpy()


def hypothesis_rotations(template: ObjectTemplate, num_rotations: int, min_rotations: int) -> np.ndarray:
    """Rotation hypotheses (N', 3, 3) covering SO(3) modulo the template's symmetries.

    ``N' = max(min_rotations, ceil(num_rotations / S))`` for S symmetries: the quotient of SO(3)
    by the symmetry group is S times smaller, so N' rotations cover it as densely as
    ``num_rotations`` cover SO(3) for an asymmetric template. A sphere (:func:`~hoirecon.objects.symmetry.is_sphere`)
    gets the identity alone: its rotation group is all of SO(3).
    """
    if is_sphere(template.vertices, template.faces):
        return np.eye(3)[None]
    count = max(min_rotations, math.ceil(num_rotations / template.num_symmetries))
    return super_fibonacci_rotations(count)


def symmetric_angle(R_a: np.ndarray, R_b: np.ndarray, symmetries: np.ndarray) -> np.ndarray:
    """Geodesic angle (radians) between R_a (A, 3, 3) and R_b (B, 3, 3) modulo symmetries (S, 3, 3).

    Returns (A, B): ``min_s angle(R_a, R_b @ R_s)``, the rotation error of the WildHOI and RHOBIN
    protocols.
    """
    rb = np.einsum("bij,sjk->bsik", R_b, symmetries)  # (B, S, 3, 3)
    trace = np.einsum("aij,bsij->abs", R_a, rb)  # tr(R_a^T R_b R_s)
    cos = np.clip(0.5 * (trace - 1.0), -1.0, 1.0)
    return np.arccos(cos.max(axis=-1))


def diverse_order(rotations: np.ndarray, symmetries: np.ndarray, min_angle: float, limit: int) -> list[int]:
    """Greedy non-maximum suppression: indices into ``rotations`` (B, 3, 3), assumed sorted best
    first, keeping at most ``limit`` that are pairwise more than ``min_angle`` radians apart
    modulo the symmetries (S, 3, 3)."""
    angles = symmetric_angle(rotations, rotations, symmetries)
    kept: list[int] = []
    for i in range(len(rotations)):
        if all(angles[i, j] > min_angle for j in kept):
            kept.append(i)
            if len(kept) == limit:
                break
    return kept
