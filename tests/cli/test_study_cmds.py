"""``hoirecon study make`` / ``study score`` through the CLI: files written, tally printed,
bad input ends with exit code 2 and one line naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.viz.study_key import load_key
from hoirecon.viz.study_page import RESPONSES_FORMAT

runner = CliRunner()
CATEGORY = "skateboard"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("study_cli")
    data = generate(root / "data", SynthConfig(categories=(CATEGORY,), train=0, test=3, seed=0, image_size=48,
                                               workers=1))
    fit_dataset(data, CATEGORY, "test", get_preset("none", object_steps=0, joint_steps=0), root / "a")
    fit_dataset(data, CATEGORY, "test", get_preset("none", object_steps=2, joint_steps=0), root / "b")
    return {"data": data, "a": root / "a", "b": root / "b", "root": root}


def _answers(path: Path, key_path: Path, choice: str) -> Path:
    key = load_key(key_path)
    choices = [{"pair": i, "image_id": image, "choice": choice} for i, image in enumerate(key.image_ids)]
    path.write_text(json.dumps({"format": RESPONSES_FORMAT, "study_id": key.study_id, "sealed": key.sealed,
                                "tag": key.tag, "participant": "x", "choices": choices}))
    return path


def test_make_then_score(folders: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "study.html"
    made = runner.invoke(app, ["study", "make", "--fits", str(folders["a"]), "--fits", str(folders["b"]),
                               "--data", str(folders["data"]), "--out", str(page), "--pairs", "2"])
    assert made.exit_code == 0, made.output
    key = tmp_path / "study.key.json"
    assert page.is_file() and key.is_file() and "2 pairs" in made.output
    answers = _answers(tmp_path / "ans.json", key, "left")
    left = load_key(key).left_methods()
    scored = runner.invoke(app, ["study", "score", str(answers), "--key", str(key), "--json", str(tmp_path / "s.json")])
    assert scored.exit_code == 0, scored.output
    tally = json.loads((tmp_path / "s.json").read_text())
    assert [t["wins"] for t in tally["tallies"]] == [left.count(0), left.count(1)]
    assert tally["methods"] == ["a", "b"] and "binomial test" in scored.output


def test_bad_inputs_exit_2(folders: dict[str, Path], tmp_path: Path) -> None:
    one = runner.invoke(app, ["study", "make", "--fits", str(folders["a"]), "--data", str(folders["data"]),
                              "--out", str(tmp_path / "x.html")])
    assert one.exit_code == 2 and "exactly twice" in one.output
    (tmp_path / "key.json").write_text("{}")
    (tmp_path / "ans.json").write_text("{}")
    bad_key = runner.invoke(app, ["study", "score", str(tmp_path / "ans.json"), "--key", str(tmp_path / "key.json")])
    assert bad_key.exit_code == 2 and "not a study key file" in bad_key.output
