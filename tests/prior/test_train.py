"""Training: resume after interruption, atomic checkpoints, early stopping, metrics, modes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.prior import atomic_save, load_prior
from hoirecon.prior.synthetic import synthetic_interactions
from hoirecon.prior.train import Progress, train_prior
from hoirecon.prior.train_config import TrainConfig

TINY = TrainConfig(flow=FlowConfig(depth=2, width=16), encoder=EncoderConfig(width=16, features=8),
                   epochs=3, batch_size=16, neighbours_per_step=3, lr=1e-3, checkpoint_every=3,
                   init_images=64, val_fraction=0.2, patience=None)


@pytest.fixture(scope="module")
def data():
    return synthetic_interactions(60, object_keypoints=2, n_clusters=4, jitter=0.02, pixel_noise=0.002)


@pytest.fixture(scope="module")
def grouping(data):
    return group_images(data.x25d, GroupingConfig(k=4))


class Interrupt(Exception):
    """Stands in for the process being killed."""


def _history(result) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in result.history]


def test_resume_after_interruption_matches_uninterrupted(data, grouping, tmp_path: Path) -> None:
    reference = train_prior(data.x25d, data.observations, grouping, TINY, tmp_path / "a")

    def kill_at_step_5(event: Progress) -> None:
        if event.phase == "step" and event.step == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_prior(data.x25d, data.observations, grouping, TINY, tmp_path / "b", callback=kill_at_step_5)
    saved = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert saved["state"]["step"] == 3  # the last checkpoint before the kill
    assert not (tmp_path / "b" / "prior.pt").exists()

    steps: list[int] = []
    resumed = train_prior(data.x25d, data.observations, grouping, TINY, tmp_path / "b",
                          callback=lambda e: steps.append(e.step) if e.phase == "step" else None)
    assert steps[0] == 4 and resumed.steps == reference.steps == steps[-1]
    assert _history(resumed) == _history(reference)
    expected = load_prior(reference.prior_path).state_dict()
    for name, value in load_prior(resumed.prior_path).state_dict().items():
        torch.testing.assert_close(value, expected[name], atol=1e-6, rtol=1e-6, msg=name)


def test_checkpoint_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "checkpoint.pt"
    atomic_save({"step": 1}, path)
    before = path.read_bytes()

    def broken_save(obj: object, target: Path) -> None:
        Path(target).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        atomic_save({"step": 2}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_early_stopping_and_metrics_log(data, grouping, tmp_path: Path) -> None:
    frozen = replace(TINY, lr=0.0, epochs=10, patience=2)  # no update can improve validation
    result = train_prior(data.x25d, data.observations, grouping, frozen, tmp_path)
    assert result.stopped_early and result.epochs == 3 and result.best_epoch == 1
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert all({"train_nll", "val_nll", "val_nll_own", "step"} <= set(r) for r in records)


def test_trained_prior_round_trip_and_samples(data, grouping, tmp_path: Path) -> None:
    result = train_prior(data.x25d, data.observations, grouping, replace(TINY, epochs=1), tmp_path)
    prior = load_prior(result.prior_path)
    again = load_prior(result.prior_path)
    obs = data.observations[:4]
    samples = prior.sample(obs, 5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, 5, 25, 3)
    torch.testing.assert_close(samples[..., :-1, :].norm(dim=-1), torch.ones(4, 5, 24))
    torch.testing.assert_close(prior.log_prob(obs, samples), again.log_prob(obs, samples))
    assert prior.log_prob(obs, samples).shape == (4, 5)
    assert prior.layout.n_object == 2 and prior.metadata["supervision"] == "2d-knn"


def test_supervision_modes_and_input_errors(data, grouping, tmp_path: Path) -> None:
    one = replace(TINY, epochs=1)
    views = torch.stack([data.x25d, data.x25d.flip(0), data.x25d.roll(1, 0)], dim=1)
    result = train_prior(views, data.observations, None, replace(one, supervision="3d"), tmp_path / "3d")
    assert result.steps > 0
    knn = train_prior(data.x25d, data.observations, None, one, tmp_path / "knn")
    assert (tmp_path / "knn" / "grouping.npz").is_file() and knn.steps > 0
    with pytest.raises(ValueError, match="grouping"):
        train_prior(data.x25d, data.observations, None, replace(one, supervision="2d-gt-groups"), tmp_path)
    with pytest.raises(ValueError, match="observations"):
        train_prior(data.x25d, data.observations[:, :5], grouping, one, tmp_path)
    with pytest.raises(ValueError, match="supervision"):
        replace(one, supervision="3D")
    other = replace(one, lr=5e-4)
    with pytest.raises(ValueError, match="different config"):
        train_prior(data.x25d, data.observations, None, other, tmp_path / "knn")
