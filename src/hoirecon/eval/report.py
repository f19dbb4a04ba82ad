"""Evaluation reports: per-frame CSV, Markdown and JSON summaries, and method comparisons.

:func:`write_report` writes a :class:`~hoirecon.eval.protocols.ProtocolResult` into a folder
(``per_frame.csv``, ``summary.md``, ``summary.json``), each file atomically. :func:`compare`
reads such folders back and builds one table per protocol with one row per method, optionally
next to the numbers the papers publish (SPEC section 3), which were measured on other data and
are labelled so.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoirecon.eval.protocols.result import MetricSpec, ProtocolResult
from hoirecon.io.atomic import atomic_write_bytes
from hoirecon.io.provenance import Source, check_agree

PER_FRAME_CSV = "per_frame.csv"
SUMMARY_MD = "summary.md"
SUMMARY_JSON = "summary.json"
OURS = "ours"
PUBLISHED_SOURCE = "published (different data)"

PUBLISHED: dict[str, tuple[tuple[str, dict[str, float]], ...]] = {
    "wildhoi": (
        ("PHOSA", {"smpl_cd_cm": 4.72, "object_cd_cm": 50.08, "rot_err_deg": 11.90,
                   "trans_err_cm": 33.22}),
        ("paper", {"smpl_cd_cm": 4.43, "object_cd_cm": 17.48, "rot_err_deg": 10.12,
                   "trans_err_cm": 13.13}),
    ),
    "behave": (
        ("CHORE", {"smpl_cd_cm": 5.55, "object_cd_cm": 10.02}),
        ("StackFLOW", {"smpl_cd_cm": 4.79, "object_cd_cm": 9.12}),
        ("PHOSA", {"smpl_cd_cm": 12.86, "object_cd_cm": 26.90}),
        ("paper", {"smpl_cd_cm": 4.55, "object_cd_cm": 11.32}),
    ),
}
"""Headline numbers of the papers (WildHOI Table 3, BEHAVE table), by protocol."""


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`write_report`."""

    per_frame_csv: Path
    summary_md: Path
    summary_json: Path


def _number(value: float, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}" if abs(value) >= 1 or value == 0 else f"{value:.3f}"


def _json_value(value: Any) -> Any:
    """NaN becomes null and infinities the strings "inf"/"-inf" (JSON has neither)."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def _from_json(value: Any) -> float:
    if value is None:
        return float("nan")
    return float(value)


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def per_frame_csv(result: ProtocolResult) -> str:
    """The per-frame table as CSV text: group, frame, status, then every value column."""
    table = result.table
    keys = list(table.values)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "frame", "status", *keys])
    for i in range(len(table)):
        values = [table.values[k][i] for k in keys]
        writer.writerow([table.groups[i], table.frames[i], table.status[i],
                         *("" if math.isnan(v) else repr(float(v)) for v in values)])
    return out.getvalue()


def sampling_note(settings: dict[str, Any]) -> str | None:
    """How a chamfer protocol drew its surface samples, in words (None for the other protocols)."""
    if "procrustes" not in settings or "samples" not in settings:
        return None
    return (f"Chamfer distances between {settings['samples']:,} surface samples per mesh, drawn independently "
            f"on the prediction and on the ground truth (area-weighted, seed {settings.get('seed')}, one draw "
            f"per mesh and frame); a perfect prediction scores the sampling floor, not 0.")


def summary_markdown(result: ProtocolResult) -> str:
    """The leaderboard row, per-group means, counts and notes as Markdown."""
    labels = [m.label for m in result.metrics]
    row = [result.method, *(_number(result.summary[m.key]) for m in result.metrics), result.coverage_text()]
    text = [f"# {result.protocol}: {result.method}\n\n", markdown_table(["method", *labels, "coverage"], [row])]
    groups = result.group_summary.values()
    group_keys = [m for m in result.metrics if any(m.key in g for g in groups)]
    if result.group_summary and group_keys:
        text.append("\n## Per group\n\n")
        text.append(markdown_table(["group", *(m.label for m in group_keys)], [
            [name, *(_number(values[m.key]) for m in group_keys)]
            for name, values in result.group_summary.items()]))
    text.append("\n## Frames\n\n" + ", ".join(f"{k}: {v}" for k, v in result.counts.items()) + "\n")
    note = sampling_note(result.settings)
    if note:
        text.append(f"\n## Sampling\n\n{note}\n")
    if result.notes:
        text.append("\n## Notes\n\n" + "".join(f"- {note}\n" for note in result.notes))
    return "".join(text)


def summary_dict(result: ProtocolResult) -> dict[str, Any]:
    """Everything but the per-frame table, JSON-ready."""
    return _json_value({
        "protocol": result.protocol, "method": result.method,
        "metrics": [{"key": m.key, "label": m.label, "higher_is_better": m.higher_is_better}
                    for m in result.metrics],
        "summary": result.summary, "group_summary": result.group_summary,
        "counts": result.counts, "coverage": result.coverage, "settings": result.settings, "notes": result.notes,
    })


def write_report(result: ProtocolResult, folder: str | Path) -> ReportFiles:
    """Write ``per_frame.csv``, ``summary.md`` and ``summary.json`` into ``folder`` atomically."""
    folder = Path(folder)
    files = ReportFiles(folder / PER_FRAME_CSV, folder / SUMMARY_MD, folder / SUMMARY_JSON)
    atomic_write_bytes(files.per_frame_csv, per_frame_csv(result).encode())
    atomic_write_bytes(files.summary_md, summary_markdown(result).encode())
    text = json.dumps(summary_dict(result), indent=2, sort_keys=True, allow_nan=False) + "\n"
    atomic_write_bytes(files.summary_json, text.encode())
    return files


@dataclass
class ComparisonRow:
    """One method's summary under one protocol."""

    method: str
    values: dict[str, float]
    source: str = OURS
    """:data:`OURS` (a result folder) or :data:`PUBLISHED_SOURCE`."""


