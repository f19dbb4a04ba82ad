import json
from pathlib import Path
from types import ModuleType

import pytest

from hoirecon.experiments import runner
from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.runner import is_finished, read_unit, run_units, unit_path


def _fake_unit(calls: list, fail: str | None = None):
    def run_unit(experiment, config, seed, category, work):  # noqa: ANN001, ANN202 - stands in for the real one
        calls.append((seed, category))
        if category == fail:
            raise RuntimeError("synthesis exploded")
        return {"status": "ok", "seed": seed, "category": category, "arms": {}, "truth": {},
                "fingerprint": runner.unit_fingerprint(experiment, config)}
    return run_unit


def test_a_failed_unit_is_recorded_and_the_others_run(tmp_path: Path, efx: ModuleType,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list = []
    monkeypatch.setattr(runner, "run_unit", _fake_unit(calls, fail="violin"))
    config = ExperimentConfig(seeds=2, categories=("violin", "skateboard"))
    summary = run_units(efx.SMALL, config, tmp_path)
    assert len(calls) == 4 and sorted(summary.failed) == ["seed0000-violin", "seed0001-violin"]
    failed = read_unit(unit_path(tmp_path, 0, "violin"))
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError: synthesis exploded"


def test_a_rerun_skips_finished_units_and_retries_failed_ones(tmp_path: Path, efx: ModuleType,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list = []
    monkeypatch.setattr(runner, "run_unit", _fake_unit(calls, fail="violin"))
    config = ExperimentConfig(seeds=1, categories=("violin", "skateboard"))
    run_units(efx.SMALL, config, tmp_path)
    calls.clear()
    summary = run_units(efx.SMALL, config, tmp_path)
    assert calls == [(0, "violin")] and summary.reused == ["seed0000-skateboard"]
    calls.clear()
    run_units(efx.SMALL, ExperimentConfig(seeds=1, categories=("skateboard",), train=50), tmp_path)
    assert calls == [(0, "skateboard")]  # other settings: the old record is stale


def test_unreadable_records_are_rerun(tmp_path: Path, efx: ModuleType) -> None:
    path = unit_path(tmp_path, 0, "skateboard")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert read_unit(path) is None
    assert not is_finished({"status": "ok", "fingerprint": "x"}, "y")


def test_another_experiments_folder_is_refused(tmp_path: Path, efx: ModuleType) -> None:
    (tmp_path / "experiment.json").write_text(json.dumps({"experiment": "losses"}))
    with pytest.raises(ValueError, match="holds a run of experiment 'losses'"):
        run_units(efx.SMALL, ExperimentConfig(), tmp_path)


def test_bad_generator_fields_fail_before_any_unit(tmp_path: Path, efx: ModuleType) -> None:
    with pytest.raises(ValueError, match="not fields of the synthetic generator"):
        run_units(efx.SMALL, ExperimentConfig(data={"views": 4}), tmp_path)
    assert not (tmp_path / "units").exists()
