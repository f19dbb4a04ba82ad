"""The experiment report: per-metric tables with intervals and paired differences, the paper's rows, the set-up.

``report.md`` and ``report.html`` (self-contained) say the same thing; ``results.json`` holds the
numbers. Means and medians are over the scored test images of all units pooled; intervals are
95% percentile-bootstrap intervals over images (:mod:`hoirecon.experiments.stats`); paired
differences are row minus reference on the images both scored, paired by image id.
"""

from __future__ import annotations

import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hoirecon
from hoirecon.eval.protocols.wildhoi import WILDHOI_METRICS
from hoirecon.experiments.collect import Collected
from hoirecon.experiments.document import Document, Heading, Paragraph, Table, to_html, to_markdown
from hoirecon.experiments.stats import LEVEL, SEED, PairedDifference, Summary, paired_difference, summarise
from hoirecon.experiments.unit import unit_name
from hoirecon.io.atomic import atomic_write_json, atomic_write_text

TITLES = {m.key: m.label for m in WILDHOI_METRICS}
"""Metric titles with units."""
DIGITS = {"smpl_cd_cm": 2, "object_cd_cm": 1, "rot_err_deg": 1, "trans_err_cm": 1}
"""Decimals shown per metric."""
METRIC_ORDER = ("trans_err_cm", "rot_err_deg", "object_cd_cm", "smpl_cd_cm")
"""The order of the per-metric tables (the paper's headline metric first)."""


def versions() -> str:
    """The versions that made the numbers."""
    return (f"hoirecon {hoirecon.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
            f"python {platform.python_version()}")


def _diff_text(d: PairedDifference, digits: int) -> str:
    return d.mean.text(digits) if d.n else "–"


def _better_text(d: PairedDifference) -> str:
    return f"{100 * d.better:.0f}%" if d.n else "–"


def row_statistics(found: Collected, metric: str) -> dict[str, dict[str, Any]]:
    """Per row: its summary and its paired differences against each reference."""
    resamples = found.config.resamples
    stats: dict[str, dict[str, Any]] = {}
    for arm in found.experiment.arms:
        entry: dict[str, Any] = {"summary": summarise(found.values[arm.name][metric], resamples)}
        for ref in found.experiment.references:
            other = found.experiment.reference_of(arm, ref).name
            a, b = found.pair(arm.name, other, metric)
            entry[ref] = paired_difference(a, b, resamples) if other != arm.name else None
        stats[arm.name] = entry
    return stats


def metric_table(found: Collected, metric: str, stats: dict[str, dict[str, Any]]) -> Table:
    """One metric: rows with n, mean and median [95% CI], and the paired differences to the references."""
    digits = DIGITS[metric]
    header = ["row", "images", "mean [95% CI]", "median [95% CI]"]
    for ref in found.experiment.references:
        header += [f"Δ mean vs {ref} [95% CI]", f"better than {ref}"]
    rows = []
    for arm in found.experiment.arms:
        entry = stats[arm.name]
        summary: Summary = entry["summary"]
        cells = [arm.name, str(summary.n), summary.mean.text(digits), summary.median.text(digits)]
        for ref in found.experiment.references:
            diff = entry[ref]
            cells += ["(reference)", "–"] if diff is None else [_diff_text(diff, digits), _better_text(diff)]
        rows.append(tuple(cells))
    return Table(tuple(header), tuple(rows))


def contrast_table(found: Collected) -> Table:
    """Paired differences of the experiment's contrasts, one column per metric."""
    header = ("contrast (row − other)", *(f"Δ mean {TITLES[m]} [95% CI]" for m in METRIC_ORDER), "images")
    rows = []
    for row, other in found.experiment.contrasts:
        cells, n = [], 0
        for metric in METRIC_ORDER:
            d = paired_difference(*found.pair(row, other, metric), found.config.resamples)
            cells.append(_diff_text(d, DIGITS[metric]))
            n = max(n, d.n)
        rows.append((f"{row} − {other}", *cells, str(n)))
    return Table(header, tuple(rows))


def split_table(found: Collected, metric: str = "trans_err_cm") -> Table:
    """Median of one metric per row and unit: how much the splits differ."""
    names = [unit_name(r["seed"], r["category"]) for r in found.units]
    units = found.unit_of()
    rows = []
    for arm in found.experiment.arms:
        cells = []
        for name in names:
            values = found.values[arm.name][metric][units == name]
            values = values[np.isfinite(values)]
            cells.append(f"{np.median(values):.{DIGITS[metric]}f}" if values.size else "–")
        rows.append((arm.name, *cells))
    return Table(("row", *names), tuple(rows))


def published_blocks(found: Collected) -> list:
    """The paper's rows, marked as published, with our pooled means of the matching rows beside them."""
    blocks: list = []
    names = {a.name for a in found.experiment.arms}
    for table in found.experiment.published:
        header = ("paper's row", *(f"published {t}" for _, t in table.columns), "our row",
                  *(f"ours (synthetic) {t}" for _, t in table.columns))
        rows = []
        for label, ours, values in table.rows:
            mine = [summarise(found.values[ours][k], found.config.resamples).mean.text(DIGITS[k])
                    if ours in names else "–" for k, _ in table.columns]
            rows.append((label, *(f"{v:.2f}" for v in values), ours if ours in names else "–", *mine))
        blocks += [Heading(f"Published: paper {table.source}", 3),
                   Paragraph(f"Measured on {table.protocol}. Different data and networks: shown for the ordering of "
                             "the rows, not comparable number for number."),
                   Table(header, tuple(rows), css="published")]
    return blocks


