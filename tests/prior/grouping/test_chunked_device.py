"""The chunked exact search on a named device: the CPU path equals the in-memory search; CUDA is refused when absent."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hoirecon.device import DeviceError
from hoirecon.prior.grouping.chunked import group_images_chunked
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.synthetic import synthetic_interactions

CONFIG = GroupingConfig(k=4, method="exact")


@pytest.fixture(scope="module")
def x25d() -> torch.Tensor:
    return synthetic_interactions(300, object_keypoints=2, n_clusters=6, jitter=0.02, pixel_noise=0.002, seed=4).x25d


def test_cpu_device_is_bit_identical_to_memory(x25d: torch.Tensor, tmp_path: Path) -> None:
    chunked = group_images_chunked(x25d, CONFIG, 100, tmp_path / "w", device="cpu")
    memory = group_images(x25d, CONFIG)
    assert torch.equal(chunked.neighbours, memory.neighbours)
    assert torch.equal(chunked.distances, memory.distances)


def test_cuda_without_cuda_fails_before_any_part(x25d: torch.Tensor, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="no CUDA device"):
        group_images_chunked(x25d, CONFIG, 100, tmp_path / "w", device="cuda")
    assert not (tmp_path / "w").exists()
