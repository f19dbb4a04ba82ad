"""tools/draw_reconstruct_images.py: the README's reconstruct command, its pictures copied under new names."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.tools.scripts import load_tool

GT = Path(__file__).resolve().parents[1] / "data" / "real" / "coco_000000000785" / "keypoints_gt.json"



draw = load_tool("draw_reconstruct_images")


def test_the_command_is_the_readme_one(tmp_path: Path) -> None:
    args = draw.reconstruct_args(tmp_path / "pole.json", tmp_path / "out", ["--preset", "none"])
    assert args[:4] == ["reconstruct", str(draw.PHOTO), "--category", "baseball_bat"]
    assert draw.PHOTO.is_file() and args[-2:] == ["--preset", "none"]


@pytest.mark.slow
def test_draw_writes_both_pictures_of_the_photo(tmp_path: Path) -> None:
    # the ground-truth keypoints stand in for the detector, which is an optional extra
    written = draw.draw(tmp_path / "images", ["--person-keypoints", str(GT), "--object-steps", "5",
                                              "--joint-steps", "5"])
    assert [p.name for p in written] == ["reconstruct_overlay.png", "reconstruct_views.png"]
    assert Image.open(written[0]).size == Image.open(draw.PHOTO).size
    width, height = Image.open(written[1]).size
    assert width == 3 * height


def test_a_failing_command_raises_with_its_output(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="unknown category"):
        draw.draw(tmp_path / "images", ["--category", "surfboard"])
    assert not (tmp_path / "images").exists()
