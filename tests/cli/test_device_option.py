"""--device on the heavy commands: one line naming the option when CUDA is asked for and absent."""

from __future__ import annotations

import os

import pytest
import torch
from typer.testing import CliRunner

import hoirecon.cli.experiment_cmds as experiment_cmds
from hoirecon.cli.app import app
from hoirecon.device import ENV
from hoirecon.prior.grouping.chunked import group_images_chunked
from hoirecon.prior.grouping.knn import group_images

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


@pytest.fixture
def seen_devices(monkeypatch: pytest.MonkeyPatch) -> list:
    """Record the device each grouping call gets, then group on the CPU (nothing runs on a GPU here)."""
    import hoirecon.prior.category as category
    import hoirecon.prior.chunked_category as chunked_category

    seen: list = []

    def in_memory(*args, device=None, **kwargs):
        seen.append(("memory", device))
        return group_images(*args, **kwargs, device="cpu")

    def chunked(*args, device=None, **kwargs):
        seen.append(("chunked", device))
        return group_images_chunked(*args, **kwargs, device="cpu")

    monkeypatch.setattr(category, "group_images", in_memory)
    monkeypatch.setattr(chunked_category, "group_images_chunked", chunked)
    return seen


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "4"]], ids=["in memory", "chunked"])
def test_group_hands_its_device_to_the_search(chunk: list[str], tiny, seen_devices: list,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    kind = "chunked" if chunk else "memory"
    result = CliRunner().invoke(app, ["group", "--data", str(tiny), "--category", "baseball_bat", "--k", "2",
                                      "--device", "cpu", *chunk])
    assert result.exit_code == 0, result.output
    assert seen_devices == [(kind, torch.device("cpu"))]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "stand-in GPU")
    result = CliRunner().invoke(app, ["group", "--data", str(tiny), "--category", "baseball_bat", "--k", "2",
                                      "--device", "cuda", *chunk])
    assert result.exit_code == 0, result.output                  # no longer refused in memory
    assert seen_devices[1:] == [(kind, torch.device("cuda", 0))]
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
