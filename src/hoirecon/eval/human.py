"""Per-frame human pose metrics of the RHOBIN human track (3DPW challenge definitions).

All functions are vectorised over the T frames and return one value per frame (T,); averaging
over frames and selecting the joint subsets (:data:`~hoirecon.eval.metrics.RHOBIN_PCK_JOINTS`,
:data:`~hoirecon.eval.metrics.RHOBIN_MPJAE_JOINTS`) is left to the caller. Distances come out in
the units of the input joints (RHOBIN reports millimetres), angles in degrees.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from hoirecon.eval._validate import array_arg, rotations_arg, same_shape, scalar_arg
from hoirecon.geometry import geodesic_angle, procrustes

AUC_STEPS = 200
"""Number of PCK thresholds in the AUC: ``0, 1/200, ..., 199/200`` of the maximum."""


def _joint_pair(
    pred: Any, gt: Any, pred_name: str = "pred", gt_name: str = "gt"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two (T, J, 3) joint arrays of the same shape."""
    pred_arr = array_arg(pred, pred_name, (None, None, 3))
    gt_arr = array_arg(gt, gt_name, (None, None, 3))
    same_shape(pred_arr, pred_name, gt_arr, gt_name)
    return pred_arr, gt_arr


def _joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Euclidean distance per joint: (T, J, 3) x 2 -> (T, J)."""
    return np.linalg.norm(pred - gt, axis=-1)


def mpjpe(pred: Any, gt: Any, root: int = 0) -> np.ndarray:
    """Mean per-joint position error after aligning both skeletons on joint ``root``.

    Args:
        pred: (T, J, 3) predicted joints. gt: (T, J, 3) ground-truth joints.
        root: index of the joint moved to the origin in both (the pelvis, 0, in SMPL).

    Returns:
        (T,) mean joint distance per frame.
    """
    pred_arr, gt_arr = _joint_pair(pred, gt)
    try:
        index = operator.index(root)
    except TypeError as error:
        raise ValueError(f"root: expected an integer joint index, got {root!r}") from error
    if not 0 <= index < pred_arr.shape[1]:
        raise ValueError(f"root: expected a joint index in [0, {pred_arr.shape[1]}), got {index}")
    pred_arr = pred_arr - pred_arr[:, index : index + 1]
    gt_arr = gt_arr - gt_arr[:, index : index + 1]
    return _joint_errors(pred_arr, gt_arr).mean(axis=1)


def mpjpe_pa(pred: Any, gt: Any) -> np.ndarray:
    """Mean per-joint position error after the per-frame similarity Procrustes of pred onto gt.

    Args:
        pred: (T, J, 3) predicted joints. gt: (T, J, 3) ground-truth joints.

    Returns:
        (T,) mean joint distance per frame; invariant to any similarity transform of ``pred``.
    """
    pred_arr, gt_arr = _joint_pair(pred, gt)
    aligned = procrustes(pred_arr, gt_arr).apply(pred_arr)
    return _joint_errors(aligned, gt_arr).mean(axis=1)


def pck(pred: Any, gt: Any, threshold: float) -> np.ndarray:
    """Percentage of correct joints: error ``<= threshold`` counts as correct.

    Args:
        pred: (T, J, 3) joints, already aligned (RHOBIN: pelvis-aligned) and already restricted
            to the evaluated joints. gt: (T, J, 3) ground truth.
        threshold: distance in the joints' units (RHOBIN: 50 mm).

    Returns:
        (T,) percentage in [0, 100].
    """
    pred_arr, gt_arr = _joint_pair(pred, gt)
    limit = scalar_arg(threshold, "threshold")
    if limit < 0:
        raise ValueError(f"threshold: expected a non-negative distance, got {limit}")
    return 100.0 * (_joint_errors(pred_arr, gt_arr) <= limit).mean(axis=1)


def auc(pred: Any, gt: Any, max_threshold: float) -> np.ndarray:
    """Area under the PCK curve, normalised to [0, 1], as the RHOBIN/3DPW evaluator computes it.

    PCK (as a fraction) is taken at the 200 thresholds ``k / 200 * max_threshold`` for
    k = 0..199; the x axis is those thresholds divided by the last one (so it spans [0, 1]) and
    the area is integrated with the trapezoid rule. A perfect prediction scores exactly 1.

    Args:
        pred: (T, J, 3) joints, already aligned. gt: (T, J, 3) ground truth.
        max_threshold: the threshold range (RHOBIN: 200 mm).

    Returns:
        (T,) area per frame.
    """
    pred_arr, gt_arr = _joint_pair(pred, gt)
    limit = scalar_arg(max_threshold, "max_threshold", positive=True)
    thresholds = np.arange(AUC_STEPS) / AUC_STEPS * limit
    errors = _joint_errors(pred_arr, gt_arr)
    curve = (errors[:, :, None] <= thresholds).mean(axis=1)
    x = thresholds / thresholds[-1]
    return (0.5 * (curve[:, 1:] + curve[:, :-1]) * np.diff(x)).sum(axis=1)


def _rotation_pair(pred_rots: Any, gt_rots: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate two (T, J, 3, 3) rotation arrays of the same shape."""
    pred_arr = rotations_arg(pred_rots, "pred_rots", (None, None))
    gt_arr = rotations_arg(gt_rots, "gt_rots", (None, None))
    same_shape(pred_arr, "pred_rots", gt_arr, "gt_rots")
    return pred_arr, gt_arr


def mpjae(pred_rots: Any, gt_rots: Any) -> np.ndarray:
    """Mean per-joint angle error: geodesic angle between global joint rotations, in degrees.

    Args:
        pred_rots: (T, J, 3, 3) predicted global joint rotations (RHOBIN: joints
            :data:`~hoirecon.eval.metrics.RHOBIN_MPJAE_JOINTS`). gt_rots: (T, J, 3, 3).

    Returns:
        (T,) mean angle per frame, degrees.
    """
    pred_arr, gt_arr = _rotation_pair(pred_rots, gt_rots)
    return np.degrees(geodesic_angle(pred_arr, gt_arr)).mean(axis=1)


def mpjae_pa(pred_rots: Any, gt_rots: Any, pred_joints: Any, gt_joints: Any) -> np.ndarray:
    """MPJAE after rotating the predictions by the per-frame Procrustes rotation, in degrees.

    The rotation is that of the similarity Procrustes mapping the root-aligned ``pred_joints``
    onto ``gt_joints`` (the same alignment as :func:`mpjpe_pa`; translations and scale do not
    change it); it left-multiplies every predicted global rotation.

    Args:
        pred_rots: (T, J, 3, 3) predicted global rotations. gt_rots: (T, J, 3, 3).
        pred_joints: (T, N, 3) predicted joint positions. gt_joints: (T, N, 3).

    Returns:
        (T,) mean angle per frame, degrees.
    """
    pred_arr, gt_arr = _rotation_pair(pred_rots, gt_rots)
    pred_j, gt_j = _joint_pair(pred_joints, gt_joints, "pred_joints", "gt_joints")
    if pred_j.shape[0] != pred_arr.shape[0]:
        raise ValueError(
            f"pred_joints: expected T = {pred_arr.shape[0]} frames like pred_rots, "
            f"got {pred_j.shape[0]}"
        )
    rot = procrustes(pred_j - pred_j[:, :1], gt_j - gt_j[:, :1]).rotation
    aligned = np.einsum("tij,tkjl->tkil", rot, pred_arr)
    return np.degrees(geodesic_angle(aligned, gt_arr)).mean(axis=1)
