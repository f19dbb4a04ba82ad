"""A whole experiment end to end on the --quick set-up: units, report, resume, a failed unit reported."""

from dataclasses import replace
from pathlib import Path

import pytest

from hoirecon.experiments import ExperimentConfig, rebuild_report, run_experiment, unit
from hoirecon.experiments.runner import read_unit, unit_path

QUICK = ExperimentConfig().quick()


@pytest.mark.slow
def test_losses_runs_resumes_and_reports_a_failed_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = replace(QUICK, categories=("baseball_bat", "skateboard"))
    real_generate = unit.generate

    def generate(out, synth, **kwargs):  # noqa: ANN001, ANN202 - the skateboard split cannot be made
        if synth.categories == ("skateboard",):
            raise OSError("disk full")
        return real_generate(out, synth, **kwargs)

    monkeypatch.setattr(unit, "generate", generate)
    result = run_experiment("losses", config, tmp_path, command="hoirecon experiment losses --quick")
    assert result.summary.failed == ["seed0000-skateboard"]
    report = (tmp_path / "report.md").read_text()
    assert "OSError: disk full" in report and "| prior+contact |" in report
    assert "no prior, no contact" in report and "hoirecon experiment losses --quick" in report
    bat = read_unit(unit_path(tmp_path, 0, "baseball_bat"))
    assert bat["status"] == "ok" and set(bat["arms"]) == {"init", "none", "contact", "prior", "prior+contact", "phosa"}
    assert all(len(a["image_ids"]) == config.test and a["scored"] > 0 for a in bat["arms"].values())
    assert not (tmp_path / "work" / "seed0000-baseball_bat").exists()  # finished work is removed

    monkeypatch.setattr(unit, "generate", real_generate)
    before = unit_path(tmp_path, 0, "baseball_bat").stat().st_mtime_ns
    again = run_experiment("losses", config, tmp_path)
    assert again.summary.ran == ["seed0000-skateboard"] and again.summary.reused == ["seed0000-baseball_bat"]
    assert unit_path(tmp_path, 0, "baseball_bat").stat().st_mtime_ns == before
    assert "disk full" not in (tmp_path / "report.md").read_text()
    assert len(again.collected.keys) == 2 * config.test
    assert rebuild_report(tmp_path) == tmp_path / "report.md"


@pytest.mark.slow
def test_a_row_whose_prior_fails_is_recorded_and_the_others_are_scored(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def train_category(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - a prior that cannot be trained
        raise RuntimeError("no memory")

    monkeypatch.setattr(unit, "train_category", train_category)
    from hoirecon.experiments.registry import Experiment
    from hoirecon.experiments.variants import Arm

    small = Experiment("small", "small", (Arm("none", "none"), Arm("prior", "prior"), Arm("phosa", "phosa")))
    record = unit.run_unit(small, QUICK, 0, "basketball", tmp_path / "work")
    assert record["arms"]["prior"]["status"] == "failed"
    assert "no memory" in record["arms"]["prior"]["error"]
    assert record["arms"]["none"]["status"] == "ok" and record["arms"]["phosa"]["status"] == "ok"
    assert set(record["timings"]) >= {"estimated synth", "estimated occlusion", "estimated fit none"}
