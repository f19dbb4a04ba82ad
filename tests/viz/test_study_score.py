"""Scoring: unblinding by the key, hand-checked binomial tallies, foreign and broken answers files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hoirecon.viz.study_key import StudyKey, new_key
from hoirecon.viz.study_page import RESPONSES_FORMAT
from hoirecon.viz.study_score import StudyMismatchError, score_responses


def _key(n: int = 10) -> StudyKey:
    return new_key(("prior", "none"), ("/p", "/n"), [f"img{i}" for i in range(n)], [i % 2 for i in range(n)])


def _answers(path: Path, key: StudyKey, prefer: list[int], participant: str = "", **extra: object) -> Path:
    """An answers file whose pair i picks method ``prefer[i]`` (through the page's left/right)."""
    left = key.left_methods()
    choices = [{"pair": i, "image_id": key.image_ids[i], "choice": "left" if left[i] == m else "right",
                "seconds": 1.0} for i, m in enumerate(prefer)]
    data = {"format": RESPONSES_FORMAT, "version": 1, "study_id": key.study_id, "sealed": key.sealed,
            "tag": key.tag, "pairs": len(key.image_ids), "participant": participant,
            "complete": len(prefer) == len(key.image_ids), "choices": choices, **extra}
    path.write_text(json.dumps(data))
    return path


def test_tally_by_hand(tmp_path: Path) -> None:
    key = _key()
    path = _answers(tmp_path / "a.json", key, [0, 0, 1, 0, 0, 1, 0, 0, 1, 0], participant="p1")
    score = score_responses(key, [path])
    prior, none = score.tallies
    assert (prior.method, prior.wins, prior.trials, prior.fraction) == ("prior", 7, 10, 0.7)
    assert none.wins == 3 and score.participants == {"p1": [7, 3]}
    # 2 P(X >= 7), X ~ Bin(10, 1/2) = 2 * 176 / 1024; Clopper-Pearson 95% for 7/10
    assert score.p_value == pytest.approx(0.34375)
    assert (prior.ci_low, prior.ci_high) == pytest.approx((0.34755, 0.93326), abs=1e-5)
    assert (none.ci_low, none.ci_high) == pytest.approx((1 - 0.93326, 1 - 0.34755), abs=1e-5)


def test_files_add_up_and_incomplete_ones_count_what_they_answered(tmp_path: Path) -> None:
    key = _key(4)
    full = _answers(tmp_path / "a.json", key, [0, 0, 0, 0])
    part = _answers(tmp_path / "b.json", key, [1, 1], participant="p2")
    score = score_responses(key, [full, part])
    assert [t.wins for t in score.tallies] == [4, 2] and score.files == 2 and score.incomplete == 1
    assert score.participants == {"a.json": [4, 0], "p2": [0, 2]}


def test_answers_of_another_study_are_refused(tmp_path: Path) -> None:
    key, other = _key(4), _key(4)
    path = _answers(tmp_path / "a.json", other, [0, 0, 0, 0])
    with pytest.raises(StudyMismatchError, match="wrong key"):
        score_responses(key, [path])
    forged = _answers(tmp_path / "f.json", key, [0, 0, 0, 0], tag="0" * 32)
    with pytest.raises(StudyMismatchError, match="tag"):
        score_responses(key, [forged])


def test_broken_files_are_skipped_and_listed(tmp_path: Path) -> None:
    key = _key(4)
    good = _answers(tmp_path / "good.json", key, [0, 1, 0, 0])
    (tmp_path / "text.json").write_text("hello")
    twice = _answers(tmp_path / "twice.json", key, [0, 0])
    data = json.loads(twice.read_text())
    data["choices"][1]["pair"] = 0
    twice.write_text(json.dumps(data))
    wrong_image = _answers(tmp_path / "img.json", key, [0])
    data = json.loads(wrong_image.read_text())
    data["choices"][0]["image_id"] = "elsewhere"
    wrong_image.write_text(json.dumps(data))
    bad_choice = _answers(tmp_path / "choice.json", key, [0])
    data = json.loads(bad_choice.read_text())
    data["choices"][0]["choice"] = "both"
    bad_choice.write_text(json.dumps(data))
    score = score_responses(key, [good, tmp_path / "text.json", twice, wrong_image, bad_choice])
    assert [t.wins for t in score.tallies] == [3, 1] and score.files == 1
    reasons = dict(score.skipped)
    assert "not a readable JSON" in reasons[str(tmp_path / "text.json")]
    assert "new index" in reasons[str(twice)] and "elsewhere" in reasons[str(wrong_image)]
    assert "'left' | 'right'" in reasons[str(bad_choice)]
    with pytest.raises(ValueError, match="no answered pair"):
        score_responses(key, [tmp_path / "text.json"])
    with pytest.raises(ValueError, match="confidence"):
        score_responses(key, [good], confidence=1.5)
