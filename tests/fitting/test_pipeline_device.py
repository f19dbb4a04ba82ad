"""Fitting on a named device: refusals before any work, the PHOSA preset accepted off the CPU, the CPU
path through the device code, and the batch size chosen for the device."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.device import DeviceError
from hoirecon.fitting import pipeline
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import DEVICE_BATCH_SIZES, batch_size_for, fit_dataset, fit_device, load_context, plan_split


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("baseball_bat",), train=2, test=3, seed=5, image_size=96)
    return generate(tmp_path_factory.mktemp("fitdev") / "ds", config)


def test_cuda_without_cuda_fails_before_any_output(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="no CUDA device"):
        fit_dataset(tiny, "baseball_bat", "test", get_preset("none", object_steps=2, joint_steps=2), tmp_path / "o",
                    device="cuda")
    assert not (tmp_path / "o" / "fits").exists()


def test_phosa_runs_on_the_asked_device(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    data = load_dataset(tiny)
    ctx = load_context(data, "baseball_bat", get_preset("phosa", object_steps=2, joint_steps=2), None, None)
    ctx.device = "cuda"
    assert ctx.extra_terms is not None
    assert fit_device(ctx) == torch.device("cuda", 0)  # no longer refused: the terms follow the fit


def test_explicit_cpu_gives_the_default_fit(tiny: Path, tmp_path: Path) -> None:
    config = get_preset("none", object_steps=5, joint_steps=5)
    a = fit_dataset(tiny, "baseball_bat", "test", config, tmp_path / "a", device="cpu").results.columns
    b = fit_dataset(tiny, "baseball_bat", "test", config, tmp_path / "b").results.columns
    assert a["object_translation"].dtype.kind == "f"
    assert (a["object_translation"] == b["object_translation"]).all()


def test_the_batch_size_is_the_devices_unless_the_config_sets_one() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert get_preset("contact").batch_size is None
    assert batch_size_for(get_preset("contact"), cpu) == 64  # every CPU figure so far was taken at 64
    assert batch_size_for(get_preset("contact"), cuda) == DEVICE_BATCH_SIZES["cuda"] > 64
    assert batch_size_for(get_preset("contact", batch_size=7), cpu) == 7
    assert batch_size_for(get_preset("contact", batch_size=7), cuda) == 7


def test_the_split_is_cut_at_the_devices_batch_size(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DEVICE_BATCH_SIZES, "cpu", 2)
    data = load_dataset(tiny)
    ctx = load_context(data, "baseball_bat", get_preset("none"), None, None)
    ctx.device = "cpu"
    samples = list(data.samples("baseball_bat", "test"))
    assert [len(b.samples) for b in plan_split(ctx, samples, tmp_path, "k").batches] == [2, 1]
    ctx.config = get_preset("none", batch_size=3)
    assert [len(b.samples) for b in plan_split(ctx, samples, tmp_path, "k").batches] == [3]


def test_the_record_holds_the_batch_size_used(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fit left to the device's batch size is recorded (and resumed) as the same fit with that size given."""
    monkeypatch.setitem(DEVICE_BATCH_SIZES, "cpu", 2)
    config = get_preset("none", object_steps=2, joint_steps=2)
    fit_dataset(tiny, "baseball_bat", "test", config, tmp_path, device="cpu")
    entry = json.loads((tmp_path / "fit.json").read_text())["categories"]["baseball_bat"]
    assert entry["config"]["batch_size"] == 2
    parts = sorted(p.name for p in (tmp_path / "fits" / ".parts").glob("*.npz"))
    assert len(parts) == 2
    monkeypatch.setattr(pipeline, "fit_samples", lambda *a, **k: pytest.fail("finished batches must not be refitted"))
    fit_dataset(tiny, "baseball_bat", "test", replace(config, batch_size=2), tmp_path, device="cpu")
    assert sorted(p.name for p in (tmp_path / "fits" / ".parts").glob("*.npz")) == parts
