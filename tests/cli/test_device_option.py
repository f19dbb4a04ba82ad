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
