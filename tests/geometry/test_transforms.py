"""Contract of the rigid and similarity transforms, for torch and numpy fields alike."""

import numpy as np
import pytest
import roma
import torch

from hoirecon.geometry import RigidTransform, Similarity

F64 = torch.float64
BATCH = (2, 3)
KINDS = ("torch", "numpy")


def _as(kind: str, value: torch.Tensor):
    return value if kind == "torch" else value.numpy()


def _random(cls, kind: str, batch: tuple[int, ...] = BATCH):
    fields = {"rotation": roma.random_rotmat(batch, dtype=F64),
              "translation": torch.randn(*batch, 3, dtype=F64)}
    if cls is Similarity:
        fields["scale"] = 0.5 + 2.0 * torch.rand(batch, dtype=F64)
    return cls(**{name: _as(kind, value) for name, value in fields.items()})


def _points(kind: str, batch: tuple[int, ...] = BATCH):
    return _as(kind, torch.randn(*batch, 7, 3, dtype=F64))


def _close(a, b, atol: float = 1e-12) -> bool:
    return bool(np.allclose(np.asarray(a), np.asarray(b), atol=atol))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cls", [RigidTransform, Similarity])
def test_inverse_round_trip(cls, kind) -> None:
    transform, points = _random(cls, kind), _points(kind)
    inverse = transform.inverse()
    assert isinstance(inverse, cls) and inverse.batch_shape == BATCH
    assert _close(inverse.apply(transform.apply(points)), points)
    assert _close(transform.apply(inverse.apply(points)), points)
    assert _close(inverse.inverse().rotation, transform.rotation)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cls", [RigidTransform, Similarity])
def test_compose_is_apply_after_apply_and_associative(cls, kind) -> None:
    a, b, c = (_random(cls, kind) for _ in range(3))
    points = _points(kind)
    assert _close(a.compose(b).apply(points), a.apply(b.apply(points)))
    assert _close(a.compose(b).compose(c).apply(points), a.compose(b.compose(c)).apply(points))
    identity = a.compose(a.inverse())
    assert _close(identity.apply(points), points)
    assert _close(identity.rotation, np.broadcast_to(np.eye(3), (*BATCH, 3, 3)))


@pytest.mark.parametrize("kind", KINDS)
def test_apply_matches_the_formula(kind) -> None:
    sim, points = _random(Similarity, kind), _points(kind)
    scale, rotation, translation, pts = map(np.asarray, (sim.scale, sim.rotation, sim.translation, points))
    expected = scale[..., None, None] * np.einsum("...ij,...pj->...pi", rotation, pts) + translation[..., None, :]
    assert _close(sim.apply(points), expected)
    rigid = RigidTransform(sim.rotation, sim.translation)
    assert _close(Similarity.from_rigid(rigid).apply(points), rigid.apply(points))
    result = sim.apply(points)
    assert isinstance(result, torch.Tensor if kind == "torch" else np.ndarray)


@pytest.mark.parametrize("kind", KINDS)
def test_batch_dims_broadcast_and_index(kind) -> None:
    shared = _random(RigidTransform, kind, batch=())
    rotation = _as(kind, roma.random_rotmat(4, dtype=F64))
    per_frame = RigidTransform(rotation=rotation, translation=shared.translation)
    assert per_frame.batch_shape == (4,) and tuple(per_frame.translation.shape) == (4, 3)
    second = per_frame[1]
    assert second.batch_shape == () and _close(second.rotation, rotation[1])
    points = _points(kind, batch=())
    assert tuple(per_frame.apply(points).shape) == (4, 7, 3)
    assert tuple(shared.compose(per_frame).rotation.shape) == (4, 3, 3)
    assert _close(per_frame[1:3].apply(points), per_frame.apply(points)[1:3])


def test_float64_gradients_reach_every_field() -> None:
    sim = _random(Similarity, "torch")
    fields = {name: getattr(sim, name).clone().requires_grad_() for name in ("rotation", "translation", "scale")}
    points = _points("torch")
    Similarity(**fields).compose(sim).inverse().apply(points).square().sum().backward()
    assert all(torch.isfinite(v.grad).all() and (v.grad != 0).any() for v in fields.values())


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: RigidTransform(torch.eye(2), torch.zeros(3)), "rotation"),
        (lambda: RigidTransform(torch.eye(3), torch.zeros(4)), "translation"),
        (lambda: RigidTransform(torch.eye(3).expand(2, 3, 3), torch.zeros(3, 3)), "translation"),
        (lambda: RigidTransform(torch.eye(3), np.zeros(3)), "translation"),
        (lambda: RigidTransform(torch.eye(3, dtype=F64), torch.zeros(3)), "translation"),
        (lambda: RigidTransform(torch.eye(3), torch.zeros(3, dtype=torch.long)), "translation"),
        (lambda: Similarity(np.eye(3), np.zeros(3), 1.0), "scale"),
        (lambda: RigidTransform(np.eye(3), np.zeros(3)).apply(torch.zeros(4, 3)), "points"),
        (lambda: RigidTransform(np.eye(3), np.zeros(3)).apply(np.zeros((4, 2))), "points"),
    ],
)
def test_bad_input_names_the_field(call, name) -> None:
    with pytest.raises(ValueError, match=name):
        call()
