import math

import pytest
import torch

from hoirecon.geometry import points_to_rays, ray_distance, ray_distances

F64 = torch.float64


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


def _unit(*values: float) -> torch.Tensor:
    return torch.nn.functional.normalize(_t(*values), dim=-1)


def _naive_skew(rays_a, center_a, rays_b, center_b) -> torch.Tensor:
    normal = torch.linalg.cross(rays_a, rays_b)
    return ((center_a - center_b)[..., None, :] * normal).sum(-1).abs() / normal.norm(dim=-1)


def test_zero_for_rays_of_two_cameras_through_the_same_points() -> None:
    points = torch.randn(3, 12, 3, dtype=F64)
    center_a, center_b = 4.0 * torch.randn(2, 3, 3, dtype=F64)
    rays_a, rays_b = points_to_rays(points, center_a), points_to_rays(points, center_b)
    assert ray_distances(rays_a, center_a, rays_b, center_b).abs().max() < 1e-9
    assert ray_distance(rays_a, center_a, rays_b, center_b).shape == (3,)


def test_hand_computed_configuration() -> None:
    center_a, center_b = _t(0.0, 0.0, 0.0), _t(5.0, -2.0, 3.0)
    rays_a = torch.stack([_unit(1.0, 0.0, 0.0), _unit(1.0, 0.0, 0.0), _unit(0.0, 1.0, 0.0)])
    # Lines in the planes z = 0 and z = 3 (first two) are 3 apart; the third pair is parallel
    # along y, at distance |(-5, -3)| = sqrt(34) in the xz-plane.
    rays_b = torch.stack([_unit(0.0, 1.0, 0.0), _unit(1.0, 1.0, 0.0), _unit(0.0, -1.0, 0.0)])
    expected = _t(3.0, 3.0, math.sqrt(34.0))
    assert torch.allclose(ray_distances(rays_a, center_a, rays_b, center_b), expected, atol=1e-12)
    assert torch.allclose(ray_distance(rays_a, center_a, rays_b, center_b), expected.mean(), atol=1e-12)


def test_matches_skew_formula_for_non_parallel_rays_and_is_symmetric() -> None:
    rays_a = torch.nn.functional.normalize(torch.randn(5, 8, 3, dtype=F64), dim=-1)
    rays_b = torch.nn.functional.normalize(torch.randn(5, 8, 3, dtype=F64), dim=-1)
    center_a, center_b = torch.randn(5, 3, dtype=F64), torch.randn(3, dtype=F64)
    forward = ray_distances(rays_a, center_a, rays_b, center_b)
    assert torch.allclose(forward, _naive_skew(rays_a, center_a, rays_b, center_b), rtol=1e-9)
    assert torch.allclose(ray_distances(rays_b, center_b, rays_a, center_a), forward, atol=1e-14)


@pytest.mark.parametrize("angle", [0.0, 1e-12, 1e-7, math.pi])
def test_parallel_rays_finite_with_finite_gradients(angle: float) -> None:
    rays_a = _unit(1.0, 0.0, 0.0).expand(2, 3).clone().requires_grad_()
    rays_b = torch.stack([_t(math.cos(angle), math.sin(angle), 0.0)] * 2).requires_grad_()
    center_a = _t(0.0, 0.0, 0.0).requires_grad_()
    center_b = _t(7.0, 0.0, 4.0).requires_grad_()
    distance = ray_distances(rays_a, center_a, rays_b, center_b)
    assert torch.allclose(distance, _t(4.0, 4.0), atol=1e-6)
    distance.sum().backward()
    for tensor in (rays_a, rays_b, center_a, center_b):
        assert torch.isfinite(tensor.grad).all()


def test_gradients_finite_for_identical_rays_and_match_finite_differences() -> None:
    rays = torch.nn.functional.normalize(torch.randn(4, 3, dtype=F64), dim=-1).requires_grad_()
    center = torch.randn(3, dtype=F64).requires_grad_()
    ray_distance(rays, center, rays.detach(), center.detach()).backward()
    assert torch.isfinite(rays.grad).all() and torch.isfinite(center.grad).all()
    inputs = (torch.nn.functional.normalize(torch.randn(4, 3, dtype=F64), dim=-1), torch.randn(3, dtype=F64),
              torch.nn.functional.normalize(torch.randn(4, 3, dtype=F64), dim=-1), torch.randn(3, dtype=F64))
    assert torch.autograd.gradcheck(ray_distance, tuple(x.requires_grad_() for x in inputs))


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((torch.ones(4, 2), torch.zeros(3), torch.ones(4, 3), torch.zeros(3)), "rays_a"),
        ((torch.ones(4, 3), torch.zeros(3), torch.ones(5, 3), torch.zeros(3)), "rays_b"),
        ((torch.ones(4, 3), torch.zeros(3), torch.ones(4, 3), torch.zeros(4)), "center_b"),
        ((torch.ones(4, 3), torch.zeros(2, 3), torch.ones(3, 4, 3), torch.zeros(3)), "center_a"),
    ],
)
def test_bad_input_names_the_argument(args, name) -> None:
    with pytest.raises(ValueError, match=name):
        ray_distance(*args)


def test_float32_identical_and_nearly_identical_cameras_stay_finite() -> None:
    points = torch.randn(10, 3)
    center_a = torch.tensor([0.0, 0.0, -4.0], requires_grad=True)
    for offset in (0.0, 1e-5):
        center_b = center_a.detach() + offset
        rays_a, rays_b = points_to_rays(points, center_a), points_to_rays(points, center_b)
        distance = ray_distance(rays_a, center_a, rays_b, center_b)
        distance.backward()
        assert torch.isfinite(distance) and distance < 1e-3
        assert torch.isfinite(center_a.grad).all()
