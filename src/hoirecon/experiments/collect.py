"""Read a run's unit records back into per-image error vectors aligned across rows.

Every image of every finished unit gets one position, keyed by (seed, category, image id); each
row's errors are an array over those positions, NaN where the row has no score (the image's fit
was unusable, the row failed, or the unit failed). Rows on different data variants are paired
only on units whose test truths are equal (same scenes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.registry import Experiment
from hoirecon.experiments.runner import is_finished, read_unit, unit_path
from hoirecon.experiments.unit import METRIC_KEYS, unit_fingerprint, unit_name

Key = tuple[int, str, str]
"""(seed, category, image id) of one test image."""


@dataclass
class Collected:
    """The finished units of a run, their per-image errors and what is missing or failed."""

    experiment: Experiment
    config: ExperimentConfig
    keys: list[Key] = field(default_factory=list)
    values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """{row: {metric: (N,) errors over ``keys``}}."""
    units: list[dict[str, Any]] = field(default_factory=list)
    """Records of the finished units."""
    failed_units: list[tuple[str, str]] = field(default_factory=list)
    """(unit, error) of units that failed."""
    missing_units: list[str] = field(default_factory=list)
    """Units without a record of these settings (not run yet, or run with other settings)."""
    failed_rows: list[tuple[str, str, str]] = field(default_factory=list)
    """(unit, row, error) of rows that failed inside a finished unit."""

    def unit_of(self) -> np.ndarray:
        """(N,) unit name of every image position."""
        return np.array([unit_name(s, c) for s, c, _ in self.keys])

    def pair(self, row: str, other: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """The errors of two rows on one metric, NaN on units where their scenes differ."""
        a, b = self.values[row][metric].copy(), self.values[other][metric].copy()
        va, vb = self.experiment.arm(row).data, self.experiment.arm(other).data
        if va != vb:
            units = self.unit_of()
            for record in self.units:
                truth = record.get("truth", {})
                if truth.get(va) is None or truth.get(va) != truth.get(vb):
                    name = unit_name(record["seed"], record["category"])
                    a[units == name] = np.nan
        return a, b


def _add_unit(found: Collected, record: dict[str, Any]) -> None:
    name = unit_name(record["seed"], record["category"])
    positions: dict[str, int] = {}
    for arm_name, arm in record["arms"].items():
        if arm.get("status") != "ok":
            found.failed_rows.append((name, arm_name, arm.get("error", "unknown error")))
            continue
        for image_id in arm["image_ids"]:
            if image_id not in positions:
                positions[image_id] = len(found.keys)
                found.keys.append((record["seed"], record["category"], image_id))
    for rows in found.values.values():
        for metric, array in rows.items():
            rows[metric] = np.concatenate([array, np.full(len(found.keys) - len(array), np.nan)])
    for arm_name, arm in record["arms"].items():
        if arm.get("status") != "ok" or arm_name not in found.values:
            continue
        at = np.array([positions[i] for i in arm["image_ids"]], dtype=int)
        for metric in METRIC_KEYS:
            column = np.array([np.nan if v is None else v for v in arm["metrics"][metric]], dtype=float)
            found.values[arm_name][metric][at] = column
    found.units.append(record)


def collect(out: str | Path, experiment: Experiment, config: ExperimentConfig) -> Collected:
    """Read the unit records of ``config``'s seeds x categories under ``out``."""
    out = Path(out)
    found = Collected(experiment, config)
    found.values = {a.name: {m: np.zeros(0) for m in METRIC_KEYS} for a in experiment.arms}
    fingerprint = unit_fingerprint(experiment, config)
    for seed in config.seed_list:
        for category in config.categories:
            name = unit_name(seed, category)
            record = read_unit(unit_path(out, seed, category))
            if is_finished(record, fingerprint):
                _add_unit(found, record)
            elif record is not None and record.get("status") == "failed" and record.get("fingerprint") == fingerprint:
                found.failed_units.append((name, record.get("error", "unknown error")))
            else:
                found.missing_units.append(name)
    return found
