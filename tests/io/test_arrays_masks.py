"""Columnar npz files and mask files: read back exactly; missing, truncated, pickled, unreadable
or wrongly sized files are refused with the file named."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hoirecon.io.arrays import load_columns
from hoirecon.io.errors import FileFormatError
from hoirecon.io.masks import load_mask


def test_columns_round_trip_and_bad_files_are_named(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", x=np.arange(4), name=np.array(["p", "q"]))
    cols = load_columns(tmp_path / "a.npz")
    assert sorted(cols) == ["name", "x"] and cols["name"].tolist() == ["p", "q"]
    with pytest.raises(FileFormatError, match="missing.npz: file not found"):
        load_columns(tmp_path / "missing.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "a.npz").read_bytes()[:40])
    with pytest.raises(FileFormatError, match="cut.npz"):
        load_columns(tmp_path / "cut.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FileFormatError, match="obj.npz"):
        load_columns(tmp_path / "obj.npz")


def test_masks_threshold_lossy_files_and_check_their_size(tmp_path: Path) -> None:
    mask = np.zeros((30, 40), np.uint8)
    mask[5:20, 10:30] = 255
    cv2.imwrite(str(tmp_path / "m.jpg"), mask)
    got = load_mask(tmp_path / "m.jpg", (40, 30), "object")
    assert got.shape == (30, 40) and abs(int(got.sum()) - 15 * 20) <= 20
    with pytest.raises(FileFormatError, match="m.jpg: object mask is 40x30, the image is 30x40"):
        load_mask(tmp_path / "m.jpg", (30, 40), "object")
    with pytest.raises(FileFormatError, match="human mask not found"):
        load_mask(tmp_path / "none.png", (40, 30), "human")
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(FileFormatError, match="bad.png: unreadable human mask"):
        load_mask(tmp_path / "bad.png", (40, 30), "human")
