"""--device on the heavy commands: one line naming the option when CUDA is asked for and absent."""

from __future__ import annotations

import os

import pytest
import torch
from typer.testing import CliRunner

import hoirecon.cli.experiment_cmds as experiment_cmds
from hoirecon.cli.app import app
from hoirecon.device import ENV

COMMANDS = [
    ["train", "--data", "{d}", "--category", "baseball_bat", "--out", "{o}/p.pt"],
    ["fit", "--data", "{d}", "--category", "baseball_bat", "--out", "{o}/f"],
    ["group", "--data", "{d}", "--category", "baseball_bat"],
    ["demo", "--out", "{o}/demo"],
    ["reconstruct", "{d}/photo.png", "--category", "baseball_bat", "--out", "{o}/r"],
    ["experiment", "losses", "--quick", "--out", "{o}/e"],
    ["experiment", "tune", "--quick", "--out", "{o}/t"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_device_cuda_without_cuda_exits_with_one_line(command: list[str], tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "d").mkdir()
    args = [a.format(d=tmp_path / "d", o=tmp_path) for a in command] + ["--device", "cuda"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "no CUDA device" in " ".join(result.output.split()), result.output


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_device_is_listed_in_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command[:2 if command[0] == "experiment" else 1], "--help"])
    assert result.exit_code == 0 and "--device" in result.output


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    from hoirecon.data.synthetic.generator import SynthConfig, generate

    return generate(tmp_path_factory.mktemp("dev") / "ds", SynthConfig(categories=("baseball_bat",), train=12, test=1,
                                                                        seed=3, image_size=64))


def test_group_says_its_in_memory_search_stays_on_the_cpu(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "stand-in GPU")
    result = CliRunner().invoke(app, ["group", "--data", str(tiny), "--category", "baseball_bat", "--k", "2",
                                      "--device", "cuda"])
    assert result.exit_code == 0, result.output
    assert "in-memory search runs on the CPU" in " ".join(result.output.split())


def test_group_on_the_cpu_says_nothing_about_devices(tiny) -> None:
    result = CliRunner().invoke(app, ["group", "--data", str(tiny), "--category", "baseball_bat", "--k", "2",
                                      "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "runs on the CPU" not in result.output


def test_experiment_hands_the_device_to_its_worker_processes(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "auto")  # restored after the test, whatever the command sets
    seen = {}

    def fake_run(name, config, out, **kwargs):  # what a spawned unit would read from its environment
        seen["env"] = os.environ.get(ENV)
        raise ValueError("stop after the device check")

    monkeypatch.setattr(experiment_cmds, "run_experiment", fake_run)
    result = CliRunner().invoke(app, ["experiment", "losses", "--quick", "--out", str(tmp_path / "e"), "--device", "cpu"])
    assert seen["env"] == "cpu", result.output
    assert result.exit_code == 2 and "stop after the device check" in result.output