def setup_table(found: Collected, meta: dict[str, Any]) -> Table:
    """The set-up: sizes, seeds, categories, evidence, statistics, versions, timings."""
    c = found.config
    seconds = [r.get("seconds", float("nan")) for r in found.units]
    rows = [("experiment", found.experiment.name),
            ("seeds", ", ".join(map(str, c.seed_list))), ("categories", ", ".join(c.categories)),
            ("images per split", f"{c.train} training, {c.test} test, {c.image_size} px"),
            ("evidence", f"observation preset '{c.observation}'" + (f", generator fields {c.data}" if c.data else "")),
            ("prior", f"depth {c.prior_depth}, width {c.prior_width}, {c.prior_epochs} epochs (early stopping on "
                      "10% held-out training images), lr 1e-3, batch 64"),
            ("fit", f"{c.object_steps} + {c.joint_steps} Adam steps"),
            ("protocol", f"WildHOI: human frame, no alignment, {c.eval_samples} surface samples per mesh"),
            ("statistics", f"{100 * LEVEL:.0f}% percentile bootstrap over images, {c.resamples} resamples, seed {SEED}; "
                           "paired differences on images scored in both rows"),
            ("units", f"{len(found.units)} finished, {len(found.failed_units)} failed, "
                      f"{len(found.missing_units)} not run"),
            ("time per unit", f"median {np.median(seconds):.0f} s, total {np.sum(seconds):.0f} s "
                              f"({meta.get('workers', 1)} worker(s) x {meta.get('threads', 1)} torch thread(s))"
             if seconds else "–"),
            ("versions", versions()), ("machine", f"{platform.machine()}, {platform.system()}")]
    return Table(("setting", "value"), tuple(rows))


def failures_table(found: Collected) -> Table | None:
    """Failed units, failed rows and units not run."""
    rows = [(u, "whole unit", e) for u, e in found.failed_units]
    rows += [(u, f"row {r}", e) for u, r, e in found.failed_rows]
    rows += [(u, "whole unit", "not run (or run with other settings)") for u in found.missing_units]
    return Table(("unit", "what", "error"), tuple(rows)) if rows else None


def _verdict(d: PairedDifference) -> str:
    if not d.n or not np.isfinite(d.mean.value):
        return "not measured"
    if d.mean.high < 0:
        return "smaller (the interval excludes 0)"
    if d.mean.low > 0:
        return "larger (the interval excludes 0)"
    return "not distinguishable (the interval includes 0)"


def findings(found: Collected, metric: str = "trans_err_cm") -> list[str]:
    """One sentence per comparison on ``metric``: the mean difference, its interval and what it allows to say."""
    lines = []
    stats = row_statistics(found, metric)
    for ref in found.experiment.references:
        for arm in found.experiment.arms:
            d = stats[arm.name][ref]
            if d is not None:
                lines.append(f"{arm.name} vs {ref}: {TITLES[metric]} Δ mean {d.mean.text(DIGITS[metric])} over "
                             f"{d.n} images: {_verdict(d)}.")
    for row, other in found.experiment.contrasts:
        d = paired_difference(*found.pair(row, other, metric), found.config.resamples)
        lines.append(f"{row} vs {other}: Δ mean {d.mean.text(DIGITS[metric])} over {d.n} images: {_verdict(d)}.")
    return lines


def build_document(found: Collected, meta: dict[str, Any], reading: list[str] | None = None) -> Document:
    """The whole report as a document."""
    exp = found.experiment
    doc = Document(f"hoirecon experiment {exp.name}: {exp.title}")
    doc.add(Paragraph(exp.description))
    doc.add(Heading("Command"), Paragraph(meta.get("command") or f"hoirecon experiment {exp.name}", code=True))
    for text in reading or []:
        doc.add(Paragraph(text))
    failures = failures_table(found)
    if failures is not None:
        doc.add(Heading("Failures"), failures)
    doc.add(Heading("Results per metric"),
            Paragraph("Synthetic test images of every unit pooled. Δ: the row minus the reference on the same images "
                      "(negative = smaller error); 'better than': share of those images where the row's error is "
                      "the smaller."))
    for metric in METRIC_ORDER:
        doc.add(Heading(TITLES[metric], 3), metric_table(found, metric, row_statistics(found, metric)))
    if exp.contrasts:
        doc.add(Heading("Contrasts"), contrast_table(found))
    doc.add(Heading("Reading (object translation error)"), *(Paragraph(t) for t in findings(found)))
    if found.units:
        doc.add(Heading("Median object translation error (cm) per split"), split_table(found))
    if exp.published:
        doc.add(Heading("The paper's rows (published, different data)"), *published_blocks(found))
    doc.add(Heading("Set-up"), setup_table(found, meta))
    return doc


def results_json(found: Collected) -> dict[str, Any]:
    """The numbers of the report, by metric and row."""
    out: dict[str, Any] = {"experiment": found.experiment.name, "config": asdict(found.config), "versions": versions(),
                           "failed_units": found.failed_units, "missing_units": found.missing_units,
                           "failed_rows": found.failed_rows, "metrics": {}}
    for metric in METRIC_ORDER:
        stats = row_statistics(found, metric)
        out["metrics"][metric] = {row: {k: (asdict(v) if v is not None else None) for k, v in entry.items()}
                                  for row, entry in stats.items()}
    return out


def write_report(out: str | Path, found: Collected, meta: dict[str, Any], reading: list[str] | None = None) -> Path:
    """Write ``report.md``, ``report.html`` and ``results.json`` under ``out``; returns the Markdown path."""
    out = Path(out)
    doc = build_document(found, meta, reading)
    atomic_write_text(out / "report.html", to_html(doc))
    atomic_write_json(out / "results.json", results_json(found))
    return atomic_write_text(out / "report.md", to_markdown(doc))

