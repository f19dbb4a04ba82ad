"""Run an experiment over seeds x categories: resumable units, failures recorded, then the report.

Each unit (seed, category) writes its record atomically to ``OUT/units/<unit>.json`` as soon
as it finishes; a rerun skips units whose record is finished with the same settings and reruns
failed, missing or stale ones. A unit that raises is recorded as failed with its error and the
run goes on. Units run in this process or in ``workers`` spawned processes, each limited to
``threads`` torch threads (two single-threaded workers use a 2-core machine best).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.registry import Experiment
from hoirecon.experiments.unit import error_text, run_unit, unit_fingerprint, unit_name
from hoirecon.experiments.variants import fit_config, synth_config, train_config
from hoirecon.io.atomic import atomic_write_json

log = logging.getLogger(__name__)
Status = Callable[[str], None]
"""Callback told what just happened (a unit started, finished or failed)."""
MANIFEST = "experiment.json"
"""The run's record of what it is (experiment, settings, command)."""


@dataclass
class RunSummary:
    """What a run did."""

    out: Path
    ran: list[str] = field(default_factory=list)
    """Units run this time."""
    reused: list[str] = field(default_factory=list)
    """Finished units found and kept."""
    failed: list[str] = field(default_factory=list)
    """Units that failed (this time or before)."""


def unit_path(out: Path, seed: int, category: str) -> Path:
    """Where the record of the unit (seed, category) goes."""
    return out / "units" / f"{unit_name(seed, category)}.json"


def read_unit(path: Path) -> dict[str, Any] | None:
    """A unit record, or None when there is none or it cannot be read (it is then rerun)."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        log.warning("%s: unreadable unit record (%s); the unit is rerun", path, err)
        return None
    return record if isinstance(record, dict) else None


def is_finished(record: dict[str, Any] | None, fingerprint: str) -> bool:
    """Whether a record is a finished unit of these settings."""
    return record is not None and record.get("status") == "ok" and record.get("fingerprint") == fingerprint


def _single_thread(threads: int) -> None:
    torch.set_num_threads(threads)


def execute_unit(experiment: Experiment, config: ExperimentConfig, seed: int, category: str, out: Path,
                 keep_work: bool = False) -> str:
    """Run one unit and write its record (failed ones too); returns its status."""
    name = unit_name(seed, category)
    work = out / "work" / name
    start = time.perf_counter()
    try:
        record = run_unit(experiment, config, seed, category, work)
    except Exception as err:  # noqa: BLE001 - one failed unit is reported, not fatal
        log.warning("unit %s failed: %s", name, error_text(err))
        record = {"experiment": experiment.name, "seed": seed, "category": category, "status": "failed",
                  "fingerprint": unit_fingerprint(experiment, config), "error": error_text(err)}
    record["seconds"] = time.perf_counter() - start
    record["torch_threads"] = torch.get_num_threads()
    atomic_write_json(unit_path(out, seed, category), record)
    if record["status"] == "ok" and not keep_work:
        shutil.rmtree(work, ignore_errors=True)
        if work.parent.is_dir() and not any(work.parent.iterdir()):
            work.parent.rmdir()
    return record["status"]


def check_manifest(out: Path, experiment: Experiment) -> None:
    """Refuse an output folder that holds another experiment's run."""
    path = out / MANIFEST
    if path.is_file():
        try:
            found = json.loads(path.read_text()).get("experiment")
        except (OSError, json.JSONDecodeError, AttributeError) as err:
            raise ValueError(f"{path}: unreadable experiment record ({err}); remove it or choose another --out") from err
        if found != experiment.name:
            raise ValueError(f"{out}: holds a run of experiment {found!r}, not {experiment.name!r}; choose another --out")


def write_manifest(out: Path, experiment: Experiment, config: ExperimentConfig, command: str, workers: int,
                   threads: int) -> None:
    """Record what this run is (kept beside the units; the report reads it)."""
    atomic_write_json(out / MANIFEST, {"experiment": experiment.name, "config": asdict(config), "command": command,
                                       "workers": workers, "threads": threads,
                                       "fingerprint": unit_fingerprint(experiment, config)})


def _run_units(experiment: Experiment, config: ExperimentConfig, out: Path, todo: list[tuple[int, str]],
               workers: int, threads: int, keep_work: bool, status: Status) -> dict[str, str]:
    results: dict[str, str] = {}
    if workers <= 1:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            for seed, category in todo:
                status(f"unit {unit_name(seed, category)}")
                results[unit_name(seed, category)] = execute_unit(experiment, config, seed, category, out, keep_work)
        finally:
            torch.set_num_threads(previous)
        return results
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_single_thread,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(execute_unit, experiment, config, s, c, out, keep_work): unit_name(s, c) for s, c in todo}
        for future in as_completed(futures):
            name = futures[future]
            try:
                results[name] = future.result()
            except Exception as err:  # noqa: BLE001 - a worker that died: the unit is rerun next time
                log.warning("unit %s: worker failed: %s", name, error_text(err))
                results[name] = "failed"
            status(f"unit {name}: {results[name]}")
    return results


def check_plan(experiment: Experiment, config: ExperimentConfig) -> None:
    """Build every row's generator, prior and fit settings once, so bad settings fail before any unit runs."""
    seed, category = config.seed_list[0], config.categories[0]
    for arm in experiment.arms:
        synth_config(config, arm.data, seed, category)
        train_config(config, arm.prior, seed)
        fit_config(arm, config)


def run_units(experiment: Experiment, config: ExperimentConfig, out: str | Path, *, workers: int = 1, threads: int = 1,
              keep_work: bool = False, command: str = "", status: Status | None = None) -> RunSummary:
    """Run the units of ``experiment`` that are not finished; returns what ran, was reused and failed."""
    out = Path(out)
    if workers < 1 or threads < 1:
        raise ValueError(f"workers and threads: expected >= 1, got {workers} and {threads}")
    check_plan(experiment, config)
    check_manifest(out, experiment)
    write_manifest(out, experiment, config, command, workers, threads)
    status = status or (lambda text: log.info("%s", text))
    fingerprint = unit_fingerprint(experiment, config)
    summary = RunSummary(out)
    todo = []
    for seed in config.seed_list:
        for category in config.categories:
            if is_finished(read_unit(unit_path(out, seed, category)), fingerprint):
                summary.reused.append(unit_name(seed, category))
            else:
                todo.append((seed, category))
    for name, result in _run_units(experiment, config, out, todo, workers, threads, keep_work, status).items():
        summary.ran.append(name)
        if result != "ok":
            summary.failed.append(name)
    return summary
