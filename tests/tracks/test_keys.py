"""Sequence names, frame times, image ids and split files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hoirecon.tracks.keys import FrameKey, object_of, parse_image_id, read_split


@pytest.mark.parametrize(("image_id", "key"), [
    ("Date03_Sub03_chairwood_hand_t0003.000_k1", FrameKey("Date03_Sub03_chairwood_hand", "t0003.000", 1)),
    ("Date04_Sub05_stool_t0010.500_k0", FrameKey("Date04_Sub05_stool", "t0010.500", 0)),
    ("Date01_Sub01_boxlarge_hand_part2_t0001.000_k3", FrameKey("Date01_Sub01_boxlarge_hand_part2", "t0001.000", 3)),
    ("skateboard_000012", None),
])
def test_image_ids_parse_back_into_keys(image_id: str, key: FrameKey | None) -> None:
    assert parse_image_id(image_id) == key


def test_object_is_the_third_field() -> None:
    assert object_of("Date03_Sub03_chairwood_hand") == "chairwood"
    with pytest.raises(ValueError, match="not a BEHAVE sequence"):
        object_of("chairwood")


def test_split_files(tmp_path: Path) -> None:
    behave = tmp_path / "split.json"
    behave.write_text(json.dumps({"train": ["Date01_Sub01_stool_sit"], "test": ["Date03_Sub03_stool_sit"] * 2}))
    assert read_split(behave) == ["Date03_Sub03_stool_sit"]
    plain = tmp_path / "list.json"
    plain.write_text(json.dumps(["Date03_Sub03_stool_sit", "Date03_Sub04_yogaball_play"]))
    assert read_split(plain) == ["Date03_Sub03_stool_sit", "Date03_Sub04_yogaball_play"]
    for bad, message in (("{", "not a readable"), ('{"train": []}', "expected"), ('["t0001.000"]', "not a BEHAVE")):
        behave.write_text(bad)
        with pytest.raises(ValueError, match=message):
            read_split(behave)
