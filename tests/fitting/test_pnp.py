"""Object initialisers: RANSAC PnP on correspondences, keypoint PnP and placement fallbacks."""

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import hoirecon.fitting.pnp as pnp_module
from hoirecon.fitting.pnp import init_object_from_keypoints, init_object_pnp
from hoirecon.objects import get_category_template

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def _scene(seed: int = 0, count: int = 60):
    rng = np.random.default_rng(seed)
    template = get_category_template("skateboard")
    R = Rotation.random(random_state=seed).as_matrix()
    t = np.array([0.2, -0.1, 3.0])
    points = template.vertices[rng.choice(len(template.vertices), count, replace=False)]
    uvw = (points @ R.T + t) @ K.T
    return points, uvw[:, :2] / uvw[:, 2:], R, t, rng


def _angle_deg(R_a: np.ndarray, R_b: np.ndarray) -> float:
    return float(np.degrees(Rotation.from_matrix(R_a.T @ R_b).magnitude()))


def _ransac_spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls of OpenCV's RANSAC PnP made through the pnp module."""
    calls: list[int] = []
    real = cv2.solvePnPRansac

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pnp_module.cv2, "solvePnPRansac", spy)
    return calls


@pytest.mark.parametrize("all_points_first", [True, False])
def test_pnp_recovers_a_pose_exactly_from_clean_correspondences(all_points_first: bool) -> None:
    points, pixels, R, t, _ = _scene()
    out = init_object_pnp(points, pixels, np.ones(len(points)), K, all_points_first=all_points_first)
    assert out.success and out.method == ("all_points" if all_points_first else "ransac") and out.note == ""
    np.testing.assert_allclose(out.pose.rotation, R, atol=1e-6)
    np.testing.assert_allclose(out.pose.translation, t, atol=1e-6)
    assert out.inliers.all() and out.reprojection_px < 1e-6


def test_clean_noisy_correspondences_skip_ransac(monkeypatch: pytest.MonkeyPatch) -> None:
    points, pixels, R, t, rng = _scene(seed=5)
    calls = _ransac_spy(monkeypatch)
    out = init_object_pnp(points, pixels + rng.normal(0.0, 0.5, pixels.shape), np.ones(len(points)), K)
    assert calls == [] and out.success and out.method == "all_points"
    assert _angle_deg(out.pose.rotation, R) < 1.0 and np.linalg.norm(out.pose.translation - t) < 0.02
    assert out.inliers.all()
    slow = init_object_pnp(points, pixels + rng.normal(0.0, 0.5, pixels.shape), np.ones(len(points)), K,
                           all_points_first=False)
    assert calls == [1] and slow.method == "ransac"


def test_gross_outliers_make_ransac_reject_them(monkeypatch: pytest.MonkeyPatch) -> None:
    points, pixels, R, t, rng = _scene(seed=6)
    noisy = pixels + rng.normal(0.0, 1.0, pixels.shape)
    outlier = np.zeros(len(points), dtype=bool)
    outlier[rng.choice(len(points), 15, replace=False)] = True
    noisy[outlier] = rng.uniform(0, 640, (15, 2))
    everything = pnp_module._pnp_all(points, noisy, K)  # the all-points pose is pulled far off (166 deg, 3 m)
    assert _angle_deg(everything.rotation, R) > 30.0 and np.linalg.norm(everything.translation - t) > 0.5
    calls = _ransac_spy(monkeypatch)
    out = init_object_pnp(points, noisy, np.ones(len(points)), K)
    assert calls == [1] and out.success and out.method == "ransac"
    assert _angle_deg(out.pose.rotation, R) < 3.0 and np.linalg.norm(out.pose.translation - t) < 0.05
    assert not (out.inliers & outlier).any() and out.inliers[~outlier].mean() > 0.9


@pytest.mark.parametrize("consensus", [0.5, float("nan")])
def test_pnp_rejects_a_consensus_below_the_threshold(consensus: float) -> None:
    points, pixels, _, _, _ = _scene()
    with pytest.raises(ValueError, match="consensus"):
        init_object_pnp(points, pixels, np.ones(len(points)), K, consensus=consensus)


def test_pnp_survives_noise_and_30_percent_outliers() -> None:
    points, pixels, R, t, rng = _scene(seed=1)
    noisy = pixels + rng.normal(0.0, 1.0, pixels.shape)
    outlier = rng.random(len(points)) < 0.3
    noisy[outlier] = rng.uniform(pixels.min(0) - 40, pixels.max(0) + 40, (outlier.sum(), 2))
    out = init_object_pnp(points, noisy, np.ones(len(points)), K)
    assert out.success
    assert _angle_deg(out.pose.rotation, R) < 3.0
    assert np.linalg.norm(out.pose.translation - t) < 0.05
    assert (out.inliers & outlier).sum() <= 2
    assert out.inliers[~outlier].mean() > 0.8
    assert out.reprojection_px < 3.0


def test_pnp_ignores_padding() -> None:
    points, pixels, _, _, _ = _scene(seed=2, count=30)
    padded_pts = np.concatenate([points, np.full((10, 3), 7.0)])
    padded_px = np.concatenate([pixels, np.full((10, 2), -999.0)])
    weight = np.concatenate([np.ones(30), np.zeros(10)])
    ref = init_object_pnp(points, pixels, np.ones(30), K)
    out = init_object_pnp(padded_pts, padded_px, weight, K)
    np.testing.assert_allclose(out.pose.rotation, ref.pose.rotation, atol=1e-9)
    np.testing.assert_allclose(out.pose.translation, ref.pose.translation, atol=1e-9)
    assert out.inliers[:30].all() and not out.inliers[30:].any()


