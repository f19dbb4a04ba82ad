"""Tuning as code: search the main loss weights of the presets on tuning splits, write the table found.

The tuning splits use seeds from :data:`~hoirecon.experiments.config.TUNE_SEED_BASE` up, and
every experiment refuses test seeds there, so a weight is never chosen on a split a report
shows. The search is a grid: the prior weight of ``prior``, the contact weight of ``contact``
and both weights of ``prior+contact`` (the shipped values are always among the candidates).
Each candidate is a row of a resumable experiment (same units, records and failures as the
named experiments); the objective is the median object translation error over all tuning
images (lower is better). The result is written to ``tuned_presets.json`` and
``tuned_presets.md``; the shipped presets are not changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.experiments.collect import Collected, collect
from hoirecon.experiments.config import TUNE_SEED_BASE, ExperimentConfig
from hoirecon.experiments.document import Document, Heading, Paragraph, Table, to_html, to_markdown
from hoirecon.experiments.registry import Experiment
from hoirecon.experiments.report import versions
from hoirecon.experiments.runner import RunSummary, Status, run_units
from hoirecon.experiments.stats import paired_difference, summarise
from hoirecon.experiments.variants import Arm
from hoirecon.fitting.optimize import get_preset
from hoirecon.io.atomic import atomic_write_json, atomic_write_text

OBJECTIVE = "trans_err_cm"
"""The metric whose pooled median the search minimises."""
TUNED = ("prior", "contact", "prior+contact")
"""Presets whose weights are searched."""


@dataclass(frozen=True)
class TuneGrid:
    """Candidate loss weights (the shipped values are added to each list)."""

    prior: tuple[float, ...] = (0.0003, 0.001, 0.003)
    """Prior weights tried in ``prior`` and ``prior+contact``."""
    contact: tuple[float, ...] = (0.0007, 0.005, 0.01)
    """Contact weights tried in ``contact``."""
    combined_contact: tuple[float, ...] = (0.0007, 0.005, 0.01)
    """Contact weights tried in ``prior+contact``."""

    def __post_init__(self) -> None:
        """Reject empty or negative candidate lists."""
        for name, values in asdict(self).items():
            if not values or any(not np.isfinite(v) or v < 0 for v in values):
                raise ValueError(f"{name}: expected one or more finite weights >= 0, got {values}")


def _with_shipped(values: tuple[float, ...], shipped: float) -> tuple[float, ...]:
    return tuple(sorted(set(values) | {shipped}))


def candidate_arms(grid: TuneGrid) -> tuple[Arm, ...]:
    """One row per candidate, plus the plain ``none`` and ``phosa`` references."""
    ship = {name: get_preset(name).weights for name in TUNED}
    arms = [Arm(f"prior prior={p:g}", "prior", weights=(("prior", p),))
            for p in _with_shipped(grid.prior, ship["prior"].prior)]
    arms += [Arm(f"contact contact={c:g}", "contact", weights=(("contact", c),))
             for c in _with_shipped(grid.contact, ship["contact"].contact)]
    arms += [Arm(f"prior+contact prior={p:g} contact={c:g}", "prior+contact", weights=(("prior", p), ("contact", c)))
             for p in _with_shipped(grid.prior, ship["prior+contact"].prior)
             for c in _with_shipped(grid.combined_contact, ship["prior+contact"].contact)]
    return (*arms, Arm("none", "none"), Arm("phosa", "phosa"))


def tune_experiment(grid: TuneGrid) -> Experiment:
    """The search as an experiment whose rows are the candidates."""
    return Experiment("tune", "Preset weight search on tuning splits", candidate_arms(grid),
                      description="Each candidate fits the same tuning images; objective: median object "
                                  "translation error over all of them.")


def check_tuning_seeds(config: ExperimentConfig) -> None:
    """Refuse tuning seeds below TUNE_SEED_BASE (those are test seeds)."""
    if config.first_seed < TUNE_SEED_BASE:
        raise ValueError(f"first_seed: tuning seeds start at {TUNE_SEED_BASE} (lower seeds are test seeds); "
                         f"got {config.first_seed}")


def candidate_rows(found: Collected) -> list[dict[str, Any]]:
    """Per candidate: preset, weights, images, median and mean objective, paired difference to ``none``."""
    rows = []
    none = found.values["none"][OBJECTIVE]
    for arm in found.experiment.arms:
        values = found.values[arm.name][OBJECTIVE]
        summary = summarise(values, found.config.resamples)
        diff = paired_difference(values, none, found.config.resamples)
        rows.append({"row": arm.name, "preset": arm.preset, "weights": dict(arm.weights), "images": summary.n,
                     "median": asdict(summary.median), "mean": asdict(summary.mean), "vs_none": asdict(diff.mean)})
    return rows


def best_weights(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The candidate with the lowest median per tuned preset, with the shipped weights beside it."""
    found = {}
    for preset in TUNED:
        scored = [r for r in rows if r["preset"] == preset and r["images"] and r["weights"]]
        if not scored:
            continue
        best = min(scored, key=lambda r: r["median"]["value"])
        shipped = get_preset(preset).weights
        ship_row = next((r for r in scored if all(getattr(shipped, k) == v for k, v in r["weights"].items())), None)
        found[preset] = {"weights": best["weights"], "median": best["median"]["value"], "row": best["row"],
                         "shipped": {k: getattr(shipped, k) for k in best["weights"]},
                         "shipped_median": ship_row["median"]["value"] if ship_row else None}
    return found


