"""Geodesic distance between rotations, shared by the object-pose and joint-angle metrics."""

from __future__ import annotations

import numpy as np


def geodesic_angle(rot_a: np.ndarray, rot_b: np.ndarray) -> np.ndarray:
    """Angle in radians of the relative rotation ``rot_a @ rot_b.T``, in ``[0, pi]``.

    Args:
        rot_a: (*, 3, 3) rotation matrices (float64, already validated).
        rot_b: (*, 3, 3) rotation matrices, broadcastable against ``rot_a``.

    Returns:
        (*,) angles. Computed as ``atan2(sin, cos)`` from the antisymmetric part and the trace
        of the relative rotation rather than ``arccos((tr - 1) / 2)``: it needs no clipping and
        keeps full precision near 0 and pi, where the arccos form loses about half the digits.
    """
    rel = np.einsum("...ij,...kj->...ik", rot_a, rot_b)
    cos = 0.5 * (np.trace(rel, axis1=-2, axis2=-1) - 1.0)
    vee = np.stack(
        [
            rel[..., 2, 1] - rel[..., 1, 2],
            rel[..., 0, 2] - rel[..., 2, 0],
            rel[..., 1, 0] - rel[..., 0, 1],
        ],
        axis=-1,
    )
    sin = 0.5 * np.linalg.norm(vee, axis=-1)
    return np.arctan2(sin, np.clip(cos, -1.0, 1.0))
