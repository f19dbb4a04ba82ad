"""Prior training on a named device: the CPU path through the device code, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hoirecon.device import DeviceError, device_scope
from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.synthetic import synthetic_interactions
from hoirecon.prior.train import Progress, train_prior
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.training_set import TrainingSet

TINY = TrainConfig(flow=FlowConfig(depth=2, width=16), encoder=EncoderConfig(width=16, features=8),
                   epochs=2, batch_size=16, neighbours_per_step=3, lr=1e-3, checkpoint_every=2,
                   init_images=64, val_fraction=0.2, patience=None)


@pytest.fixture(scope="module")
def data():
    return synthetic_interactions(40, object_keypoints=2, n_clusters=4, jitter=0.02, pixel_noise=0.002)


@pytest.fixture(scope="module")
def grouping(data):
    return group_images(data.x25d, GroupingConfig(k=4))


def test_explicit_cpu_equals_the_default(data, grouping, tmp_path: Path) -> None:
    a = train_prior(data.x25d, data.observations, grouping, TINY, tmp_path / "a", device="cpu")
    b = train_prior(data.x25d, data.observations, grouping, TINY, tmp_path / "b")
    assert a.history[-1]["val_nll"] == b.history[-1]["val_nll"]
    assert a.history[-1]["train_nll"] == pytest.approx(b.history[-1]["train_nll"])


def test_cuda_without_cuda_fails_before_any_file(data, grouping, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="no CUDA device"):
        train_prior(data.x25d, data.observations, grouping, TINY, tmp_path / "c", device="cuda")
    assert not (tmp_path / "c").exists()
    with pytest.raises(DeviceError, match="no CUDA device"), device_scope("cuda"):
        pass


def test_progress_reads_the_nll_only_when_asked(data, grouping, tmp_path: Path) -> None:
    events: list[Progress] = []
    train_prior(data.x25d, data.observations, grouping, TINY, tmp_path / "d", callback=events.append)
    steps = [e for e in events if e.phase == "step"]
    assert all(isinstance(e.nll_sums[0], torch.Tensor) for e in steps)
    assert all(torch.isfinite(torch.tensor(e.train_nll)) for e in steps)
    epoch = [e for e in events if e.phase == "epoch"][0]
    assert epoch.train_nll == pytest.approx(float(epoch.nll_sums[0]))


def test_training_set_moves_with_its_fingerprint(data, grouping) -> None:
    cpu = TrainingSet(data.x25d, data.observations, grouping)
    moved = cpu.to(torch.device("cpu"))
    assert moved.device == torch.device("cpu") and moved.fingerprint() == cpu.fingerprint()
    rows = torch.arange(8)
    a = cpu.batch(rows, 2, torch.Generator().manual_seed(3))
    b = moved.batch(rows, 2, torch.Generator().manual_seed(3))
    assert torch.equal(a.targets, b.targets) and torch.equal(a.weights, b.weights)