def _document(found: Collected, rows: list[dict[str, Any]], best: dict[str, dict[str, Any]], command: str) -> Document:
    c = found.config
    doc = Document("hoirecon experiment tune: preset weights found on tuning splits")
    doc.add(Heading("Command"), Paragraph(command or "hoirecon experiment tune", code=True))
    doc.add(Paragraph(f"Tuning seeds {', '.join(map(str, c.seed_list))} (test seeds are below {TUNE_SEED_BASE}), "
                      f"categories {', '.join(c.categories)}, {c.train} training and {c.test} test images per split, "
                      f"evidence '{c.observation}'. Objective: median object translation error (cm) over all tuning "
                      "images; 95% bootstrap intervals over images. The shipped presets are unchanged: copy a row "
                      "into hoirecon.fitting.optimize.PRESETS to adopt it."))
    doc.add(Heading("Weights found"), Table(
        ("preset", "weights found", "median (cm)", "shipped weights", "shipped median (cm)"),
        tuple((p, ", ".join(f"{k}={v:g}" for k, v in b["weights"].items()), f"{b['median']:.1f}",
               ", ".join(f"{k}={v:g}" for k, v in b["shipped"].items()),
               "–" if b["shipped_median"] is None else f"{b['shipped_median']:.1f}") for p, b in best.items())))

    def ci(e: dict) -> str:
        return "–" if not np.isfinite(e["value"]) else f"{e['value']:.1f} [{e['low']:.1f}, {e['high']:.1f}]"

    doc.add(Heading("Every candidate"), Table(
        ("row", "images", "median [95% CI]", "mean [95% CI]", "Δ mean vs none [95% CI]"),
        tuple((r["row"], str(r["images"]), ci(r["median"]), ci(r["mean"]), ci(r["vs_none"])) for r in rows)))
    failures = [(u, "whole unit", e) for u, e in found.failed_units] + [(u, r, e) for u, r, e in found.failed_rows]
    if failures:
        doc.add(Heading("Failures"), Table(("unit", "what", "error"), tuple(failures)))
    doc.add(Heading("Versions"), Paragraph(versions()))
    return doc


def run_tuning(config: ExperimentConfig, out: str | Path, grid: TuneGrid = TuneGrid(), *, workers: int = 1,
               threads: int = 1, keep_work: bool = False, command: str = "",
               status: Status | None = None) -> tuple[RunSummary, dict[str, dict[str, Any]]]:
    """Run the search (resumable) and write ``tuned_presets.json`` / ``.md`` / ``.html``; returns the best weights."""
    check_tuning_seeds(config)
    out = Path(out)
    experiment = tune_experiment(grid)
    summary = run_units(experiment, config, out, workers=workers, threads=threads, keep_work=keep_work,
                        command=command, status=status)
    found = collect(out, experiment, config)
    rows = candidate_rows(found)
    best = best_weights(rows)
    atomic_write_json(out / "tuned_presets.json", {"objective": f"median {OBJECTIVE}", "seeds": list(config.seed_list),
                                                   "categories": list(config.categories), "grid": asdict(grid),
                                                   "presets": best, "candidates": rows, "versions": versions()})
    doc = _document(found, rows, best, command)
    atomic_write_text(out / "tuned_presets.md", to_markdown(doc))
    atomic_write_text(out / "tuned_presets.html", to_html(doc))
    return summary, best
