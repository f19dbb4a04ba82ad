"""--device on the heavy commands: one line naming the option when CUDA is asked for and absent."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from hoirecon.cli.app import app

COMMANDS = [
    ["train", "--data", "{d}", "--category", "baseball_bat", "--out", "{o}/p.pt"],
    ["fit", "--data", "{d}", "--category", "baseball_bat", "--out", "{o}/f"],
    ["group", "--data", "{d}", "--category", "baseball_bat"],
    ["demo", "--out", "{o}/demo"],
    ["reconstruct", "{d}/photo.png", "--category", "baseball_bat", "--out", "{o}/r"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_device_cuda_without_cuda_exits_with_one_line(command: list[str], tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "d").mkdir()
    args = [a.format(d=tmp_path / "d", o=tmp_path) for a in command] + ["--device", "cuda"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "no CUDA device" in " ".join(result.output.split()), result.output


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_device_is_listed_in_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [command[0], "--help"])
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
