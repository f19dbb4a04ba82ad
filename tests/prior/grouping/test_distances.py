"""Batched ray-distance kernels against direct formulas and known geometry."""

from __future__ import annotations

import pytest
import torch

from hoirecon.prior.grouping._numba import gathered_distances as numba_gathered_distances
from hoirecon.prior.grouping._numba import pynndescent_metric
from hoirecon.prior.grouping.distances import (
    PARALLEL_EPS,
    RaySet,
    paired_ray_distance,
    paired_ray_distances,
    pairwise_ray_distance,
)
from hoirecon.prior.grouping.search import gathered_distances, torch_gathered_distances, unit_flat
from hoirecon.prior.synthetic import synthetic_interactions


def naive_distance(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-6) -> float:
    """Eq. (11) with one Python loop over keypoints, in float64."""
    a, b = a.double(), b.double()
    total = 0.0
    for k in range(a.shape[0] - 1):
        da, db = a[k] / a[k].norm(), b[k] / b[k].norm()
        offset = a[-1] - b[-1]
        normal = torch.linalg.cross(da, db)
        s2 = float(normal @ normal)
        skew = abs(float(offset @ normal)) / max(s2, eps**2) ** 0.5
        parallel = 0.5 * (torch.linalg.cross(offset, da).norm() + torch.linalg.cross(offset, db).norm())
        w = s2 / (s2 + eps**2)
        total += w * skew + (1 - w) * float(parallel)
    return total / (a.shape[0] - 1)


def random_x25d(n: int, keypoints: int = 5) -> torch.Tensor:
    rays = torch.nn.functional.normalize(torch.randn(n, keypoints, 3), dim=-1)
    return torch.cat([rays, 3 * torch.randn(n, 1, 3)], dim=1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pairwise_matches_naive_including_parallel_rays(dtype: torch.dtype) -> None:
    a, b = random_x25d(6), random_x25d(7)
    b[0] = a[0]                                   # identical images
    b[1, :-1] = a[1, :-1]                         # all rays parallel, centres apart
    b[2, 0] = a[2, 0] + 1e-4                      # one nearly parallel ray
    expected = torch.tensor([[naive_distance(p, q) for q in b] for p in a], dtype=torch.float64)
    actual = pairwise_ray_distance(a.to(dtype), b.to(dtype)).double()
    tol = 1e-9 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(actual, expected, atol=tol, rtol=tol)
    assert actual[1, 1] > 0.1  # parallel rays from different centres are not "intersecting"


def test_matches_geometry_ray_distance() -> None:
    import hoirecon.geometry as geometry
    a, b = random_x25d(5).double(), random_x25d(4).double()
    expected = geometry.ray_distance(a[:, None, :-1], a[:, None, -1], b[None, :, :-1], b[None, :, -1])
    torch.testing.assert_close(pairwise_ray_distance(a, b), expected, atol=1e-9, rtol=0)
    torch.testing.assert_close(paired_ray_distance(a[:, None], b[None]), expected, atol=1e-9, rtol=0)


def test_two_views_of_one_configuration_are_at_distance_zero() -> None:
    data = synthetic_interactions(6, n_clusters=1, jitter=0.0)
    d = pairwise_ray_distance(data.x25d.double(), data.x25d.double())
    assert d.abs().max() < 1e-6  # metres; the synthetic data are float32
    other = synthetic_interactions(6, n_clusters=1, jitter=0.0, seed=1)
    assert pairwise_ray_distance(data.x25d, other.x25d).min() > 0.01


def test_parallel_rays_are_finite_with_finite_gradients() -> None:
    a = random_x25d(1).double()
    b = a.clone()
    b[0, -1] += torch.tensor([0.3, 0.0, 0.0], dtype=torch.float64)
    b[0, :-1] = a[0, :-1]
    b.requires_grad_(True)
    d = paired_ray_distances(a, b)
    d.sum().backward()
    assert torch.isfinite(d).all() and torch.isfinite(b.grad).all()
    assert torch.isfinite(pairwise_ray_distance(a, b.detach())).all()


def test_gathered_kernels_agree_with_pairwise() -> None:
    x = random_x25d(30)
    unit, flat = unit_flat(x)
    rows = torch.arange(30)
    cand = torch.randint(0, 30, (30, 7))
    cand[0, 0] = -1
    expected = pairwise_ray_distance(RaySet(unit.double()), RaySet(unit.double()))
    expected = expected.gather(1, cand.clamp_min(0)).float().masked_fill(cand < 0, float("inf"))
    numba = torch.from_numpy(numba_gathered_distances(flat, rows.numpy(), cand.numpy(), PARALLEL_EPS**2))
    for actual in (numba, gathered_distances(flat, unit, rows, cand), torch_gathered_distances(unit, rows, cand)):
        torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def test_pynndescent_metric_is_the_pairwise_ray_distance() -> None:
    x = random_x25d(12)
    unit, flat = unit_flat(x)
    expected = pairwise_ray_distance(RaySet(unit.double()), RaySet(unit.double()))
    actual = torch.tensor([[pynndescent_metric(flat[i], flat[j]) for j in range(12)] for i in range(12)])
    torch.testing.assert_close(actual, expected.float(), atol=1e-5, rtol=1e-5)
