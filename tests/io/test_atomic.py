"""Atomic writes: content and permissions as a plain write, no temp file left on success or
failure, the old file intact after a failed write, and writers that append extensions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hoirecon.io.atomic import (
    atomic_copy,
    atomic_path,
    atomic_save_npz,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    commit_temp,
    temp_path_beside,
)


def test_writes_land_complete_with_plain_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.bin"
    atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc"
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert (target.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)
    atomic_write_text(tmp_path / "t.txt", "é\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "é\n"
    atomic_write_json(tmp_path / "j.json", {"b": 1, "a": [1, 2]})
    assert json.loads((tmp_path / "j.json").read_text()) == {"a": [1, 2], "b": 1}
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["a.bin"]


def test_npz_keeps_its_name_and_arrays(tmp_path: Path) -> None:
    for compressed in (True, False):
        path = atomic_save_npz(tmp_path / f"x{compressed}.npz", {"a": np.arange(3)}, compressed=compressed)
        with np.load(path) as npz:
            np.testing.assert_array_equal(npz["a"], [0, 1, 2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["xFalse.npz", "xTrue.npz"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    with pytest.raises(TypeError):
        atomic_write_json(target, {"v": object()})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_temp_names_are_unique_and_commit_moves_into_place(tmp_path: Path) -> None:
    a, b = temp_path_beside(tmp_path / "f.npy", ".npy"), temp_path_beside(tmp_path / "f.npy", ".npy")
    assert a != b and a.parent == tmp_path and a.name.startswith(".f.npy.") and a.suffix == ".npy"
    a.write_bytes(b"1")
    commit_temp(a, tmp_path / "f.npy")
    assert (tmp_path / "f.npy").read_bytes() == b"1" and not a.exists()
    b.unlink()
    atomic_copy(tmp_path / "f.npy", tmp_path / "g.npy")
    assert (tmp_path / "g.npy").read_bytes() == b"1"
    assert sorted(os.listdir(tmp_path)) == ["f.npy", "g.npy"]
