"""Batched, symmetry-aware object pose errors for the protocols.

The single-pose metrics of :mod:`hoirecon.eval.object_pose` take a rigid estimate; RHOBIN files
may carry a scale applied the BEHAVE way, ``(v @ R.T + t) * s``, which is not rigid. These
functions therefore compare already-posed estimated points against the ground truth under every
symmetry (the identity always included), frame by frame, with the same definitions:

- MSSD: ``min_S max_p |x_est(p) - x_gt(S p)|``;
- MSPD: the same between pinhole projections; points at or behind the camera (depth
  ``<= hoirecon.geometry.DEPTH_EPS``) project to infinity, as in :func:`~hoirecon.eval.metrics.mspd`;
- RE: ``min_S angle(R_est, R_gt R_s)``.

Symmetries are one :class:`~hoirecon.geometry.RigidTransform` of batch (S,) acting on the
object frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoirecon.geometry import RigidTransform, geodesic_angle, project_points

_CHUNK_VALUES = 1 << 22
"""Upper bound on floats held at once when posing points under many symmetries."""


@dataclass(frozen=True)
class PoseDistances:
    """The two point-distance errors of one frame."""

    surface: float
    """MSSD, in the units of the points."""
    pixel: float
    """MSPD, in pixels (``inf`` when the estimate puts a point at or behind the camera)."""


def with_identity(rots: np.ndarray, trans: np.ndarray) -> RigidTransform:
    """Symmetries from rotations (S, 3, 3) and translations (S, 3), the identity placed first
    (added when absent): a transform of batch (S,) or (S + 1,)."""
    rots = np.asarray(rots, dtype=np.float64).reshape(-1, 3, 3)
    trans = np.asarray(trans, dtype=np.float64).reshape(-1, 3)
    if not (len(rots) and np.allclose(rots[0], np.eye(3)) and np.allclose(trans[0], 0.0)):
        rots = np.concatenate([np.eye(3)[None], rots])
        trans = np.concatenate([np.zeros((1, 3)), trans])
    return RigidTransform(rotation=rots, translation=trans)


def symmetric_rotation_errors(rot_est: np.ndarray, rot_gt: np.ndarray,
                              symmetries: RigidTransform) -> np.ndarray:
    """Rotation error in degrees, minimum over the symmetries.

    Args:
        rot_est: (B, 3, 3) estimated rotations. rot_gt: (B, 3, 3) ground truth.
        symmetries: (S,) object-frame symmetries (identity included); only rotations matter.

    Returns:
        (B,) angles in degrees.
    """
    candidates = np.einsum("bij,sjk->bsik", rot_gt, symmetries.rotation)
    return np.degrees(geodesic_angle(rot_est[:, None], candidates).min(axis=1))


def _gt_under_symmetries(points: np.ndarray, rot_gt: np.ndarray, t_gt: np.ndarray, s_gt: float,
                         symmetries: RigidTransform) -> np.ndarray:
    """(S, P, 3) ground-truth points ``(R_gt (R_s p + t_s) + t_gt) * s_gt`` per symmetry."""
    return (symmetries.apply(points) @ rot_gt.T + t_gt) * s_gt


def surface_and_projection_distance(est: np.ndarray, points: np.ndarray, rot_gt: np.ndarray,
                                    t_gt: np.ndarray, s_gt: float, symmetries: RigidTransform,
                                    K: np.ndarray) -> PoseDistances:
    """MSSD (units of the points) and MSPD (pixels) of one frame.

    Args:
        est: (P, 3) estimated posed points (model points already placed by the estimate).
        points: (P, 3) the same model points in the object frame.
        rot_gt, t_gt, s_gt: ground-truth rotation (3, 3), translation (3,), scale (BEHAVE way).
        symmetries: (S,) object-frame symmetries, identity included.
        K: (3, 3) intrinsics for the projection.
    """
    est_px = project_points(est, K, behind="inf")
    step = max(1, _CHUNK_VALUES // (3 * len(points)))
    surface, pixel = np.inf, np.inf
    for start in range(0, symmetries.batch_shape[0], step):
        gt = _gt_under_symmetries(points, rot_gt, t_gt, s_gt, symmetries[start : start + step])
        surface = min(surface, float(np.linalg.norm(gt - est, axis=-1).max(axis=1).min()))
        with np.errstate(invalid="ignore"):
            dist = np.linalg.norm(project_points(gt, K, behind="inf") - est_px, axis=-1)
        pixel = min(pixel, float(np.where(np.isnan(dist), np.inf, dist).max(axis=1).min()))
    return PoseDistances(surface=surface, pixel=pixel)
