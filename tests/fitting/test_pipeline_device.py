"""Fitting on a named device: refusals before any work, the PHOSA preset accepted off the CPU, and the CPU
path through the device code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.device import DeviceError
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset, fit_device, load_context


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
