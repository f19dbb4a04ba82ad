"""Human pose metrics (MPJPE, MPJPE-PA, PCK, AUC, MPJAE, MPJAE-PA): hand values, invariances."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.eval.metrics import (
    AUC_MAX_MM,
    PCK_THRESHOLD_MM,
    RHOBIN_MPJAE_JOINTS,
    RHOBIN_PCK_JOINTS,
    auc,
    mpjae,
    mpjae_pa,
    mpjpe,
    mpjpe_pa,
    pck,
    procrustes_align,
)


def random_similarity(joints: np.ndarray, seed: int) -> np.ndarray:
    """Apply a different random similarity to every frame of (T, J, 3) joints."""
    rng = np.random.default_rng(seed)
    rots = Rotation.random(len(joints), random_state=seed).as_matrix()
    scales = rng.uniform(0.5, 2.0, size=len(joints))
    shifts = rng.normal(size=(len(joints), 3))
    return scales[:, None, None] * np.einsum("tij,tkj->tki", rots, joints) + shifts[:, None]


def offset_along_x(errors: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """One frame whose joint errors are exactly ``errors`` (pred shifted along x)."""
    gt = np.zeros((1, len(errors), 3))
    pred = gt.copy()
    pred[0, :, 0] = errors
    return pred, gt


def test_constants() -> None:
    assert RHOBIN_PCK_JOINTS == [1, 2, 4, 5, 7, 8, 16, 17, 18, 19, 20, 21]
    assert RHOBIN_MPJAE_JOINTS == [0, 1, 2, 4, 5, 16, 17, 18, 19]
    assert (PCK_THRESHOLD_MM, AUC_MAX_MM) == (50, 200)


def test_mpjpe_hand_value_and_root() -> None:
    gt = np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    pred = np.array([[[5.0, 5.0, 5.0], [5.0, 5.0, 6.0], [5.0, 7.0, 5.0]]])
    # Root-aligned pred: (0,0,0), (0,0,1), (0,2,0): errors 0, sqrt 2, 0.
    np.testing.assert_allclose(mpjpe(pred, gt), [math.sqrt(2.0) / 3.0])
    # On joint 1: gt (-1,0,0), (0,0,0), (-1,2,0); pred (0,0,-1), (0,0,0), (0,2,-1).
    np.testing.assert_allclose(mpjpe(pred, gt, root=1), [2.0 * math.sqrt(2.0) / 3.0])


def test_mpjpe_unchanged_by_translation() -> None:
    rng = np.random.default_rng(0)
    gt, pred = rng.normal(size=(5, 24, 3)), rng.normal(size=(5, 24, 3))
    shifted = pred + rng.normal(size=(5, 1, 3)) * 100.0
    np.testing.assert_allclose(mpjpe(shifted, gt), mpjpe(pred, gt), rtol=1e-10)


def test_mpjpe_pa_hand_value() -> None:
    # A square against a saddle-lifted square: the best similarity is a pure scale 2 / (2 + d^2),
    # leaving each joint sqrt(2 (1 - s)^2 + s^2 d^2) away; d = 1 gives sqrt(6) / 3.
    gt = np.array([[[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]]])
    pred = gt.copy()
    pred[0, :, 2] = [1.0, -1.0, -1.0, 1.0]
    np.testing.assert_allclose(mpjpe_pa(pred, gt), [math.sqrt(6.0) / 3.0], rtol=1e-10)


def test_mpjpe_pa_invariant_to_similarity_and_zero_for_exact_copy() -> None:
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(6, 24, 3))
    pred = gt + 0.1 * rng.normal(size=gt.shape)
    np.testing.assert_allclose(mpjpe_pa(random_similarity(pred, 2), gt), mpjpe_pa(pred, gt))
    np.testing.assert_allclose(mpjpe_pa(random_similarity(gt, 3), gt), 0.0, atol=1e-10)
    assert np.all(mpjpe_pa(pred, gt) <= mpjpe(pred, gt) + 1e-12)


def test_batched_metrics_match_per_frame_loops() -> None:
    rng = np.random.default_rng(10)
    gt = rng.normal(size=(7, 12, 3)) * 100.0
    pred = gt + rng.normal(size=gt.shape) * 40.0
    loop_pa = [
        np.linalg.norm(procrustes_align(p, g).aligned - g, axis=1).mean() for p, g in zip(pred, gt)
    ]
    np.testing.assert_allclose(mpjpe_pa(pred, gt), loop_pa, rtol=1e-10)
    thresholds = np.arange(200) * (200.0 / 200)
    loop_auc = []
    for p, g in zip(pred, gt):
        errors = np.linalg.norm(p - g, axis=1)
        curve = [np.mean(errors <= th) for th in thresholds]
        loop_auc.append(np.trapezoid(curve, thresholds / thresholds[-1]))
    np.testing.assert_allclose(auc(pred, gt, 200.0), loop_auc, rtol=1e-12)


def test_pck_counts_errors_at_the_threshold() -> None:
    pred, gt = offset_along_x([0.0, 50.0, 50.0001, 100.0])
    np.testing.assert_allclose(pck(pred, gt, 50.0), [50.0])
    np.testing.assert_allclose(pck(pred, gt, 49.9999), [25.0])


def test_auc_perfect_prediction_is_one() -> None:
    gt = np.random.default_rng(4).normal(size=(3, 12, 3))
    np.testing.assert_allclose(auc(gt, gt, AUC_MAX_MM), [1.0, 1.0, 1.0])


@pytest.mark.parametrize(("error", "first_correct"), [(50.0, 50), (50.5, 51), (1.0, 1)])
def test_auc_constant_error(error: float, first_correct: int) -> None:
    # Thresholds k = 0..199 mm, x = k / 199; PCK jumps from 0 to 1 at k = first_correct, so the
    # trapezoids give half a step there and full steps after it.
    pred, gt = offset_along_x([error] * 12)
    expected = (0.5 + (199 - first_correct)) / 199
    np.testing.assert_allclose(auc(pred, gt, 200.0), [expected])


def test_auc_scales_with_max_threshold_and_vanishes_beyond_it() -> None:
    pred, gt = offset_along_x([25.0] * 4)
    np.testing.assert_allclose(auc(pred, gt, 100.0), [(0.5 + 149) / 199])
    pred, gt = offset_along_x([250.0] * 4)
    np.testing.assert_allclose(auc(pred, gt, 200.0), [0.0])


def test_mpjae_known_rotations() -> None:
    gt = Rotation.random(3, random_state=5).as_matrix()[None]
    steps = Rotation.from_euler("z", [[10.0], [20.0], [30.0]], degrees=True).as_matrix()
    pred = np.einsum("jab,tjbc->tjac", steps, gt)
    np.testing.assert_allclose(mpjae(pred, gt), [20.0])
    flipped = np.einsum("ab,tjbc->tjac", np.diag([1.0, -1.0, -1.0]), gt)
    np.testing.assert_allclose(mpjae(flipped, gt), [180.0])


def test_mpjae_precise_near_zero() -> None:
    tiny = Rotation.from_rotvec([[1e-8, 0.0, 0.0]]).as_matrix()[None]
    np.testing.assert_allclose(mpjae(tiny, np.eye(3)[None, None]), [math.degrees(1e-8)], rtol=1e-6)


def test_mpjae_pa_removes_global_rotation() -> None:
    rng = np.random.default_rng(6)
    t_frames = 4
    gt_rots = Rotation.random(t_frames * 9, random_state=7).as_matrix().reshape(t_frames, 9, 3, 3)
    gt_joints = rng.normal(size=(t_frames, 24, 3))
    glob = Rotation.random(t_frames, random_state=8).as_matrix()
    pred_rots = np.einsum("tab,tjbc->tjac", glob, gt_rots)
    shift = rng.normal(size=(t_frames, 1, 3))
    pred_joints = 1.3 * np.einsum("tab,tjb->tja", glob, gt_joints) + shift
    expected = np.degrees(Rotation.from_matrix(glob).magnitude())
    np.testing.assert_allclose(mpjae(pred_rots, gt_rots), expected, rtol=1e-9)
    got = mpjae_pa(pred_rots, gt_rots, pred_joints, gt_joints)
    np.testing.assert_allclose(got, 0.0, atol=1e-6)


def test_accepts_torch_tensors() -> None:
    rng = np.random.default_rng(9)
    gt, pred = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
    expected = mpjpe_pa(pred, gt)
    np.testing.assert_allclose(mpjpe_pa(torch.tensor(pred), torch.tensor(gt)), expected)
