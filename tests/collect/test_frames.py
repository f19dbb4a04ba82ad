"""Frames from a folder or a video: every N-th, near-duplicates dropped, unreadable files reported."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hoirecon.collect.frames import is_duplicate, list_frames, thumbnail


def _picture(seed: int, size: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)


def test_folder_drops_duplicates_and_reports_unreadable_files(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), _picture(0))
    cv2.imwrite(str(folder / "b.png"), _picture(0))  # the same picture again
    cv2.imwrite(str(folder / "c.png"), _picture(1))
    (folder / "d.png").write_bytes(b"not an image")
    result = list_frames(folder, tmp_path / "frames")
    assert [f.image_id for f in result.frames] == ["a", "c"]
    assert "near-duplicate" in result.dropped["b"]
    assert "unreadable" in result.dropped["d"]


def test_every_takes_every_nth_file(tmp_path: Path) -> None:
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"{i}.png"), _picture(i))
    result = list_frames(tmp_path, tmp_path / "frames", every=2)
    assert [f.image_id for f in result.frames] == ["0", "2", "4"]


def test_video_frames_are_written_as_png_and_deduplicated(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 48))
    for i in range(8):
        writer.write(_picture(i // 2))  # each picture twice: every second frame is a duplicate
    writer.release()
    result = list_frames(video, tmp_path / "frames")
    assert [f.image_id for f in result.frames] == ["clip_000000", "clip_000002", "clip_000004", "clip_000006"]
    assert all(f.path.is_file() and cv2.imread(str(f.path)).shape == (48, 48, 3) for f in result.frames)
    assert sum("near-duplicate" in r for r in result.dropped.values()) == 4
    again = list_frames(video, tmp_path / "frames", every=4)
    assert [f.image_id for f in again.frames] == ["clip_000000", "clip_000004"]


def test_bad_sources_name_the_path(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="notes.txt"):
        list_frames(tmp_path / "notes.txt", tmp_path / "frames")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        list_frames(tmp_path / "empty", tmp_path / "frames")
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="broken.mp4"):
        list_frames(tmp_path / "broken.mp4", tmp_path / "frames")
    with pytest.raises(ValueError, match="every"):
        list_frames(tmp_path, tmp_path / "frames", every=0)


def test_duplicate_rule_uses_the_threshold() -> None:
    a = thumbnail(_picture(0))
    assert not is_duplicate(a, None, 1.5)
    assert is_duplicate(a + 1.0, a, 1.5) and not is_duplicate(a + 2.0, a, 1.5)
