"""Data-parallel training: sharded gradients add up to the single-process gradient; two processes
under torchrun keep identical weights, match one process, write files only from rank 0, and
leave a checkpoint that resumes in one process (and back in two)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.prior.distributed import TORCHRUN_VARIABLES, World, init_from_env
from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.layout import KeypointLayout
from hoirecon.prior.prior import Prior, load_prior
from hoirecon.prior.synthetic import synthetic_interactions
from hoirecon.prior.train import train_prior
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.train_step import weighted_nll
from hoirecon.prior.training_set import TrainingSet

DATA = {"n_images": 61, "object_keypoints": 2, "n_clusters": 4, "jitter": 0.02, "pixel_noise": 0.002}
"""61 images: 49 train rows, so each epoch's last batch has one image and leaves rank 1 idle."""

TINY = TrainConfig(flow=FlowConfig(depth=2, width=16), encoder=EncoderConfig(width=16, features=8),
                   grouping=GroupingConfig(k=4), epochs=2, batch_size=16, neighbours_per_step=4,
                   lr=1e-3, checkpoint_every=100, init_images=64, val_fraction=0.2, patience=None,
                   flip_probability=0.0, dequantization=0.0)
"""No random augmentation and every neighbour in every step: training is deterministic, so one and
two processes must agree up to float rounding."""

