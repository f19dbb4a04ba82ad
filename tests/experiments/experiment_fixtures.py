"""Unit records written by hand: what the runner writes, with chosen per-image errors."""

from __future__ import annotations

from pathlib import Path

from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.registry import Experiment
from hoirecon.experiments.runner import unit_path
from hoirecon.experiments.unit import METRIC_KEYS, unit_fingerprint
from hoirecon.experiments.variants import Arm
from hoirecon.io.atomic import atomic_write_json

SMALL = Experiment("small", "A small experiment", (Arm("none", "none"), Arm("prior", "prior"), Arm("phosa", "phosa")),
                   contrasts=(("prior", "phosa"),))
CONFIG = ExperimentConfig(seeds=2, categories=("skateboard",), resamples=200)


def arm_record(errors: dict[str, float | None]) -> dict:
    """An ok row whose every metric is ``errors[image_id]``."""
    ids = list(errors)
    return {"status": "ok", "image_ids": ids, "metrics": {k: [errors[i] for i in ids] for k in METRIC_KEYS},
            "scored": sum(v is not None for v in errors.values())}


def write_unit(out: Path, seed: int, arms: dict[str, dict], experiment: Experiment = SMALL,
               config: ExperimentConfig = CONFIG, category: str = "skateboard", truth: dict | None = None) -> Path:
    """Write a finished unit record with the given rows."""
    record = {"format": 1, "experiment": experiment.name, "seed": seed, "category": category, "status": "ok",
              "fingerprint": unit_fingerprint(experiment, config), "arms": arms, "truth": truth or {"estimated": "t"},
              "timings": {}, "seconds": 12.0}
    return atomic_write_json(unit_path(out, seed, category), record)


def small_run(tmp_path: Path) -> Path:
    """Seed 0 finished (row order of images differs between rows), seed 1 failed."""
    write_unit(tmp_path, 0, {"none": arm_record({"a": 10.0, "b": 20.0, "c": 30.0}),
                             "prior": arm_record({"c": 25.0, "a": 4.0, "b": None}),
                             "phosa": {"status": "failed", "error": "RuntimeError: boom"}})
    atomic_write_json(unit_path(tmp_path, 1, "skateboard"),
                      {"experiment": "small", "seed": 1, "category": "skateboard", "status": "failed",
                       "fingerprint": unit_fingerprint(SMALL, CONFIG), "error": "ValueError: bad split"})
    return tmp_path
