import numpy as np
import pytest
import roma
import torch

from hoirecon.geometry import Similarity, procrustes

F64 = torch.float64


def _known_similarity(batch: int, dtype: torch.dtype = F64) -> Similarity:
    return Similarity(
        scale=0.5 + torch.rand(batch, dtype=dtype) * 2.0,
        rotation=roma.random_rotmat(batch, dtype=dtype),
        translation=torch.randn(batch, 3, dtype=dtype),
    )


def test_recovers_known_similarity_batched() -> None:
    truth = _known_similarity(6)
    source = torch.randn(6, 20, 3, dtype=F64)
    fit = procrustes(source, truth.apply(source))
    assert torch.allclose(fit.scale, truth.scale, atol=1e-10)
    assert torch.allclose(fit.rotation, truth.rotation, atol=1e-10)
    assert torch.allclose(fit.translation, truth.translation, atol=1e-10)


def test_weights_ignore_zero_weighted_outliers() -> None:
    truth = _known_similarity(3)
    source = torch.randn(3, 15, 3, dtype=F64)
    target = truth.apply(source)
    target[:, :4] += 10.0 * torch.randn(3, 4, 3, dtype=F64)
    weights = torch.ones(3, 15, dtype=F64)
    weights[:, :4] = 0.0
    fit = procrustes(source, target, weights)
    assert torch.allclose(fit.rotation, truth.rotation, atol=1e-10)
    assert torch.allclose(fit.scale, truth.scale, atol=1e-10)
    unweighted = procrustes(source, target)
    assert not torch.allclose(unweighted.rotation, truth.rotation, atol=1e-3)


def test_rigid_mode_fixes_scale_to_one() -> None:
    truth = _known_similarity(2)
    truth = Similarity(rotation=truth.rotation, translation=truth.translation, scale=torch.ones(2, dtype=F64))
    source = torch.randn(2, 10, 3, dtype=F64)
    fit = procrustes(source, truth.apply(source), scale=False)
    assert torch.equal(fit.scale, torch.ones(2, dtype=F64))
    assert torch.allclose(fit.apply(source), truth.apply(source), atol=1e-10)


def test_float32_and_broadcast_source() -> None:
    truth = _known_similarity(4, torch.float32)
    source = torch.randn(12, 3)
    fit = procrustes(source, truth.apply(source))
    assert fit.rotation.shape == (4, 3, 3) and fit.rotation.dtype == torch.float32
    assert torch.allclose(fit.apply(source), truth.apply(source), atol=1e-4)


def test_never_returns_a_reflection() -> None:
    source = torch.randn(5, 30, 3, dtype=F64)
    mirrored = source * torch.tensor([-1.0, 1.0, 1.0], dtype=F64)
    fit = procrustes(source, mirrored)
    assert torch.allclose(torch.linalg.det(fit.rotation), torch.ones(5, dtype=F64), atol=1e-10)
    assert (fit.scale > 0).all()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"source": torch.ones(5, 2), "target": torch.ones(5, 3)}, "source"),
        ({"source": torch.ones(5, 3), "target": torch.ones(4, 3)}, "target"),
        ({"source": torch.ones(0, 3), "target": torch.ones(0, 3)}, "source"),
        ({"source": np.ones((5, 3)), "target": np.ones((4, 3))}, "target"),
        ({"source": torch.ones(2, 5, 3), "target": torch.ones(3, 5, 3)}, "target"),
        ({"source": torch.ones(5, 3), "target": torch.ones(5, 3), "weights": torch.ones(4)}, "weights"),
        ({"source": torch.ones(5, 3), "target": torch.ones(5, 3), "weights": -torch.ones(5)}, "weights"),
        ({"source": torch.ones(5, 3), "target": torch.ones(5, 3), "weights": torch.zeros(5)}, "weights"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name) -> None:
    with pytest.raises(ValueError, match=name):
        procrustes(**kwargs)


def _naive_umeyama(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple:
    """Reference: Umeyama's SVD solution for one frame, written out step by step."""
    w = weights / weights.sum()
    mu_x, mu_y = w @ source, w @ target
    x, y = source - mu_x, target - mu_y
    u, singular, vt = np.linalg.svd((w[:, None] * y).T @ x)
    flip = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ flip @ vt
    scale = np.trace(np.diag(singular) @ flip) / (w @ (x * x).sum(axis=1))
    return rotation, mu_y - scale * rotation @ mu_x, scale


@pytest.mark.parametrize("weighted", [False, True])
def test_matches_naive_umeyama_on_random_frames(weighted) -> None:
    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(2, 4, 30, 3)), rng.normal(size=(2, 4, 30, 3))
    weights = rng.uniform(0.1, 1.0, size=(2, 4, 30)) if weighted else np.ones((2, 4, 30))
    fit = procrustes(source, target, weights if weighted else None)
    assert isinstance(fit.rotation, np.ndarray) and fit.batch_shape == (2, 4)
    for index in np.ndindex(2, 4):
        rotation, translation, scale = _naive_umeyama(source[index], target[index], weights[index])
        np.testing.assert_allclose(fit.rotation[index], rotation, atol=1e-10)
        np.testing.assert_allclose(fit.translation[index], translation, atol=1e-10)
        np.testing.assert_allclose(fit.scale[index], scale, atol=1e-10)


def test_numpy_and_torch_inputs_agree() -> None:
    source, target = torch.randn(3, 12, 3, dtype=F64), torch.randn(3, 12, 3, dtype=F64)
    from_torch = procrustes(source, target, scale=False)
    from_numpy = procrustes(source.numpy(), target.numpy(), scale=False)
    for name in ("rotation", "translation", "scale"):
        np.testing.assert_array_equal(getattr(from_numpy, name), getattr(from_torch, name).numpy())


def test_collapsed_source_lands_on_target_centroid() -> None:
    target = torch.randn(2, 10, 3, dtype=F64)
    fit = procrustes(torch.ones(2, 10, 3, dtype=F64), target)
    assert torch.equal(fit.scale, torch.zeros(2, dtype=F64))
    assert torch.equal(fit.rotation, torch.eye(3, dtype=F64).expand(2, 3, 3))
    aligned = fit.apply(torch.ones(2, 10, 3, dtype=F64))
    assert torch.allclose(aligned, target.mean(dim=1, keepdim=True).expand(2, 10, 3), atol=1e-12)


def test_two_points_give_an_exact_fit() -> None:
    truth = _known_similarity(1)
    source = torch.randn(1, 2, 3, dtype=F64)
    fit = procrustes(source, truth.apply(source))
    assert torch.allclose(fit.apply(source), truth.apply(source), atol=1e-10)
    assert torch.allclose(fit.scale, truth.scale, atol=1e-10)


def test_gradients_are_finite() -> None:
    source = torch.randn(2, 8, 3, dtype=F64, requires_grad=True)
    target = torch.randn(2, 8, 3, dtype=F64)
    fit = procrustes(source, target)
    fit.apply(source).sub(target).square().sum().backward()
    assert torch.isfinite(source.grad).all()