WORKER = '''
import os, sys, json
import torch
import hoirecon.prior.train as train_module
from hoirecon.prior.distributed import shutdown
from hoirecon.prior.synthetic import synthetic_interactions

report, runs, data = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
torch.set_num_threads(1)
made, replaced = [], []


class Recorded(train_module.Prior):  # keeps the trained model of this rank
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        made.append(self)


def recording_replace(src, dst, _replace=os.replace):  # every file write ends in os.replace
    replaced.append(os.path.basename(dst))
    _replace(src, dst)


train_module.Prior, os.replace = Recorded, recording_replace
synthetic = synthetic_interactions(**data)
for i, (out, config) in enumerate(runs):
    replaced.clear()
    result = train_module.train_prior(synthetic.x25d, synthetic.observations, None,
                                      train_module.TrainConfig.from_dict(config), out, distributed=True)
    torch.save({"weights": made[-1].state_dict(), "replaced": list(replaced),
                "history": result.history, "steps": result.steps},
               f"{report}/run{i}-rank{os.environ['RANK']}.pt")
shutdown()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(tmp_path: Path, runs: list[tuple[Path, TrainConfig]]) -> list[list[dict]]:
    """Train each run in turn with two processes (one launch); returns per run each rank's report
    (final weights, names of the files it wrote, history, steps)."""
    script, report = tmp_path / "worker.py", tmp_path / "report"
    script.write_text(WORKER)
    report.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARIABLES}
    env.update(OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")
    plan = json.dumps([(str(out), asdict(config)) for out, config in runs])
    for _ in range(3):  # another program may take the free port before torchrun binds it
        command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
                   "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script),
                   str(report), plan, json.dumps(DATA)]
        run = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        if "EADDRINUSE" not in run.stderr:
            break
    assert run.returncode == 0, run.stderr[-3000:]
    return [[torch.load(report / f"run{i}-rank{r}.pt", weights_only=False) for r in range(2)]
            for i in range(len(runs))]


def _history(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def _assert_same_weights(a: dict, b: dict, tol: float) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=tol, rtol=tol, msg=name)


@pytest.mark.slow
def test_two_processes_match_one_write_from_rank_0_and_resume_anywhere(tmp_path: Path) -> None:
    data = synthetic_interactions(**DATA)
    single = train_prior(data.x25d, data.observations, None, TINY, tmp_path / "single")
    expected = load_prior(single.prior_path).state_dict()
    fresh, resumed = tmp_path / "fresh", tmp_path / "resumed"
    first = train_prior(data.x25d, data.observations, None, replace(TINY, epochs=1), resumed)
    ranks, from_one = _torchrun(tmp_path, [(fresh, TINY), (resumed, TINY)])

    for report in (ranks, from_one):  # (a) identical ranks, equal to one process up to rounding
        _assert_same_weights(report[0]["weights"], report[1]["weights"], tol=0.0)
        _assert_same_weights(report[0]["weights"], expected, tol=1e-4)
        assert _history(report[0]["history"]) == _history(report[1]["history"])
        assert report[0]["steps"] == single.steps == 8
        for got, want in zip(_history(report[0]["history"]), _history(single.history)):
            assert got.keys() == want.keys() and all(got[k] == pytest.approx(want[k], rel=1e-4) for k in got)
    assert from_one[0]["history"][:1] == first.history  # one process's checkpoint resumed in two

    assert ranks[1]["replaced"] == [] and from_one[1]["replaced"] == []  # (c) rank 0 writes all files
    assert set(ranks[0]["replaced"]) == {"grouping.npz", "checkpoint.pt", "metrics.jsonl", "prior.pt"}
    assert sorted(p.name for p in fresh.iterdir()) == ["checkpoint.pt", "grouping.npz", "metrics.jsonl", "prior.pt"]

    longer = train_prior(data.x25d, data.observations, None, replace(TINY, epochs=3), fresh)  # (b)
    assert longer.steps == 12 and longer.history[:2] == ranks[0]["history"]
    assert longer.history[2]["train_nll"] < longer.history[0]["train_nll"]


def test_sharded_gradients_sum_to_the_single_process_gradient() -> None:
    data = synthetic_interactions(**DATA)
    training = TrainingSet(data.x25d, data.observations, group_images(data.x25d, GroupingConfig(k=4)))
    prior = Prior(TINY.flow, TINY.encoder, KeypointLayout.for_object(2))
    rows = torch.randperm(len(training), generator=torch.Generator().manual_seed(0))[:15]

    def gradient(rows: torch.Tensor, weight_sum: torch.Tensor | None) -> tuple[list[torch.Tensor], torch.Tensor]:
        prior.zero_grad()
        total, weight, _ = weighted_nll(prior, training.batch(rows, None, None))
        (total / (weight if weight_sum is None else weight_sum)).backward()
        return [p.grad.clone() for p in prior.parameters()], weight

    full, _ = gradient(rows, None)
    shards = [World(rank, 2).shard(rows) for rank in range(2)]
    assert [len(s) for s in shards] == [8, 7] and torch.equal(torch.cat(shards), rows)
    weights = [training.batch(s, None, None).weights.sum() for s in shards]
    assert not torch.isclose(weights[0] / len(shards[0]), weights[1] / len(shards[1]))
    summed = [sum(g) for g in zip(*(gradient(s, sum(weights))[0] for s in shards))]
    for got, want in zip(summed, full):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    naive = [sum(g) / 2 for g in zip(*(gradient(s, None)[0] for s in shards))]  # a mean of shard means
    assert max(float((a - b).abs().max()) for a, b in zip(naive, full)) > 1e-3


def test_rank_generators_and_sharding() -> None:
    base = torch.Generator().manual_seed(5)
    assert World(0, 2).generator(base, seed=0, step=3) is base

    def draw(rank: int, step: int, seed: int = 0) -> torch.Tensor:
        return torch.rand(4, generator=World(rank, 2).generator(base, seed, step))

    assert torch.equal(draw(1, 3), draw(1, 3))
    assert not torch.equal(draw(1, 3), draw(1, 4)) and not torch.equal(draw(1, 3), draw(1, 3, seed=1))
    assert World(1, 3).generator(base, 0, 3).initial_seed() != World(2, 3).generator(base, 0, 3).initial_seed()
    rows = torch.arange(5)
    assert [World(r, 3).shard(rows).tolist() for r in range(3)] == [[0, 1], [2, 3], [4]]
    assert [World(r, 8).shard(rows[:1]).numel() for r in range(8)] == [1] + [0] * 7


def test_distributed_without_torchrun_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="RANK.*torchrun"):
        init_from_env()
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--category", "baseball_bat",
                                      "--out", str(tmp_path / "p.pt"), "--distributed"])
    assert result.exit_code == 2 and "torchrun" in result.output
    assert list(tmp_path.iterdir()) == []
