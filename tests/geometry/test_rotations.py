import math

import numpy as np
import pytest
import roma
import torch

from hoirecon.geometry import (
    axis_angle_to_rotmat,
    geodesic_angle,
    rot6d_to_rotmat,
    rotmat_to_axis_angle,
    rotmat_to_rot6d,
)

F64 = torch.float64


def _rot_z(angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=F64)


def test_axis_angle_known_rotation() -> None:
    R = axis_angle_to_rotmat(torch.tensor([0.0, 0.0, math.pi / 2], dtype=F64))
    assert torch.allclose(R, _rot_z(math.pi / 2), atol=1e-12)
    x_axis, y_axis = torch.eye(3, dtype=F64)[:2]
    assert torch.allclose(R @ x_axis, y_axis, atol=1e-12)


def test_axis_angle_round_trip_any_leading_dims() -> None:
    axis_angle = roma.random_rotvec((2, 5), dtype=F64)
    R = axis_angle_to_rotmat(axis_angle)
    assert R.shape == (2, 5, 3, 3)
    assert torch.allclose(rotmat_to_axis_angle(R), axis_angle, atol=1e-10)


def test_rot6d_round_trip_and_column_convention() -> None:
    R = roma.random_rotmat((4, 3), dtype=F64)
    rot6d = rotmat_to_rot6d(R)
    assert rot6d.shape == (4, 3, 6)
    assert torch.equal(rot6d[..., :3], R[..., :, 0])
    assert torch.equal(rot6d[..., 3:], R[..., :, 1])
    assert torch.allclose(rot6d_to_rotmat(rot6d), R, atol=1e-12)


def test_rot6d_to_rotmat_orthonormalises_arbitrary_input() -> None:
    R = rot6d_to_rotmat(torch.randn(10, 6, dtype=F64))
    assert torch.allclose(R.mT @ R, torch.eye(3, dtype=F64).expand(10, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(10, dtype=F64), atol=1e-12)


@pytest.mark.parametrize("scale", [0.0, 1e-9, 1.0])
def test_axis_angle_to_rotmat_gradcheck(scale: float) -> None:
    axis_angle = (scale * torch.randn(3, 3, dtype=F64)).requires_grad_()
    assert torch.autograd.gradcheck(axis_angle_to_rotmat, (axis_angle,))


@pytest.mark.parametrize("angle", [0.0, 0.3, 2.0])
def test_rotmat_to_axis_angle_gradcheck(angle: float) -> None:
    axis = torch.nn.functional.normalize(torch.randn(2, 3, dtype=F64), dim=-1)
    R = axis_angle_to_rotmat(angle * axis).detach().requires_grad_()
    assert torch.autograd.gradcheck(rotmat_to_axis_angle, (R,))


def test_rot6d_to_rotmat_gradcheck() -> None:
    rot6d = torch.randn(4, 6, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(rot6d_to_rotmat, (rot6d,))


def test_geodesic_angle_known_values() -> None:
    angles = torch.tensor([0.0, 0.1, 1.0, 3.0], dtype=F64)
    R_b = torch.stack([_rot_z(float(a)) for a in angles])
    R_a = torch.eye(3, dtype=F64)
    assert torch.allclose(geodesic_angle(R_a, R_b), angles, atol=1e-10)


def test_geodesic_angle_is_invariant_and_symmetric() -> None:
    R_a, R_b, Q = roma.random_rotmat((3, 6), dtype=F64)
    angle = geodesic_angle(R_a, R_b)
    assert torch.allclose(geodesic_angle(Q @ R_a, Q @ R_b), angle, atol=1e-10)
    assert torch.allclose(geodesic_angle(R_b, R_a), angle, atol=1e-12)
    relative = rotmat_to_axis_angle(R_a.mT @ R_b).norm(dim=-1)
    assert torch.allclose(angle, relative, atol=1e-10)


def test_geodesic_angle_gradient_finite_at_zero() -> None:
    R = roma.random_rotmat(2, dtype=F64).requires_grad_()
    geodesic_angle(R, R.detach()).sum().backward()
    assert torch.isfinite(R.grad).all()


@pytest.mark.parametrize(
    ("func", "bad", "name"),
    [
        (axis_angle_to_rotmat, torch.zeros(4), "axis_angle"),
        (rotmat_to_axis_angle, torch.zeros(3, 4), "rotmat"),
        (rot6d_to_rotmat, torch.zeros(2, 5), "rot6d"),
        (rotmat_to_rot6d, torch.zeros(6), "rotmat"),
        (rotmat_to_axis_angle, torch.zeros(3, 3, dtype=torch.int64), "rotmat"),
    ],
)
def test_bad_shapes_name_the_argument(func, bad, name) -> None:
    with pytest.raises(ValueError, match=name):
        func(bad)


def test_geodesic_angle_bad_shape_names_argument() -> None:
    with pytest.raises(ValueError, match="R_b"):
        geodesic_angle(torch.eye(3), torch.zeros(3))
    with pytest.raises(ValueError, match="R_b"):
        geodesic_angle(torch.eye(3).expand(2, 3, 3), torch.eye(3).expand(4, 3, 3))


@pytest.mark.parametrize("angle", [0.0, 1e-9, 1e-6, 1.0, math.pi - 1e-6, math.pi - 1e-9, math.pi])
def test_geodesic_angle_keeps_full_precision_near_zero_and_pi(angle) -> None:
    axes = torch.nn.functional.normalize(torch.randn(5, 3, dtype=F64), dim=-1)
    R_a = roma.random_rotmat(5, dtype=F64)
    R_b = axis_angle_to_rotmat(angle * axes) @ R_a
    got = geodesic_angle(R_b, R_a)
    assert torch.allclose(got, torch.full((5,), angle, dtype=F64), rtol=1e-6, atol=1e-13)


def test_geodesic_angle_numpy_matches_torch() -> None:
    R_a, R_b = roma.random_rotmat((2, 4, 3), dtype=F64)
    from_numpy = geodesic_angle(R_a.numpy(), R_b[:1].numpy())
    assert isinstance(from_numpy, np.ndarray) and from_numpy.shape == (4, 3)
    np.testing.assert_array_equal(from_numpy, geodesic_angle(R_a, R_b[:1]).numpy())


@pytest.mark.parametrize("angle", [0.0, 1e-8, math.pi - 1e-8, math.pi])
def test_geodesic_angle_gradient_finite_near_zero_and_pi(angle) -> None:
    R = axis_angle_to_rotmat(torch.tensor([0.0, angle, 0.0], dtype=F64)).requires_grad_()
    geodesic_angle(R, torch.eye(3, dtype=F64)).backward()
    assert torch.isfinite(R.grad).all()
