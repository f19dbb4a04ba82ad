"""Chamfer distance and Procrustes alignment: hand values, invariances, no reflections."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.eval.metrics import chamfer_distance, procrustes_align, surface_chamfer
from hoirecon.eval.sampling import sample_surface


def _similarity(points: np.ndarray, seed: int) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Apply a random similarity: returns (moved points, s, R, t)."""
    rng = np.random.default_rng(seed)
    rot = Rotation.random(random_state=seed).as_matrix()
    s = float(rng.uniform(0.5, 3.0))
    t = rng.normal(size=3) * 5.0
    return s * points @ rot.T + t, s, rot, t


def test_chamfer_hand_value_single_point() -> None:
    a = np.array([[0.0, 0.0, 0.0]])
    b = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    assert chamfer_distance(a, b) == pytest.approx(1.0 + (1.0 + 2.0) / 2.0)


def test_chamfer_hand_value_two_points() -> None:
    a = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    b = np.array([[0.0, 1.0, 0.0]])
    assert chamfer_distance(a, b) == pytest.approx((1.0 + math.sqrt(5.0)) / 2.0 + 1.0)


def test_chamfer_symmetric_and_zero_on_identical_sets() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(200, 3))
    assert chamfer_distance(a, b) == pytest.approx(chamfer_distance(b, a))
    assert chamfer_distance(a, a) == 0.0
    assert chamfer_distance(a, b) > 0.0


def test_chamfer_is_not_squared() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(150, 3))
    assert chamfer_distance(10.0 * a, 10.0 * b) == pytest.approx(10.0 * chamfer_distance(a, b))


def test_chamfer_accepts_torch() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(60, 3))
    expected = chamfer_distance(a, b)
    got = chamfer_distance(torch.tensor(a, dtype=torch.float64), torch.tensor(b))
    assert got == pytest.approx(expected)


def _unit_square() -> tuple[np.ndarray, np.ndarray]:
    verts = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    return verts, np.array([[0, 1, 2], [0, 2, 3]])


def test_surface_chamfer_draws_prediction_and_truth_independently() -> None:
    verts, faces = _unit_square()
    # the same mesh twice: a shared seed would draw the same points and give exactly 0
    assert chamfer_distance(sample_surface(verts, faces, 400, 5), sample_surface(verts, faces, 400, 5)) == 0.0
    floor = surface_chamfer(verts, faces, verts, faces, 400, 5, 0)
    # two independent uniform draws of n points on a unit square: mean nearest distance about
    # 0.5 / sqrt(n) each way, so the two-way floor is near 1 / sqrt(400) = 0.05
    assert 0.03 < floor < 0.08
    assert surface_chamfer(verts, faces, verts, faces, 400, 5, 0) == floor  # repeatable
    assert surface_chamfer(verts, faces, verts, faces, 400, 5, 1) != floor  # the key changes the draws
    assert surface_chamfer(verts, faces, verts, faces, 6400, 5, 0) < 0.4 * floor


def test_surface_chamfer_sees_a_shift_above_the_floor() -> None:
    verts, faces = _unit_square()
    floor = surface_chamfer(verts, faces, verts, faces, 2000, 0, 3)
    lifted = surface_chamfer(verts + [0.0, 0.0, 0.1], faces, verts, faces, 2000, 0, 3)
    assert 0.2 - 0.01 < lifted < 0.2 + floor


def test_procrustes_recovers_known_similarity() -> None:
    source = np.random.default_rng(3).normal(size=(40, 3))
    target, s, rot, t = _similarity(source, seed=4)
    result = procrustes_align(source, target)
    np.testing.assert_allclose(result.aligned, target, atol=1e-10)
    fit = result.similarity
    assert float(fit.scale) == pytest.approx(s)
    np.testing.assert_allclose(fit.rotation, rot, atol=1e-10)
    np.testing.assert_allclose(fit.translation, t, atol=1e-10)
    np.testing.assert_allclose(fit.scale * source @ fit.rotation.T + fit.translation, result.aligned,
                               atol=1e-12)


def test_procrustes_without_scale_is_rigid() -> None:
    source = np.random.default_rng(5).normal(size=(30, 3))
    target, _, rot, t = _similarity(source, seed=6)
    result = procrustes_align(source, target, scale=False)
    assert result.similarity.scale == 1.0
    rigid_target = source @ rot.T + t
    rigid = procrustes_align(source, rigid_target, scale=False)
    np.testing.assert_allclose(rigid.aligned, rigid_target, atol=1e-10)
    np.testing.assert_allclose(result.similarity.rotation, rot, atol=1e-10)


def test_procrustes_never_returns_a_reflection() -> None:
    source = np.random.default_rng(7).normal(size=(50, 3))
    mirrored = source * np.array([-1.0, 1.0, 1.0])
    result = procrustes_align(source, mirrored)
    rotation = result.similarity.rotation
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    assert np.abs(result.aligned - mirrored).max() > 0.1


def test_procrustes_collapsed_source_lands_on_target_centroid() -> None:
    target = np.random.default_rng(8).normal(size=(10, 3))
    result = procrustes_align(np.ones((10, 3)), target)
    assert result.similarity.scale == 0.0
    np.testing.assert_allclose(result.aligned, np.tile(target.mean(axis=0), (10, 1)), atol=1e-12)


def _aligned_chamfers(
    pred_h: np.ndarray, pred_o: np.ndarray, gt_h: np.ndarray, gt_o: np.ndarray
) -> tuple[float, float]:
    """BEHAVE-style: Procrustes on concatenated [human; object], then one chamfer per part."""
    aligned = procrustes_align(np.vstack([pred_h, pred_o]), np.vstack([gt_h, gt_o])).aligned
    return (
        chamfer_distance(aligned[: len(pred_h)], gt_h),
        chamfer_distance(aligned[len(pred_h) :], gt_o),
    )


def test_aligned_chamfer_unchanged_by_similarity_of_prediction() -> None:
    rng = np.random.default_rng(9)
    gt_h, gt_o = rng.normal(size=(200, 3)), rng.normal(size=(80, 3)) + 2.0
    pred_h = gt_h + 0.05 * rng.normal(size=gt_h.shape)
    pred_o = gt_o + 0.1 * rng.normal(size=gt_o.shape)
    before = _aligned_chamfers(pred_h, pred_o, gt_h, gt_o)
    moved, *_ = _similarity(np.vstack([pred_h, pred_o]), seed=10)
    after = _aligned_chamfers(moved[:200], moved[200:], gt_h, gt_o)
    np.testing.assert_allclose(after, before, rtol=1e-9)
    assert min(before) > 0.0
