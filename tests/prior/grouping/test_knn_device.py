"""In-memory grouping on a named device: an explicit CPU device changes no bit, the accelerator path
(large tiles, torch kernel, work kept on the device) agrees with the CPU path when run on the CPU,
tile sizes fit the budget, and what a GPU cannot run is refused before any work.

The CUDA runs themselves are in ``tests/test_device_cuda.py`` (marker gpu)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import partial

import pytest
import torch

import hoirecon.prior.grouping.knn as knn
import hoirecon.prior.grouping.search as search
from hoirecon.device import DeviceError
from hoirecon.prior.grouping import descent
from hoirecon.prior.grouping.knn import GroupingConfig, group_images, recall_at_k
from hoirecon.prior.grouping.search import (
    BASE_TILE,
    DEVICE_QUERY_TILE,
    QUERY_TILE,
    Exclusion,
    distance_kernel,
    exact_knn,
    exact_tiles,
    exclusion_on,
    gathered_distances,
    nndescent_knn,
    unit_flat,
)
from hoirecon.prior.synthetic import synthetic_interactions

CPU = torch.device("cpu")
CONFIGS = {
    "exact": GroupingConfig(k=6, method="exact"),
    "nndescent": GroupingConfig(k=6, method="nndescent", max_distance=None),
    "reference": GroupingConfig(k=4, method="nndescent", score="reference", max_distance=0.05),
}


@pytest.fixture(scope="module")
def data():
    return synthetic_interactions(600, object_keypoints=3, n_clusters=12, jitter=0.03, pixel_noise=0.002, seed=5)


@pytest.fixture(scope="module")
def ids() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.arange(600) // 12, torch.arange(600) % 12   # 50 videos of 12 frames


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip((a.neighbours, a.distances, a.weights),
                                                 (b.neighbours, b.distances, b.weights)))


@pytest.mark.parametrize("name", list(CONFIGS))
def test_explicit_cpu_device_is_bit_identical_to_the_default(name: str, data, ids) -> None:
    default = group_images(data.x25d, CONFIGS[name], *ids)
    explicit = group_images(data.x25d, CONFIGS[name], *ids, device=CPU)
    named = group_images(data.x25d, CONFIGS[name], *ids, device="cpu")
    assert same(explicit, default) and same(named, default)
    assert default.valid.sum() > 0


def test_searches_with_an_explicit_cpu_device_are_bit_identical(data) -> None:
    queries = torch.arange(0, 600, 7)
    for a, b in zip(exact_knn(data.x25d, 5, queries=queries), exact_knn(data.x25d, 5, queries=queries, device=CPU)):
        assert torch.equal(a, b)
    for a, b in zip(nndescent_knn(data.x25d, 5, seed=2), nndescent_knn(data.x25d, 5, seed=2, device=CPU)):
        assert torch.equal(a, b)


@contextlib.contextmanager
def path(accelerated: bool) -> Iterator[None]:
    """Run the searches on the CPU by the CPU path or by the GPU one (large tiles, the torch kernel
    in chunks, the float64 cut in blocks), the latter with a small budget so that chunks are many."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "accelerated", lambda device: accelerated)
        patch.setattr(knn, "accelerated", lambda device: accelerated)
        patch.setattr(search, "DEVICE_TILE_BYTES", 1 << 20)
        yield


def test_accelerator_path_exact_agrees_with_the_cpu_path(data, ids) -> None:
    config = GroupingConfig(k=6, method="exact", max_distance=0.02)
    with path(accelerated=False):
        cpu = group_images(data.x25d, config, *ids, device=CPU)
    with path(accelerated=True):
        accelerated = group_images(data.x25d, config, *ids, device=CPU)
    torch.testing.assert_close(accelerated.distances, cpu.distances, rtol=1e-5, atol=0)
    assert (accelerated.neighbours == cpu.neighbours).float().mean() > 0.99   # ties may order differently
    assert accelerated.stats["dropped_far"] == cpu.stats["dropped_far"] > 0