@dataclass
class Comparison:
    """Rows by protocol, each protocol with its metric columns."""

    metrics: dict[str, list[MetricSpec]] = field(default_factory=dict)
    rows: dict[str, list[ComparisonRow]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Mismatches overridden with ``force``."""

    def to_markdown(self) -> str:
        """One Markdown table per protocol: method, source, then the metrics."""
        parts = []
        for protocol, rows in self.rows.items():
            specs = self.metrics[protocol]
            parts.append(f"## {protocol}\n\n" + markdown_table(
                ["method", "source", *(m.label for m in specs)],
                [[r.method, r.source, *(_number(r.values.get(m.key, float("nan"))) for m in specs)]
                 for r in rows]))
        parts += [f"Note: {note}\n" for note in self.notes]
        return "\n".join(parts)


def read_summary(folder: str | Path) -> dict[str, Any]:
    """Load a report folder's ``summary.json``; ValueError naming the file when unusable."""
    path = Path(folder) / SUMMARY_JSON
    if not path.is_file():
        raise ValueError(f"{path}: not found (is {folder} a report folder?)")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    for key in ("protocol", "method", "metrics", "summary"):
        if not isinstance(data, dict) or key not in data:
            raise ValueError(f"{path}: missing key {key!r}")
    return data


def reference_hash(data: dict[str, Any]) -> str | None:
    """What a report was scored against: the dataset's annotation hash, or the reference file's."""
    origin = (data.get("settings") or {}).get("provenance") or {}
    for key in ("dataset", "ref"):
        if isinstance(origin.get(key), dict) and origin[key].get("hash"):
            return str(origin[key]["hash"])
    return None


def compare(result_folders: Sequence[str | Path], published: bool = True, force: bool = False) -> Comparison:
    """One row per method and protocol from report folders, optionally with published rows.

    Args:
        result_folders: folders written by :func:`write_report`.
        published: add the papers' rows (labelled :data:`PUBLISHED_SOURCE`) to the protocols
            that have them.
        force: put reports scored against different ground truth (dataset or reference file)
            in one table; by default that is refused (``ProvenanceError``). The override is
            listed in ``Comparison.notes``.
    """
    table = Comparison()
    first: dict[str, tuple[str | None, str]] = {}
    for folder in result_folders:
        data = read_summary(folder)
        protocol = str(data["protocol"])
        scored_on = (reference_hash(data), f"{Path(folder) / SUMMARY_JSON}")
        base = first.setdefault(protocol, scored_on)
        note = check_agree(f"ground truths of the {protocol} reports", Source(*base), Source(*scored_on), force)
        table.notes += [note] if note else []
        if protocol not in table.metrics:
            table.metrics[protocol] = [MetricSpec(m["key"], m["label"],
                                                  bool(m.get("higher_is_better", False)))
                                       for m in data["metrics"]]
            table.rows[protocol] = []
        values = {k: _from_json(v) for k, v in data["summary"].items()}
        table.rows[protocol].append(ComparisonRow(str(data["method"]) or Path(folder).name, values))
    if published:
        for protocol in table.rows:
            table.rows[protocol] += [ComparisonRow(name, dict(values), PUBLISHED_SOURCE)
                                     for name, values in PUBLISHED.get(protocol, ())]
    return table
