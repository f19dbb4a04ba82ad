"""Run a named experiment end to end: its units (resumable), then its report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hoirecon.experiments.collect import Collected, collect
from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.registry import Experiment, get_experiment
from hoirecon.experiments.report import write_report
from hoirecon.experiments.runner import MANIFEST, RunSummary, Status, run_units


@dataclass
class ExperimentResult:
    """What a run did and where its report is."""

    summary: RunSummary
    collected: Collected
    report: Path


def run_experiment(experiment: str | Experiment, config: ExperimentConfig, out: str | Path, *, workers: int = 1,
                   threads: int = 1, keep_work: bool = False, command: str = "",
                   status: Status | None = None) -> ExperimentResult:
    """Run the unfinished units of an experiment on test seeds, then write ``report.md`` / ``.html``."""
    experiment = get_experiment(experiment) if isinstance(experiment, str) else experiment
    config.check_test_seeds()
    summary = run_units(experiment, config, out, workers=workers, threads=threads, keep_work=keep_work,
                        command=command, status=status)
    found = collect(out, experiment, config)
    meta = {"command": command, "workers": workers, "threads": threads}
    return ExperimentResult(summary, found, write_report(out, found, meta))


def rebuild_report(out: str | Path) -> Path:
    """Write the report again from the unit records and the run's record (``experiment.json``)."""
    out = Path(out)
    path = out / MANIFEST
    if not path.is_file():
        raise ValueError(f"{out}: no {MANIFEST}; not the output folder of an experiment run")
    try:
        manifest = json.loads(path.read_text())
        experiment = get_experiment(manifest["experiment"])
        config = ExperimentConfig(**{k: tuple(v) if k == "categories" else v for k, v in manifest["config"].items()})
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: unreadable experiment record ({err})") from err
    return write_report(out, collect(out, experiment, config), manifest)
