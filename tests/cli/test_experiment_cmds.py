"""``hoirecon experiment``: options reach the config, bad input is one line, a quick run writes its report."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hoirecon.cli import experiment_cmds
from hoirecon.cli.app import app
from hoirecon.experiments import TUNE_SEED_BASE

runner = CliRunner()


def test_data_options_are_json_or_text() -> None:
    assert experiment_cmds.parse_data_options(["clips=4", "name=abc", "flag=true", "scale=[1, 2]"]) == {
        "clips": 4, "name": "abc", "flag": True, "scale": [1, 2]}
    with pytest.raises(typer.BadParameter, match="FIELD=VALUE"):
        experiment_cmds.parse_data_options(["clips"])


def test_every_named_experiment_is_a_command() -> None:
    result = runner.invoke(app, ["experiment", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("supervision", "losses", "evidence", "tune", "report", "list"):
        assert name in result.output


def test_options_reach_the_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = {}

    def run_experiment(name, config, out, **kwargs):  # noqa: ANN001, ANN003, ANN202 - records its inputs
        seen.update(name=name, config=config, **kwargs)
        raise ValueError("stop here")

    monkeypatch.setattr(experiment_cmds, "run_experiment", run_experiment)
    result = runner.invoke(app, ["experiment", "supervision", "--quick", "--seeds", "2", "--categories", "violin",
                                 "--observation", "hard", "--workers", "2", "--data-option", "shape_std=0.4",
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "stop here" in result.output
    config = seen["config"]
    assert seen["name"] == "supervision" and seen["workers"] == 2
    assert config.seeds == 2 and config.categories == ("violin",) and config.observation == "hard"
    assert config.train == 24 and config.data == {"shape_std": 0.4}  # the rest from --quick
    assert seen["command"] == (f"hoirecon experiment supervision --seeds 2 --categories violin --observation hard "
                               f"--quick --out {tmp_path / 'o'} --workers 2 --data-option shape_std=0.4")


def test_tuning_refuses_test_seeds(tmp_path: Path) -> None:
    result = runner.invoke(app, ["experiment", "tune", "--first-seed", "0", "--out", str(tmp_path / "t")])
    assert result.exit_code != 0
    assert f"tuning seeds start at {TUNE_SEED_BASE}" in result.output and "Traceback" not in result.output


def test_bad_values_are_one_line_errors(tmp_path: Path) -> None:
    for args in (["experiment", "losses", "--seeds", "0"], ["experiment", "losses", "--categories", "teapot"],
                 ["experiment", "losses", "--first-seed", "999", "--seeds", "2", "--out", str(tmp_path / "x")],
                 ["experiment", "tune", "--prior-weights", "a,b", "--out", str(tmp_path / "y")],
                 ["experiment", "report", "--out", str(tmp_path)]):
        result = runner.invoke(app, args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output


@pytest.mark.slow
def test_quick_losses_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "losses"
    result = runner.invoke(app, ["experiment", "losses", "--quick", "--categories", "basketball", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 unit(s) run" in result.output
    assert f"hoirecon experiment losses --categories basketball --quick --out {out}" in (out / "report.md").read_text()
    assert (out / "report.html").is_file() and (out / "units" / "seed0000-basketball.json").is_file()
    again = runner.invoke(app, ["experiment", "losses", "--quick", "--categories", "basketball", "--out", str(out)])
    assert "0 unit(s) run, 1 reused" in again.output
