"""The CLI's one error exit and one progress bar."""

from __future__ import annotations

import pytest
import typer

from hoirecon.cli.common import exit_with_error, progress_bar


def test_exit_with_error_prints_one_unwrapped_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    long_path = "/data/" + "deep/" * 40 + "results.pkl"
    with pytest.raises(typer.Exit) as stop:
        exit_with_error(KeyError(f"{long_path}: missing key [obj_rots]"))
    assert stop.value.exit_code == 2
    assert capsys.readouterr().err == f"error: {long_path}: missing key [obj_rots]\n"  # KeyError's quotes dropped
    with pytest.raises(typer.Exit):
        exit_with_error("no 'val' images")
    assert capsys.readouterr().err == "error: no 'val' images\n"


def test_progress_bar_draws_nothing_when_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar(show=False) as bar:
        bar.update(bar.add_task("train", total=4), completed=4)
    with progress_bar(transient=True) as bar:
        bar.add_task("evaluating", total=None)
    assert capsys.readouterr().err.strip() == ""
    with progress_bar() as bar:
        bar.update(bar.add_task("fit", total=4), completed=3)
    assert "fit" in capsys.readouterr().err
