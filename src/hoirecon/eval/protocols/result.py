"""Typed results shared by every evaluation protocol: per-frame tables, summaries and errors.

A protocol scores one row per reference frame it evaluates. Rows whose prediction is missing
or unusable keep their place in the table (status ``missing`` / ``invalid``, values NaN) so the
per-frame CSV shows exactly what was and was not scored; how such rows enter the summary is the
protocol's rule (skipped for our own dataset protocols, scored as the worst case for the
RHOBIN tracks, see :mod:`hoirecon.eval.protocols.matching`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STATUS_OK = "ok"
"""The frame was scored."""
STATUS_MISSING = "missing"
"""The prediction has no entry for the frame."""
STATUS_INVALID = "invalid"
"""The prediction exists but is unusable (NaN/inf, not a rotation, scale <= 0)."""


class EvalInputError(ValueError):
    """An input of a protocol is unusable; the message names the file, key or argument."""


class CoverageError(EvalInputError):
    """A submission covers fewer reference frames than the RHOBIN coverage rule requires."""


@dataclass(frozen=True)
class MetricSpec:
    """One reported number of a protocol."""

    key: str
    """Column name in the tables and JSON, e.g. ``"smpl_cd_cm"``."""
    label: str
    """Human-readable header, e.g. ``"SMPL CD (cm)"``."""
    higher_is_better: bool = False
    """True for recalls, PCK and AUC."""


@dataclass
class FrameTable:
    """Per-frame results: N rows, one per evaluated reference frame."""

    groups: list[str]
    """(N,) category (dataset protocols) or sequence (RHOBIN files) of each row."""
    frames: list[str]
    """(N,) image id or frame name of each row."""
    status: list[str]
    """(N,) :data:`STATUS_OK`, :data:`STATUS_MISSING` or :data:`STATUS_INVALID`."""
    values: dict[str, np.ndarray] = field(default_factory=dict)
    """Per-frame metric columns, each (N,) float64; NaN where the row was not scored."""

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def ok(self) -> np.ndarray:
        """(N,) bool mask of scored rows."""
        return np.array([s == STATUS_OK for s in self.status], dtype=bool)

    def count(self, status: str) -> int:
        """Number of rows with a given status."""
        return sum(s == status for s in self.status)


@dataclass
class ProtocolResult:
    """Outcome of one protocol run: the leaderboard row, per-group rows and per-frame values."""

    protocol: str
    """``wildhoi``, ``behave``, ``rhobin-object``, ``rhobin-human`` or ``rhobin-joint``."""
    method: str
    """Name of the evaluated method (preset name, or the fits folder / results file name)."""
    metrics: tuple[MetricSpec, ...]
    """The summary columns, in leaderboard order."""
    summary: dict[str, float]
    """Leaderboard row: metric key -> value."""
    table: FrameTable
    """Per-frame values."""
    group_summary: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per category / sequence: metric key -> mean over its scored frames."""
    counts: dict[str, int] = field(default_factory=dict)
    """``reference`` (rows before filtering), ``excluded`` (visibility filter), ``evaluated``
    (rows in the table), ``scored``, ``missing``, ``invalid``."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Inputs and options of the run (paths, samples, seed, units)."""
    notes: list[str] = field(default_factory=list)
    """Decisions worth reading next to the numbers (fill rules, ignored genders, ...)."""

    @property
    def coverage(self) -> float:
        """Fraction of the evaluated frames that were scored (missing and invalid ones count against it)."""
        evaluated = self.counts.get("evaluated", len(self.table))
        return self.counts.get("scored", int(self.table.ok.sum())) / evaluated if evaluated else 0.0

    def coverage_text(self) -> str:
        """``"97.9% (47/48)"``: the coverage as printed beside every mean."""
        evaluated = self.counts.get("evaluated", len(self.table))
        scored = self.counts.get("scored", int(self.table.ok.sum()))
        return f"{100 * self.coverage:.1f}% ({scored}/{evaluated})"

    def leaderboard_row(self) -> dict[str, float]:
        """The summary in metric order: ``{label: value}``."""
        return {m.label: self.summary[m.key] for m in self.metrics if m.key in self.summary}


def mean_over_ok(values: np.ndarray, ok: np.ndarray) -> float:
    """Mean of ``values`` (N,) over the rows where ``ok`` (N,) is true; NaN when none are."""
    picked = values[ok]
    return float(picked.mean()) if picked.size else float("nan")


def worst_filled_mean(values: np.ndarray, ok: np.ndarray, higher_is_better: bool = False) -> float:
    """Mean over all N rows where unscored rows take the worst scored value.

    This is the RHOBIN rule for frames a submission leaves out within the 2.5% allowance:
    leaving a frame out can never improve a mean error.

    Args:
        values: (N,) per-frame values (NaN where not scored).
        ok: (N,) bool, rows that were scored.
        higher_is_better: the worst value is the smallest instead of the largest.
    """
    scored = values[ok]
    if scored.size == 0:
        return float("nan")
    worst = scored.min() if higher_is_better else scored.max()
    return float(np.where(ok, values, worst).mean())


def group_means(table: FrameTable, keys: list[str]) -> dict[str, dict[str, float]]:
    """Per group: the mean of each metric ``key`` over that group's scored rows."""
    groups = np.array(table.groups, dtype=object)
    ok = table.ok
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(table.groups):
        rows = ok & (groups == name)
        out[name] = {k: mean_over_ok(table.values[k], rows) for k in keys}
    return out


def table_counts(table: FrameTable, reference: int, excluded: int = 0) -> dict[str, int]:
    """The standard ``counts`` of a result from its table and the filtering before it."""
    return {
        "reference": reference,
        "excluded": excluded,
        "evaluated": len(table),
        "scored": table.count(STATUS_OK),
        "missing": table.count(STATUS_MISSING),
        "invalid": table.count(STATUS_INVALID),
    }


def mark_unsampled(table: FrameTable, key: str) -> None:
    """Scored rows still NaN in ``key`` could not be evaluated (e.g. a degenerate mesh):
    mark them invalid and clear their other values."""
    for i in np.flatnonzero(table.ok & np.isnan(table.values[key])):
        table.status[i] = STATUS_INVALID
        for column in table.values.values():
            column[i] = np.nan


def check_coverage(where: str, table: FrameTable, min_coverage: float, rule: str) -> None:
    """Raise :class:`CoverageError` when fewer than ``min_coverage`` of the table's rows are scored.

    ``where`` names the evaluated input (file or folder) and ``rule`` what leaving rows out
    costs under the protocol; the message counts missing and invalid rows and names a few.
    """
    total, scored = len(table), int(table.ok.sum())
    needed = math.ceil(min_coverage * total - 1e-9)
    if scored >= needed:
        return
    examples = [f"{g}/{f} ({s})" for g, f, s in zip(table.groups, table.frames, table.status) if s != STATUS_OK][:3]
    raise CoverageError(
        f"{where}: usable predictions for {scored} of {total} evaluated frames "
        f"({100.0 * scored / max(total, 1):.1f}%), {table.count(STATUS_MISSING)} missing and "
        f"{table.count(STATUS_INVALID)} invalid (e.g. {', '.join(examples)}); at least {100 * min_coverage:g}% "
        f"({needed} frames) are needed ({rule}). Provide the missing frames, or lower --min-coverage")
