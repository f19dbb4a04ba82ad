"""Surface sampling (repeatable, area-weighted, on the surface) and object vertex conventions."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.eval.sampling import (
    behave_object_vertices,
    independent_seeds,
    sample_surface,
    wildhoi_object_vertices,
)

# Two disjoint triangles in the z = 0 plane with areas 1 (x < 5) and 3 (x >= 10).
VERTS = np.array(
    [[0, 0, 0], [2, 0, 0], [0, 1, 0], [10, 0, 0], [13, 0, 0], [10, 2, 0]], dtype=float
)
FACES = np.array([[0, 1, 2], [3, 4, 5]])


def test_repeatable_for_a_seed() -> None:
    first = sample_surface(VERTS, FACES, 500, seed=3)
    assert first.shape == (500, 3)
    np.testing.assert_array_equal(sample_surface(VERTS, FACES, 500, seed=3), first)
    assert not np.array_equal(sample_surface(VERTS, FACES, 500, seed=4), first)


def test_independent_seeds_differ_and_repeat() -> None:
    pred, truth = independent_seeds(0, 7, 1)
    assert pred != truth
    assert independent_seeds(0, 7, 1) == (pred, truth)
    assert independent_seeds(0, 8, 1) != (pred, truth) and independent_seeds(1, 7, 1) != (pred, truth)
    a, b = (sample_surface(VERTS, FACES, 100, s) for s in (pred, truth))
    assert not np.isclose(a, b).all(axis=1).any()  # no sample shared between the two draws
    with pytest.raises(ValueError, match="key"):
        independent_seeds(0, -1)


def test_area_weighted() -> None:
    points = sample_surface(VERTS, FACES, 20000, seed=0)
    # Binomial standard deviation sqrt(0.25 * 0.75 / 20000) ~ 0.003.
    assert np.mean(points[:, 0] < 5.0) == pytest.approx(0.25, abs=0.015)


def test_samples_lie_uniformly_inside_triangles() -> None:
    points = sample_surface(VERTS[:3], FACES[:1], 20000, seed=1)
    x, y = points[:, 0], points[:, 1]
    assert np.all(points[:, 2] == 0.0)
    assert np.all((x >= 0) & (y >= 0) & (x / 2.0 + y <= 1.0 + 1e-12))
    # The mean of uniform samples is the centroid (2/3, 1/3); std error ~ 0.003.
    np.testing.assert_allclose(points[:, :2].mean(axis=0), [2 / 3, 1 / 3], atol=0.015)


def test_accepts_torch_inputs() -> None:
    expected = sample_surface(VERTS, FACES, 100, seed=2)
    got = sample_surface(torch.tensor(VERTS), torch.tensor(FACES), 100, seed=2)
    np.testing.assert_array_equal(got, expected)


def test_object_vertex_conventions_hand_values() -> None:
    v = np.array([[1.0, 0.0, 0.0]])
    t = np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(behave_object_vertices(v, np.eye(3), t, 2.0), [[2.0, 0.0, 2.0]])
    np.testing.assert_allclose(wildhoi_object_vertices(v, np.eye(3), t, 2.0), [[2.0, 0.0, 1.0]])


def test_object_vertex_conventions_differ_by_scaled_translation() -> None:
    rng = np.random.default_rng(5)
    v = rng.normal(size=(50, 3))
    R = Rotation.random(random_state=6).as_matrix()
    t, s = rng.normal(size=3), 1.7
    behave = behave_object_vertices(v, R, t, s)
    wildhoi = wildhoi_object_vertices(v, R, t, s)
    np.testing.assert_allclose(behave - wildhoi, np.tile((s - 1.0) * t, (50, 1)), atol=1e-12)
    np.testing.assert_allclose(wildhoi, s * v @ R.T + t)
    np.testing.assert_allclose(
        behave_object_vertices(v, R, t, 1.0), wildhoi_object_vertices(v, R, t, 1.0)
    )
