"""Batched, symmetry-aware object pose errors for the protocols.

The single-pose metrics of :mod:`hoirecon.eval.object_pose` take a rigid estimate; RHOBIN files
may carry a scale applied the BEHAVE way, ``(v @ R.T + t) * s``, which is not rigid. These
functions therefore compare already-posed estimated points against the ground truth under every
symmetry (the identity always included), frame by frame, with the same definitions:

- MSSD: ``min_S max_p |x_est(p) - x_gt(S p)|``;
- MSPD: the same between pinhole projections (points at depth <= 0 count as infinitely far);
- RE: ``min_S angle(R_est, R_gt R_s)``.
"""

from __future__ import annotations

import numpy as np

from hoirecon.eval.angles import geodesic_angle

_CHUNK_VALUES = 1 << 22
"""Upper bound on floats held at once when posing points under many symmetries."""


def with_identity(rots: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetries (S, 3, 3), (S, 3) with the identity placed first (added when absent)."""
    rots = np.asarray(rots, dtype=np.float64).reshape(-1, 3, 3)
    trans = np.asarray(trans, dtype=np.float64).reshape(-1, 3)
    if len(rots) and np.allclose(rots[0], np.eye(3)) and np.allclose(trans[0], 0.0):
        return rots, trans
    return np.concatenate([np.eye(3)[None], rots]), np.concatenate([np.zeros((1, 3)), trans])


def symmetric_rotation_errors(rot_est: np.ndarray, rot_gt: np.ndarray,
                              sym_rots: np.ndarray) -> np.ndarray:
    """Rotation error in degrees, minimum over the symmetries.

    Args:
        rot_est: (B, 3, 3) estimated rotations. rot_gt: (B, 3, 3) ground truth.
        sym_rots: (S, 3, 3) object-frame symmetry rotations (identity included).

    Returns:
        (B,) angles in degrees.
    """
    candidates = np.einsum("bij,sjk->bsik", rot_gt, sym_rots)
    return np.degrees(geodesic_angle(rot_est[:, None], candidates).min(axis=1))


def project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection (*, P, 3) -> (*, P, 2) pixels; depth <= 0 gives inf."""
    homog = points @ K.T
    depth = homog[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        pixels = homog[..., :2] / depth
    return np.where(depth > 0, pixels, np.inf)


def _gt_under_symmetries(points: np.ndarray, rot_gt: np.ndarray, t_gt: np.ndarray, s_gt: float,
                         sym_rots: np.ndarray, sym_trans: np.ndarray) -> np.ndarray:
    """(S, P, 3) ground-truth points ``(R_gt (R_s p + t_s) + t_gt) * s_gt`` per symmetry."""
    moved = np.einsum("pj,sij->spi", points, sym_rots) + sym_trans[:, None]
    return (moved @ rot_gt.T + t_gt) * s_gt


def surface_and_projection_distance(est: np.ndarray, points: np.ndarray, rot_gt: np.ndarray,
                                    t_gt: np.ndarray, s_gt: float, sym_rots: np.ndarray,
                                    sym_trans: np.ndarray, K: np.ndarray) -> tuple[float, float]:
    """MSSD (units of the points) and MSPD (pixels) of one frame.

    Args:
        est: (P, 3) estimated posed points (model points already placed by the estimate).
        points: (P, 3) the same model points in the object frame.
        rot_gt, t_gt, s_gt: ground-truth rotation (3, 3), translation (3,), scale (BEHAVE way).
        sym_rots, sym_trans: (S, 3, 3), (S, 3) symmetries, identity included.
        K: (3, 3) intrinsics for the projection.
    """
    est_px = project(est, K)
    step = max(1, _CHUNK_VALUES // (3 * len(points)))
    surface, pixel = np.inf, np.inf
    for start in range(0, len(sym_rots), step):
        part = slice(start, start + step)
        gt = _gt_under_symmetries(points, rot_gt, t_gt, s_gt, sym_rots[part], sym_trans[part])
        surface = min(surface, float(np.linalg.norm(gt - est, axis=-1).max(axis=1).min()))
        with np.errstate(invalid="ignore"):
            dist = np.linalg.norm(project(gt, K) - est_px, axis=-1)
        pixel = min(pixel, float(np.where(np.isnan(dist), np.inf, dist).max(axis=1).min()))
    return surface, pixel
