"""The object pose of a collected image: recovery from clicks, quality, and rejection."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.collect.object_pose import PoseConfig, error_threshold, solve_object_pose
from hoirecon.eval.object_pose import rotation_error
from hoirecon.objects import load_template

K = np.array([[300.0, 0, 127.5], [0, 300, 127.5], [0, 0, 1]])
SIZE = (256, 256)


def _clicks(template, R, t, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    cam = np.asarray(template.keypoints) @ R.T + t
    uv = cam[:, :2] / cam[:, 2:] * 300.0 + 127.5
    uv += np.random.default_rng(seed).normal(0, noise, uv.shape)
    return np.c_[uv, np.full(len(uv), 2.0)]


@pytest.fixture(scope="module")
def board():
    return load_template("skateboard")


POSE = (Rotation.from_euler("xyz", [20, 35, -10], degrees=True).as_matrix(), np.array([0.1, -0.05, 1.6]))


def test_pose_is_recovered_from_noisy_clicks(board) -> None:
    result = solve_object_pose(board, K, SIZE, clicks=_clicks(board, *POSE, noise=1.0))
    assert result.accepted and result.method == "pnp" and result.has_pose
    assert rotation_error(result.rotation, POSE[0]) < 6.0
    assert np.linalg.norm(result.translation - POSE[1]) < 0.1
    assert 0.5 < result.quality <= 1.0 and result.reprojection_px < 3.0
    exact = solve_object_pose(board, K, SIZE, clicks=_clicks(board, *POSE))
    assert exact.quality > result.quality and np.allclose(exact.keypoints_2d, _clicks(board, *POSE)[:, :2], atol=1e-3)


def test_unclicked_keypoints_are_filled_by_the_reprojection(board) -> None:
    clicks = _clicks(board, *POSE)
    full = clicks[:, :2].copy()
    clicks[[1, 6], 2] = 0
    result = solve_object_pose(board, K, SIZE, clicks=clicks)
    assert result.accepted and np.allclose(result.keypoints_2d, full, atol=1e-3)
    assert result.keypoint_conf.tolist() == [1.0] * board.num_keypoints


def test_a_pose_that_does_not_reproject_is_rejected(board) -> None:
    clicks = _clicks(board, *POSE)
    clicks[:4, :2] = clicks[[3, 0, 1, 2], :2] + 25.0  # half the labels scrambled: no pose agrees
    result = solve_object_pose(board, K, SIZE, clicks=clicks)
    assert not result.accepted and ("reproject" in result.reason or "PnP" in result.reason)
    strict = solve_object_pose(board, K, SIZE, clicks=_clicks(board, *POSE, noise=3.0),
                               config=PoseConfig(max_error_px=0.5))
    assert not strict.accepted


def test_too_few_points_without_a_mask(board) -> None:
    clicks = _clicks(board, *POSE)
    clicks[3:, 2] = 0
    result = solve_object_pose(board, K, SIZE, clicks=clicks)
    assert not result.accepted and "PnP needs 4" in result.reason
    nothing = solve_object_pose(board, K, SIZE)
    assert not nothing.accepted and "no object evidence" in nothing.reason


def test_templates_with_fewer_than_four_keypoints_keep_complete_clicks() -> None:
    bat = load_template("baseball_bat")
    clicks = _clicks(bat, *POSE)
    result = solve_object_pose(bat, K, SIZE, clicks=clicks)
    assert result.accepted and result.method == "clicks" and not result.has_pose
    assert np.allclose(result.keypoints_2d, clicks[:, :2])


def test_threshold_defaults_to_the_image_diagonal() -> None:
    assert error_threshold(PoseConfig(), (256, 256)) == pytest.approx(max(4.0, 0.015 * np.hypot(256, 256)))
    assert error_threshold(PoseConfig(), (100, 100)) == 4.0
    assert error_threshold(PoseConfig(max_error_px=2.5), (100, 100)) == 2.5
