"""Scoring a human study: unblind the downloaded answers with the key and tally the choices.

Every answered pair is one forced-choice trial between the two methods. The tally gives, per
method, the number of trials it won and the fraction, with an exact (Clopper-Pearson) binomial
confidence interval and the two-sided binomial test against no preference (p = 0.5), from
``scipy.stats.binomtest``. Trials of one image by several participants are not independent;
the per-participant rows let a reader see whether one person drives the result.

An answers file from another study (study id or tag that do not match the key) is an error: the
key is probably the wrong one. A file that is not an answers file, or whose choices are
malformed, is skipped and listed; when no file is left, that is an error too.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scipy.stats import binomtest

from hoirecon.io.errors import FileFormatError
from hoirecon.viz.study_key import StudyKey, read_study_json
from hoirecon.viz.study_page import RESPONSES_FORMAT

log = logging.getLogger(__name__)


class StudyMismatchError(ValueError):
    """Answers that belong to another study than the key's."""


@dataclass(frozen=True)
class MethodTally:
    """How often one method was preferred."""

    method: str
    wins: int
    trials: int
    fraction: float
    """wins / trials."""
    ci_low: float
    """Lower end of the exact binomial confidence interval of ``fraction``."""
    ci_high: float


@dataclass
class StudyScore:
    """The tally of a study."""

    methods: tuple[str, str]
    tallies: list[MethodTally]
    p_value: float
    """Two-sided binomial test of the first method's wins against p = 0.5."""
    confidence: float
    files: int
    """Answers files counted."""
    incomplete: int
    """Of those, files with unanswered pairs."""
    participants: dict[str, list[int]] = field(default_factory=dict)
    """Per participant (or file name when anonymous): wins of each method."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(file, reason) of files left out."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content."""
        return asdict(self)


def _check_study(path: Path, data: dict[str, Any], key: StudyKey) -> None:
    if data.get("study_id") != key.study_id:
        raise StudyMismatchError(f"{path}: answers of study {data.get('study_id')!r}, the key is for "
                                 f"{key.study_id!r} (wrong key file?)")
    if data.get("sealed") != key.sealed or data.get("tag") != key.tag:
        raise StudyMismatchError(f"{path}: its sealed key or tag does not match the key file of study {key.study_id}")


def winners(path: Path, data: dict[str, Any], key: StudyKey) -> list[int]:
    """Index (0 or 1) of the method chosen in each answered pair of one answers file."""
    left = key.left_methods()
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise FileFormatError(f"{path}: 'choices' should be a list")
    out, seen = [], set()
    for n, item in enumerate(choices):
        where = f"{path}: choices[{n}]"
        if not isinstance(item, dict) or item.get("choice") not in ("left", "right"):
            raise FileFormatError(f"{where}: expected {{'pair', 'choice': 'left' | 'right'}}, got {item!r}")
        pair = item.get("pair")
        if isinstance(pair, bool) or not isinstance(pair, int) or not 0 <= pair < len(left) or pair in seen:
            raise FileFormatError(f"{where}: 'pair' should be a new index in [0, {len(left)}), got {pair!r}")
        if item.get("image_id") != key.image_ids[pair]:
            raise FileFormatError(f"{where}: image {item.get('image_id')!r} is not pair {pair}'s "
                                  f"({key.image_ids[pair]!r})")
        seen.add(pair)
        out.append(left[pair] if item["choice"] == "left" else 1 - left[pair])
    return out


def _tally(method: str, wins: int, trials: int, confidence: float) -> MethodTally:
    ci = binomtest(wins, trials).proportion_ci(confidence, method="exact")
    return MethodTally(method, wins, trials, wins / trials, float(ci.low), float(ci.high))


def score_responses(key: StudyKey, paths: list[str | Path], confidence: float = 0.95) -> StudyScore:
    """Unblind and tally the answers files ``paths`` of the study ``key``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a value in (0, 1), got {confidence}")
    counts, people, skipped, files, incomplete = [0, 0], {}, [], 0, 0
    for raw in paths:
        path = Path(raw)
        try:
            data = read_study_json(path, RESPONSES_FORMAT, "study answers")
            _check_study(path, data, key)
            chosen = winners(path, data, key)
        except FileFormatError as err:
            log.warning("%s", err)
            skipped.append((str(path), str(err)))
            continue
        files += 1
        incomplete += len(chosen) < len(key.image_ids)
        who = str(data.get("participant") or "").strip() or path.name
        person = people.setdefault(who, [0, 0])
        for winner in chosen:
            counts[winner] += 1
            person[winner] += 1
    trials = sum(counts)
    if trials == 0:
        raise ValueError(f"no answered pair in {len(paths)} answers file(s)"
                         + (f"; skipped: {'; '.join(r for _, r in skipped)}" if skipped else ""))
    tallies = [_tally(m, counts[i], trials, confidence) for i, m in enumerate(key.methods)]
    return StudyScore(key.methods, tallies, float(binomtest(counts[0], trials).pvalue), confidence, files,
                      incomplete, people, skipped)
