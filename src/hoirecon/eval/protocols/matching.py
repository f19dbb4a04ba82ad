"""Pairing RHOBIN reference frames with submitted frames, the visibility filter and the
coverage rule.

- Visibility: when the reference gives ``visible_ratios``, the object and joint tracks only
  evaluate frames with a visible object fraction ``>= 0.3`` (the human track evaluates every
  frame, as the official human evaluator does).
- Coverage: a submission must provide a usable prediction for at least 97.5% of the evaluated
  reference frames, otherwise it is rejected (:class:`CoverageError`, naming how many frames
  are missing). The rule is counted on the evaluated frames themselves; frames a submission
  adds outside the reference are ignored.
- Frames left out within the allowance (missing or unusable) are scored as the worst case,
  so leaving a frame out can never raise a score: they are failures for the recall-type
  metrics (MSSD/MSPD/RE recall, PCK, AUC) and take the worst error of the scored frames in
  the mean errors. (The official evaluators skip them instead; we choose the conservative rule.)
- Reference frames with unusable values are excluded from the evaluation and counted.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from hoirecon.eval.protocols.result import (
    STATUS_INVALID,
    STATUS_MISSING,
    STATUS_OK,
    CoverageError,
    EvalInputError,
    FrameTable,
    MetricSpec,
    ProtocolResult,
    group_means,
    table_counts,
)
from hoirecon.eval.protocols.submission import RhobinFile, Sequence
from hoirecon.io.provenance import file_hash

log = logging.getLogger(__name__)

VISIBLE_MIN = 0.3
"""Smallest visible object fraction of an evaluated frame (object and joint tracks)."""
COVERAGE_MIN = 0.975
"""Smallest accepted fraction of evaluated reference frames with a usable prediction."""


@dataclass
class SequenceMatch:
    """The evaluated frames of one reference sequence and their predictions."""

    ref: Sequence
    pred: Sequence | None
    ref_rows: np.ndarray
    """(N,) evaluated rows of the reference sequence."""
    pred_rows: np.ndarray
    """(N,) the matching prediction rows, -1 where missing."""
    status: list[str]
    """(N,) ``ok``, ``missing`` or ``invalid``."""
    offset: int = 0
    """Position of the first row in the run-wide table."""

    @property
    def ok(self) -> np.ndarray:
        """(N,) rows with a usable prediction."""
        return np.array([s == STATUS_OK for s in self.status], dtype=bool)


@dataclass
class Matching:
    """All reference sequences, paired."""

    sequences: list[SequenceMatch] = field(default_factory=list)
    reference_frames: int = 0
    """Frames in the reference file."""
    excluded: int = 0
    """Frames dropped by the visibility filter or for unusable reference values."""

    @property
    def evaluated(self) -> int:
        """Number of evaluated reference frames."""
        return sum(len(m.ref_rows) for m in self.sequences)

    @property
    def covered(self) -> int:
        """Number of evaluated frames with a usable prediction."""
        return sum(int(m.ok.sum()) for m in self.sequences)


def _evaluated_rows(ref: Sequence, use_visibility: bool) -> np.ndarray:
    keep = ref.valid.copy()
    if use_visibility and ref.visible_ratios is not None:
        keep &= ref.visible_ratios >= VISIBLE_MIN
    return np.flatnonzero(keep)


def _match_sequence(ref: Sequence, pred: Sequence | None, use_visibility: bool) -> SequenceMatch:
    rows = _evaluated_rows(ref, use_visibility)
    index: dict[str, int] = {}
    for i, frame in enumerate(pred.frames if pred is not None else []):
        index.setdefault(frame, i)
    pred_rows = np.array([index.get(ref.frames[r], -1) for r in rows], dtype=np.intp)
    status = [STATUS_MISSING if p < 0 else STATUS_OK if pred.valid[p] else STATUS_INVALID
              for p in pred_rows]
    return SequenceMatch(ref, pred, rows, pred_rows, status)


def match_frames(ref: RhobinFile, pred: RhobinFile, use_visibility: bool) -> Matching:
    """Pair every evaluated reference frame (sequences sorted by name) with its prediction."""
    matching = Matching(reference_frames=ref.num_frames)
    offset = 0
    for name in sorted(ref.sequences):
        match = _match_sequence(ref.sequences[name], pred.sequences.get(name), use_visibility)
        match.offset = offset
        offset += len(match.ref_rows)
        matching.excluded += len(ref.sequences[name].frames) - len(match.ref_rows)
        matching.sequences.append(match)
    extra = sorted(set(pred.sequences) - set(ref.sequences))
    if extra:
        log.info("%s: %d sequence(s) not in the reference are ignored (%s)", pred.path,
                 len(extra), ", ".join(extra[:3]))
    if matching.evaluated == 0:
        raise EvalInputError(f"{ref.path}: no reference frame left to evaluate (visibility "
                             f"filter >= {VISIBLE_MIN} and unusable values removed all)")
    return matching


def enforce_coverage(matching: Matching, pred: RhobinFile, min_coverage: float = COVERAGE_MIN) -> None:
    """Reject a submission covering < ``min_coverage`` (RHOBIN: 97.5%) of the evaluated frames;
    log what is left out."""
    total, covered = matching.evaluated, matching.covered
    needed = math.ceil(min_coverage * total - 1e-9)
    examples = [f"{m.ref.name}/{m.ref.frames[r]}" for m in matching.sequences
                for r, s in zip(m.ref_rows, m.status) if s != STATUS_OK][:3]
    if covered < needed:
        rule = "the RHOBIN rule" if min_coverage == COVERAGE_MIN else "--min-coverage"
        raise CoverageError(
            f"{pred.path}: covers {covered} of {total} evaluated reference frames "
            f"({100.0 * covered / total:.2f}%); {rule} needs at least "
            f"{100 * min_coverage:g}% ({needed} frames): {total - covered} missing or unusable "
            f"(e.g. {', '.join(examples)})")
    if covered < total:
        log.warning("%s: %d of %d evaluated frames missing or unusable (e.g. %s); scored as "
                    "the worst case", pred.path, total - covered, total, ", ".join(examples))


def matching_table(matching: Matching, keys: list[str]) -> FrameTable:
    """One NaN-filled row per evaluated reference frame: group = sequence, frame = its name."""
    groups, frames, status = [], [], []
    for m in matching.sequences:
        groups += [m.ref.name] * len(m.ref_rows)
        frames += [m.ref.frames[r] for r in m.ref_rows]
        status += m.status
    return FrameTable(groups, frames, status, {k: np.full(len(frames), np.nan) for k in keys})


def files_result(protocol: str, pred: RhobinFile, ref: RhobinFile, matching: Matching,
                 table: FrameTable, metrics: tuple[MetricSpec, ...], summary: dict[str, float],
                 settings: dict, notes: list[str]) -> ProtocolResult:
    """Assemble the result of a RHOBIN-file protocol (counts, per-sequence means, notes)."""
    left_out = len(table) - int(table.ok.sum())
    if left_out:
        notes = [*notes, f"{left_out} evaluated frame(s) missing or unusable in the submission, "
                         "scored as the worst case (failures in recalls/PCK/AUC, worst scored "
                         "error in the means)"]
    method = pred.path.parent.name if pred.path.stem == "results" else pred.path.stem
    origin = {"pred": {"path": str(pred.path.resolve()), "hash": file_hash(pred.path)},
              "ref": {"path": str(ref.path.resolve()), "hash": file_hash(ref.path)}}
    return ProtocolResult(
        protocol, method or pred.path.stem, metrics, summary, table,
        group_means(table, [m.key for m in metrics if m.key in table.values]),
        table_counts(table, matching.reference_frames, matching.excluded),
        {"pred": str(pred.path), "ref": str(ref.path), **settings, "provenance": origin}, notes)
