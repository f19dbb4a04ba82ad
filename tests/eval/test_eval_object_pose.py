"""Object pose errors (MSSD, MSPD, RE), diameter and average recall with hand-computed values."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.spatial.transform import Rotation

from hoirecon.eval.metrics import (
    BEHAVE_K,
    RECALL_MAX_DEG,
    RECALL_MAX_PX,
    average_recall,
    mspd,
    mssd,
    object_diameter,
    rotation_error,
)
from hoirecon.eval.protocols.pose_errors import surface_and_projection_distance, with_identity
from hoirecon.geometry import DEPTH_EPS

SQUARE = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]])
I3, ZERO = np.eye(3), np.zeros(3)


def rot(axis: str, degrees: float) -> np.ndarray:
    return Rotation.from_euler(axis, degrees, degrees=True).as_matrix()


def test_quarter_turn_of_square_hand_values() -> None:
    # Every corner of the square moves by |p| * 2 sin(45 deg) = 2.
    assert mssd(rot("z", 90), ZERO, I3, ZERO, SQUARE) == pytest.approx(2.0)
    assert rotation_error(rot("z", 90), I3) == pytest.approx(90.0)
    assert rotation_error(rot("x", 30) @ rot("y", 50), rot("x", 30) @ rot("y", 20)) == (
        pytest.approx(30.0)
    )


def test_mspd_hand_value() -> None:
    K = np.array([[100.0, 0.0, 0.0], [0.0, 100.0, 0.0], [0.0, 0.0, 1.0]])
    t_gt, t_est = np.array([0.0, 0.0, 10.0]), np.array([1.0, 0.0, 10.0])
    assert mspd(I3, t_est, I3, t_gt, SQUARE, K) == pytest.approx(10.0)
    t_gt, t_est = np.array([0.0, 0.0, 2.0]), np.array([0.0, 0.1, 2.0])
    assert mspd(I3, t_est, I3, t_gt, SQUARE, BEHAVE_K) == pytest.approx(979.840 * 0.1 / 2.0)


def test_declared_flip_symmetry_gives_zero() -> None:
    flip = [(rot("z", 180), ZERO)]
    R_gt, t_gt = rot("x", 20), np.array([0.1, -0.2, 3.0])
    R_est = R_gt @ rot("z", 180)
    assert mssd(R_est, t_gt, R_gt, t_gt, SQUARE, flip) == pytest.approx(0.0, abs=1e-12)
    assert mspd(R_est, t_gt, R_gt, t_gt, SQUARE, BEHAVE_K, flip) == pytest.approx(0.0, abs=1e-9)
    assert rotation_error(R_est, R_gt, flip) == pytest.approx(0.0, abs=1e-9)
    assert mssd(R_est, t_gt, R_gt, t_gt, SQUARE) == pytest.approx(2.0 * math.sqrt(2.0))
    assert rotation_error(R_est, R_gt) == pytest.approx(180.0)


def test_identity_is_considered_even_if_omitted() -> None:
    flip_only = [(rot("z", 180), ZERO)]
    t = np.array([0.0, 0.0, 5.0])
    assert mssd(I3, t, I3, t, SQUARE, flip_only) == 0.0
    assert mspd(I3, t, I3, t, SQUARE, BEHAVE_K, flip_only) == 0.0
    assert rotation_error(I3, I3, flip_only) == 0.0


def test_error_is_min_over_symmetries() -> None:
    quarter_turns = [(rot("z", a), ZERO) for a in (90, 180, 270)]
    assert rotation_error(rot("z", 100), I3, quarter_turns) == pytest.approx(10.0)
    # 10 degrees about z moves each corner (radius sqrt 2) by 2 sqrt(2) sin(5 deg).
    expected = 2.0 * math.sqrt(2.0) * math.sin(math.radians(5.0))
    assert mssd(rot("z", 100), ZERO, I3, ZERO, SQUARE, quarter_turns) == pytest.approx(expected)


def test_symmetry_translation_is_applied_as_R_gt_t_s_plus_t_gt() -> None:
    # A box centred at c = (1, 0, 0) in its own frame: a half turn about the axis through c is
    # p -> R_s p + (c - R_s c), i.e. t_s = (2, 0, 0).
    c = np.array([1.0, 0.0, 0.0])
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-0.5, 0.5) for z in (-0.2, 0.2)])
    points = corners + c
    R_s = rot("z", 180)
    t_s = c - R_s @ c
    R_gt, t_gt = rot("x", 30) @ rot("y", -40), np.array([0.1, 0.2, 3.0])
    R_est, t_est = R_gt @ R_s, R_gt @ t_s + t_gt
    sym = [(R_s, t_s)]
    assert mssd(R_est, t_est, R_gt, t_gt, points, sym) == pytest.approx(0.0, abs=1e-12)
    assert mspd(R_est, t_est, R_gt, t_gt, points, BEHAVE_K, sym) == pytest.approx(0.0, abs=1e-9)
    # Had the symmetry been applied as t_s + t_gt, the error would not vanish.
    assert mssd(R_est, t_s + t_gt, R_gt, t_gt, points, sym) > 0.5


BOX = np.array([[x, y, z] for x in (-0.3, 0.3) for y in (-0.2, 0.2) for z in (-0.1, 0.1)])
"""A box centred on the object origin; unrotated at depth d, its corners have z = d +- 0.1."""
HALF_TURN = [(rot("z", 180), ZERO), (rot("x", 180), np.array([0.0, 0.0, -10.0]))]
"""A flip, and a flip that (unphysically) moves the ground truth 10 m behind the camera."""
MSPD_CASES = {
    "in front": (rot("y", 10), np.array([0.05, 0.0, 3.0]), False),
    "partly behind": (rot("y", 10), np.array([0.0, 0.0, 0.05]), True),
    "wholly behind": (rot("y", 10), np.array([0.0, 0.0, -3.0]), True),
    "a corner at depth 0": (I3, np.array([0.0, 0.0, 0.1]), True),
    "a corner between 0 and eps": (I3, np.array([0.0, 0.0, 0.1 + DEPTH_EPS / 2]), True),
}


@pytest.mark.parametrize("case", MSPD_CASES)
def test_mspd_agrees_between_the_pose_metric_and_the_protocol_path(case) -> None:
    R_gt, t_gt = rot("x", 15), np.array([0.0, 0.1, 3.0])
    R_est, t_est, behind = MSPD_CASES[case]
    single = mspd(R_est, t_est, R_gt, t_gt, BOX, BEHAVE_K, HALF_TURN)
    symmetries = with_identity(np.stack([r for r, _ in HALF_TURN]), np.stack([t for _, t in HALF_TURN]))
    batched = surface_and_projection_distance(BOX @ R_est.T + t_est, BOX, R_gt, t_gt, 1.0, symmetries,
                                              BEHAVE_K)
    # A pose with any point at or behind the camera (z <= DEPTH_EPS) is a miss on both paths.
    assert (single == np.inf) == behind and (batched.pixel == np.inf) == behind
    if not behind:
        assert batched.pixel == pytest.approx(single, rel=1e-12) and 0.0 < single < 1e3
    assert batched.surface == pytest.approx(mssd(R_est, t_est, R_gt, t_gt, BOX, HALF_TURN), rel=1e-12)


def test_object_diameter() -> None:
    cube = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float)
    assert object_diameter(cube) == pytest.approx(math.sqrt(3.0))
    assert object_diameter(SQUARE) == pytest.approx(2.0 * math.sqrt(2.0))
    assert object_diameter([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]]) == pytest.approx(5.0)
    assert object_diameter([[1.0, 2.0, 3.0]]) == 0.0
    cloud = np.random.default_rng(0).normal(size=(500, 3))
    assert object_diameter(cloud) == pytest.approx(pdist(cloud).max())


def test_average_recall_hand_value_and_strictness() -> None:
    errors = [1.0, 2.0, 3.0, 4.0]
    # Thresholds 1..5: below them 0, 1, 2, 3, 4 of the 4 errors (an error AT a threshold fails).
    recall = average_recall(errors, 10.0, steps=[0.1, 0.2, 0.3, 0.4, 0.5])
    assert recall == pytest.approx((0 + 0.25 + 0.5 + 0.75 + 1.0) / 5)
    assert average_recall([2.0], 4.0, steps=[0.5]) == 0.0
    assert average_recall([np.nextafter(2.0, 0.0)], 4.0, steps=[0.5]) == 1.0


def test_average_recall_default_steps() -> None:
    # Default thresholds are 10, 20, ..., 100 px for RECALL_MAX_PX = 200.
    errors = [0.0, 9.99, 10.0, 100.0, np.inf]
    assert average_recall(errors, RECALL_MAX_PX) == pytest.approx((10 + 10 + 9 + 0 + 0) / 50)
    # 2, 4, ..., 20 degrees for RECALL_MAX_DEG = 40.
    assert average_recall([5.0], RECALL_MAX_DEG) == pytest.approx(0.8)
