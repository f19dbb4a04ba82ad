"""The study key: sealing round trip, the sealed string alone reveals nothing, tamper tags, file checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hoirecon.io.errors import FileFormatError
from hoirecon.viz.study_key import load_key, new_key, save_key, seal, seal_tag, unseal

SECRET = "00112233445566778899aabbccddeeff"


def test_seal_round_trip_and_tag() -> None:
    sides = [0, 1, 1, 0, 1, 0, 0, 0]
    sealed = seal(SECRET, "s1", sides)
    assert len(sealed) == len(sides) and set(sealed) <= {"0", "1"}
    assert unseal(SECRET, "s1", sealed) == sides
    assert unseal(SECRET, "s2", sealed) != sides or unseal("ff" * 16, "s1", sealed) != sides
    flipped = ("1" if sealed[0] == "0" else "0") + sealed[1:]
    assert seal_tag(SECRET, "s1", flipped) != seal_tag(SECRET, "s1", sealed)
    with pytest.raises(ValueError, match="left_methods"):
        seal(SECRET, "s1", [0, 2])
    with pytest.raises(ValueError, match="sealed"):
        unseal(SECRET, "s1", "01x")


def test_the_sealed_string_does_not_show_the_sides() -> None:
    # the same assignment (always method A on the left) under 400 fresh keys: every sealed bit is
    # a coin flip, so without the secret the page says nothing about the sides
    bits = np.array([[int(c) for c in new_key(("a", "b"), ("x", "y"), ["i"] * 16, [0] * 16).sealed]
                     for _ in range(400)])
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.1)


def test_key_file_round_trip_and_errors(tmp_path: Path) -> None:
    key = new_key(("none", "prior"), ("/a", "/b"), ["img1", "img2"], [1, 0])
    path = save_key(tmp_path / "k.json", key)
    loaded = load_key(path)
    assert loaded == key and loaded.left_methods() == [1, 0] and loaded.tag == key.tag
    data = json.loads(path.read_text())
    for change, match in ((lambda d: d.pop("secret"), "secret"), (lambda d: d.update(format="x"), "not a study key"),
                          (lambda d: d.update(sealed="0"), "one 0/1 per pair"),
                          (lambda d: d.update(methods=["a"]), "two methods"),
                          (lambda d: d.update(secret="zz"), "hexadecimal"),
                          (lambda d: d.update(image_ids="img"), "should be a list")):
        broken = dict(data)
        change(broken)
        (tmp_path / "bad.json").write_text(json.dumps(broken))
        with pytest.raises(FileFormatError, match=match):
            load_key(tmp_path / "bad.json")
    (tmp_path / "text.json").write_text("not json")
    with pytest.raises(FileFormatError, match="text.json"):
        load_key(tmp_path / "text.json")