def test_pnp_at_a_scale_recovers_the_scaled_translation() -> None:
    points, _, R, t, _ = _scene(seed=3)
    uvw = (1.3 * points @ R.T + t) @ K.T
    pixels = uvw[:, :2] / uvw[:, 2:]
    out = init_object_pnp(points, pixels, np.ones(len(points)), K, scale=1.3)
    np.testing.assert_allclose(out.pose.translation, t, atol=1e-6)
    unscaled = init_object_pnp(points, pixels, np.ones(len(points)), K)
    np.testing.assert_allclose(unscaled.pose.translation, t / 1.3, atol=1e-6)


@pytest.mark.parametrize("case", ["identical", "three", "padding_only", "collinear"])
def test_degenerate_correspondences_fall_back_to_a_placement(case: str) -> None:
    points, pixels, _, _, _ = _scene(seed=4, count=12)
    weight = np.ones(12)
    if case == "identical":
        points = np.repeat(points[:1], 12, axis=0)
    elif case == "three":
        points, pixels, weight = points[:3], pixels[:3], weight[:3]
    elif case == "padding_only":
        weight = np.zeros(12)
    else:
        points = np.outer(np.linspace(0, 1, 12), [1.0, 2.0, 3.0])
    pelvis = np.array([0.1, 0.0, 4.0])
    out = init_object_pnp(points, pixels, weight, K, fallback_center=pelvis)
    assert not out.success and out.method == "placement"
    assert out.note and not out.inliers.any() and len(out.inliers) == len(points)
    assert out.pose.translation[2] == pytest.approx(4.0)
    np.testing.assert_allclose(out.pose.rotation, np.eye(3))


def test_pnp_falls_back_to_least_squares_when_ransac_fails(monkeypatch) -> None:
    points, pixels, R, t, _ = _scene(seed=7)
    monkeypatch.setattr(pnp_module, "_ransac", lambda *args: None)
    out = init_object_pnp(points, pixels, np.ones(len(points)), K, all_points_first=False)
    assert out.success and out.method == "pnp_all" and "RANSAC" in out.note
    np.testing.assert_allclose(out.pose.rotation, R, atol=1e-6)
    np.testing.assert_allclose(out.pose.translation, t, atol=1e-6)


def test_pnp_on_random_pixels_reports_no_consistent_pose() -> None:
    points, pixels, _, _, rng = _scene(seed=8)
    noise = rng.uniform(0, 640, pixels.shape)
    out = init_object_pnp(points, noise, np.ones(len(points)), K, fallback_center=np.array([0.0, 0.0, 2.0]))
    assert not out.success and out.method == "placement" and "pose" in out.note
    assert out.pose.translation[2] == pytest.approx(2.0)


def test_pnp_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="corr_pixels"):
        init_object_pnp(np.zeros((5, 3)), np.zeros((4, 2)), np.ones(5), K)
    with pytest.raises(ValueError, match="corr_weight"):
        init_object_pnp(np.zeros((5, 3)), np.zeros((5, 2)), np.ones(4), K)
    with pytest.raises(ValueError, match="K"):
        init_object_pnp(np.zeros((5, 3)), np.zeros((5, 2)), np.ones(5), np.eye(2))


def _keypoint_pixels(template, R, t):
    uvw = (template.keypoints @ R.T + t) @ K.T
    return uvw[:, :2] / uvw[:, 2:]


def test_keypoint_init_recovers_a_pose_and_handles_swapped_labels() -> None:
    template = get_category_template("skateboard")
    R, t = Rotation.random(random_state=5).as_matrix(), np.array([0.0, 0.3, 2.5])
    pixels = _keypoint_pixels(template, R, t)
    out = init_object_from_keypoints(pixels, np.ones(len(pixels)), template, K)
    assert out.success and out.method == "keypoints" and out.reprojection_px < 1e-6
    posed = template.vertices @ out.pose.rotation.T + out.pose.translation
    np.testing.assert_allclose(np.sort(posed, axis=0), np.sort(template.vertices @ R.T + t, axis=0), atol=1e-6)
    perm = template.keypoint_permutations[1]
    swapped = init_object_from_keypoints(pixels[np.argsort(perm)], np.ones(len(pixels)), template, K)
    assert swapped.success and swapped.reprojection_px < 1e-6


def test_keypoint_init_with_two_keypoints_places_the_object_along_them() -> None:
    template = get_category_template("baseball_bat")
    R, t = Rotation.random(random_state=6).as_matrix(), np.array([0.2, 0.1, 3.0])
    pixels = _keypoint_pixels(template, R, t)
    out = init_object_from_keypoints(pixels, np.ones(2), template, K, fallback_center=np.array([0.0, 0.0, 3.0]))
    assert not out.success and out.method == "placement" and "4" in out.note
    posed = template.keypoints @ out.pose.rotation.T + out.pose.translation
    uvw = posed @ K.T
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], pixels, atol=1e-6)
    assert posed[:, 2].mean() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="keypoints_2d"):
        init_object_from_keypoints(pixels[:1], np.ones(1), template, K)