def test_accelerator_path_exact_merges_tiles_like_the_cpu(data) -> None:
    queries = torch.arange(0, 600, 3)
    ref_i, ref_d = exact_knn(data.x25d, 8, queries=queries)
    tiled_i, tiled_d = exact_knn(data.x25d, 8, queries=queries, query_chunk=50, base_chunk=128, device=CPU)
    torch.testing.assert_close(tiled_d, ref_d, rtol=1e-6, atol=1e-7)
    assert (tiled_i == ref_i).float().mean() > 0.99


@pytest.mark.parametrize("name", ["nndescent", "reference"])
def test_accelerator_path_nndescent_agrees_with_the_cpu_path(name: str, data, ids,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with path(accelerated=True):
        accelerated = group_images(data.x25d, CONFIGS[name], *ids, device=CPU)
    fused = group_images(data.x25d, CONFIGS[name], *ids, device=CPU)
    monkeypatch.setattr(descent, "available", lambda: False)
    cpu = group_images(data.x25d, CONFIGS[name], *ids, device=CPU)
    # The torch rounds on the CPU: same random draws, distances equal to float32 rounding, (nearly)
    # the same graph; the fused CPU rounds draw differently and agree as two good searches do.
    assert recall_at_k(accelerated.neighbours, cpu.neighbours) >= 0.99
    assert recall_at_k(accelerated.neighbours, fused.neighbours) >= 0.95
    assert accelerated.neighbours.device.type == "cpu"
    if name == "nndescent":
        exact = group_images(data.x25d, GroupingConfig(k=CONFIGS[name].k, method="exact", max_distance=None), *ids)
        assert recall_at_k(accelerated.neighbours, exact.neighbours) >= 0.95


def test_torch_kernel_in_chunks_matches_the_cpu_kernel(data) -> None:
    x, flat = unit_flat(data.x25d)
    rows = torch.arange(100, 300)
    cand = torch.randint(-1, 600, (200, 90), generator=torch.Generator().manual_seed(1))
    assert isinstance(distance_kernel(x, flat, CPU), partial)          # the CPU path: gathered_distances
    with path(accelerated=True):
        kernel = distance_kernel(x, flat, CPU)
        assert not isinstance(kernel, partial)
        assert search.device_rows(CPU, 4 * 3 * x.shape[1] * 90) < 200   # several chunks
        d = kernel(rows, cand)
    torch.testing.assert_close(d, gathered_distances(flat, x, rows, cand), rtol=1e-5, atol=1e-6)
    assert torch.isinf(d[cand < 0]).all() and torch.isfinite(d[cand >= 0]).all()


def test_exact_tiles_fit_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    assert exact_tiles(CPU, 30) == (QUERY_TILE, BASE_TILE)
    gpu = torch.device("cuda", 0)
    for free in (140 << 30, 8 << 30, 1 << 30):
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None, free=free: (free, 141 << 30))
        for keypoints in (24, 30, 60):
            rows, columns = exact_tiles(gpu, keypoints)
            assert rows == DEVICE_QUERY_TILE and columns % BASE_TILE == 0
            assert 4 * keypoints * rows * columns <= max(min(search.DEVICE_TILE_BYTES, free // 16),
                                                         4 * keypoints * rows * BASE_TILE)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (140 << 30, 141 << 30))
    assert exact_tiles(gpu, 30)[1] >= 4 * BASE_TILE            # far larger than the CPU's tiles


def test_exclusion_moves_only_when_needed() -> None:
    exclusion = Exclusion(torch.zeros(4, 3), torch.arange(4), torch.arange(4), 2, 0.1)
    assert exclusion_on(exclusion, CPU) is exclusion
    moved = exclusion_on(exclusion, torch.device("meta"))
    assert moved.centers.device.type == "meta" and moved.video.device.type == "meta"
    assert (moved.min_frame_gap, moved.duplicate_distance) == (2, 0.1) and exclusion.centers.device == CPU


@pytest.fixture
def stand_in_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch reports a CUDA device (nothing may run on it: the checks must come first)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_pynndescent_is_refused_off_the_cpu(data, stand_in_cuda) -> None:
    with pytest.raises(ValueError, match="pynndescent.*CPU only"):
        group_images(data.x25d, GroupingConfig(k=4, method="pynndescent"), device="cuda")


def test_cuda_without_cuda_is_refused(data, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="no CUDA device"):
        group_images(data.x25d, GroupingConfig(k=4), device="cuda")
