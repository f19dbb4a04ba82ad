"""``hoirecon data build`` and ``hoirecon annotate`` from the command line: a run, a rerun, the
self-contained page, and bad input ending with one line and a non-zero exit."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data.synthetic.generator import SynthConfig, generate

_SPEC = importlib.util.spec_from_file_location("collect_photos_cli", Path(__file__).parents[1] / "collect" / "photos.py")
photos = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = photos
_SPEC.loader.exec_module(photos)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_collect")
    generate(root / "renders", SynthConfig(categories=("skateboard",), train=3, test=0, image_size=160, seed=1))
    photos.make_photo_folder(root / "renders", "skateboard", "train", root / "photos",
                             annotation_name="skateboard.annotations.json")
    return root / "photos"


def _run(args: list[str]):
    return CliRunner().invoke(app, args, terminal_width=200)


def test_data_build_reads_the_default_annotation_file_and_resumes(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    result = _run(["data", "build", "--images", str(folder), "--category", "skateboard", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "kept 3 of 3 frames (0 reused)" in result.output
    assert _run(["data", "check", str(out)]).exit_code == 0
    again = _run(["data", "build", "--images", str(folder), "--category", "skateboard", "--out", str(out)])
    assert again.exit_code == 0 and "(3 reused)" in again.output


def test_annotate_writes_the_self_contained_page(folder: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    result = _run(["annotate", str(folder), "--category", "skateboard", "--html", str(page)])
    assert result.exit_code == 0, result.output
    data = json.loads(page.read_text().split('id="hoi-data">')[1].split("</script>")[0].replace("<\\/", "</"))
    assert data["mode"] == "file" and len(data["images"]) == 3 and len(data["annotations"]) == 3


@pytest.mark.parametrize("args, message", [
    (["data", "build", "--images", "{folder}", "--category", "frisbee", "--out", "{tmp}/o"], "frisbee"),
    (["data", "build", "--images", "{folder}", "--category", "skateboard", "--out", "{tmp}/o", "--every", "0"], "every"),
    (["data", "build", "--images", "{folder}", "--category", "skateboard", "--out", "{tmp}/o", "--split", "dev"], "split"),
    (["data", "build", "--images", "{folder}", "--category", "cello", "--out", "{tmp}/o", "--annotations",
      "{folder}/skateboard.annotations.json"], "no image was kept"),
    (["data", "build", "--images", "{tmp}/empty", "--category", "skateboard", "--out", "{tmp}/o"], "no image files"),
    (["annotate", "{folder}", "--category", "cello", "--out", "{folder}/skateboard.annotations.json", "--html",
      "{tmp}/p.html"], "'skateboard', not 'cello'"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(folder: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "empty").mkdir()
    result = _run([a.format(folder=folder, tmp=tmp_path) for a in args])
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
