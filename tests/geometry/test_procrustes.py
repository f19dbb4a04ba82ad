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
    truth = Similarity(torch.ones(2, dtype=F64), truth.rotation, truth.translation)
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
        ({"source": torch.ones(2, 3), "target": torch.ones(2, 3)}, "source"),
        ({"source": torch.ones(2, 5, 3), "target": torch.ones(3, 5, 3)}, "target"),
        ({"source": torch.ones(5, 3), "target": torch.ones(5, 3), "weights": torch.ones(4)}, "weights"),
        ({"source": torch.ones(5, 3), "target": torch.ones(5, 3), "weights": -torch.ones(5)}, "weights"),
        ({"source": torch.ones(5, 3), "target": torch.ones(5, 3), "weights": torch.zeros(5)}, "weights"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name) -> None:
    with pytest.raises(ValueError, match=name):
        procrustes(**kwargs)
