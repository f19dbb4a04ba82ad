"""Object 6DoF pose errors of the RHOBIN object track (BOP definitions) and their recall.

Poses map object-frame points as ``p @ R.T + t``. A symmetry ``(R_s, t_s)`` is a transform of the
object frame that leaves the object looking the same; it is applied to the ground truth as
``(R_gt R_s, R_gt t_s + t_gt)`` and every error is the minimum over the symmetries. The identity
is always among them, whether or not the list contains it (the official RHOBIN copy drops it for
continuous symmetries, which makes a perfect estimate score a non-zero error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import cdist

from hoirecon.eval._validate import (
    array_arg,
    as_float_array,
    check_shape,
    points_arg,
    rotations_arg,
    scalar_arg,
)
from hoirecon.geometry import RigidTransform, geodesic_angle, project_points

Symmetries = Iterable[tuple[Any, Any]] | None
"""Object-frame symmetries: pairs ``(R_s (3, 3), t_s (3,))``, or None for the identity only."""

RECALL_STEPS = np.arange(0.05, 0.51, 0.05)
"""RHOBIN/BOP recall threshold fractions 0.05, 0.10, ..., 0.50 (the same floats as the official
evaluator, so e.g. ``0.15 * 200`` evaluates to 30.000000000000004)."""
RECALL_STEPS.setflags(write=False)

_CHUNK_VALUES = 1 << 22
"""Upper bound on floats held at once when comparing points under many symmetries."""


def _symmetry_transforms(symmetries: Symmetries) -> RigidTransform:
    """The symmetries as one transform of batch (S,), the identity first."""
    rots, trans = [np.eye(3)], [np.zeros(3)]
    for k, pair in enumerate(symmetries or []):
        try:
            rot_s, t_s = pair
        except (TypeError, ValueError) as error:
            raise ValueError(f"symmetries[{k}]: expected a pair (R_s (3, 3), t_s (3,))") from error
        rots.append(rotations_arg(rot_s, f"symmetries[{k}] rotation"))
        trans.append(array_arg(t_s, f"symmetries[{k}] translation", (3,)))
    return RigidTransform(rotation=np.stack(rots), translation=np.stack(trans))


def _pose_args(R_est: Any, t_est: Any, R_gt: Any, t_gt: Any) -> tuple[RigidTransform, RigidTransform]:
    """The validated estimated and ground-truth poses."""
    return (
        RigidTransform(rotation=rotations_arg(R_est, "R_est"), translation=array_arg(t_est, "t_est", (3,))),
        RigidTransform(rotation=rotations_arg(R_gt, "R_gt"), translation=array_arg(t_gt, "t_gt", (3,))),
    )


def _candidate_points(points: np.ndarray, candidates: RigidTransform) -> Iterator[np.ndarray]:
    """Yield the posed points (S', P, 3) for consecutive chunks of the S candidate poses."""
    step = max(1, _CHUNK_VALUES // (3 * len(points)))
    for start in range(0, candidates.batch_shape[0], step):
        yield candidates[start : start + step].apply(points)


def mssd(
    R_est: Any, t_est: Any, R_gt: Any, t_gt: Any, points: Any, symmetries: Symmetries = None
) -> float:
    """Maximum symmetry-aware surface distance, in the units of ``t`` and ``points``.

    ``min_S max_p |R_est p + t_est - (R_gt' p + t_gt')|`` over the symmetric ground-truth poses.

    Args:
        R_est, R_gt: (3, 3) rotations. t_est, t_gt: (3,) translations.
        points: (P, 3) object-frame model points (e.g. the template vertices).
        symmetries: list of object-frame ``(R_s (3, 3), t_s (3,))``; the identity is implied.
    """
    est_pose, gt_pose = _pose_args(R_est, t_est, R_gt, t_gt)
    pts = points_arg(points, "points")
    est = est_pose.apply(pts)
    candidates = gt_pose.compose(_symmetry_transforms(symmetries))
    worst = [
        np.linalg.norm(gt - est, axis=-1).max(axis=-1)
        for gt in _candidate_points(pts, candidates)
    ]
    return float(np.concatenate(worst).min())


def mspd(
    R_est: Any,
    t_est: Any,
    R_gt: Any,
    t_gt: Any,
    points: Any,
    K: Any,
    symmetries: Symmetries = None,
) -> float:
    """Maximum symmetry-aware projection distance in pixels.

    As :func:`mssd` but distances are measured between the projections ``K p`` (divided by depth)
    of the estimated and the symmetric ground-truth points. Points at or behind the camera
    (depth ``<= hoirecon.geometry.DEPTH_EPS``) project to infinity (``behind="inf"`` of
    :func:`~hoirecon.geometry.project_points`), so such an estimate scores ``inf`` and never falls
    under a recall threshold.

    Args:
        R_est, R_gt: (3, 3) rotations. t_est, t_gt: (3,) translations in the camera frame.
        points: (P, 3) object-frame model points.
        K: (3, 3) camera intrinsics, e.g. :data:`hoirecon.eval.metrics.BEHAVE_K`.
        symmetries: list of object-frame ``(R_s (3, 3), t_s (3,))``; the identity is implied.
    """
    est_pose, gt_pose = _pose_args(R_est, t_est, R_gt, t_gt)
    pts = points_arg(points, "points")
    K = array_arg(K, "K", (3, 3))
    est = project_points(est_pose.apply(pts), K, behind="inf")
    candidates = gt_pose.compose(_symmetry_transforms(symmetries))
    worst = []
    for gt in _candidate_points(pts, candidates):
        with np.errstate(invalid="ignore"):
            dist = np.linalg.norm(project_points(gt, K, behind="inf") - est, axis=-1)
        worst.append(np.where(np.isnan(dist), np.inf, dist).max(axis=-1))
    return float(np.concatenate(worst).min())


def rotation_error(R_est: Any, R_gt: Any, symmetries: Symmetries = None) -> float:
    """Symmetry-aware rotation error in degrees: ``min_S angle(R_est, R_gt R_s)``.

    Args:
        R_est, R_gt: (3, 3) rotations.
        symmetries: list of object-frame ``(R_s (3, 3), t_s (3,))``; only ``R_s`` matters here,
            and the identity is implied.
    """
    R_est = rotations_arg(R_est, "R_est")
    R_gt = rotations_arg(R_gt, "R_gt")
    rots_s = _symmetry_transforms(symmetries).rotation
    return float(np.degrees(geodesic_angle(R_est, R_gt @ rots_s).min()))


def object_diameter(points: Any) -> float:
    """Largest distance between two of the points (P, 3), in their units.

    The farthest pair lies on the convex hull, so only hull vertices are compared; point sets
    that are flat or too small for a 3D hull fall back to a joggled hull, then to all pairs.
    """
    pts = points_arg(points, "points")
    try:
        pts = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):
        with contextlib.suppress(QhullError, ValueError):
            pts = pts[ConvexHull(pts, qhull_options="QJ").vertices]
    step = max(1, _CHUNK_VALUES // len(pts))
    return float(max(cdist(pts[i : i + step], pts).max() for i in range(0, len(pts), step)))


def average_recall(
    errors: Any, max_error: float, steps: Any = RECALL_STEPS
) -> float:
    """Mean over ``steps`` of the fraction of ``errors`` strictly below ``step * max_error``.

    Args:
        errors: (N,) per-sample errors (``inf`` allowed for failures, NaN is not).
        max_error: the reference error: the object diameter for MSSD,
            :data:`~hoirecon.eval.metrics.RECALL_MAX_PX` for MSPD,
            :data:`~hoirecon.eval.metrics.RECALL_MAX_DEG` for the rotation error.
        steps: (S,) threshold fractions; the default is :data:`RECALL_STEPS`
            (``np.arange(0.05, 0.51, 0.05)``), as in RHOBIN.

    Returns:
        Average recall in [0, 1].
    """
    errs = _errors_arg(errors)
    limit = scalar_arg(max_error, "max_error", positive=True)
    fractions = array_arg(steps, "steps", (None,))
    return float(np.mean(errs[None, :] < fractions[:, None] * limit))


def _errors_arg(errors: Any) -> np.ndarray:
    errs = as_float_array(errors, "errors")
    check_shape(errs, "errors", (None,))
    if errs.size == 0 or np.isnan(errs).any():
        raise ValueError("errors: expected a non-empty (N,) array without NaN")
    return errs
