"""Frames of a collection: the images of a folder, or every N-th frame of a video.

Near-duplicates are dropped the way the paper drops adjacent video frames: each frame is
shrunk to a :data:`THUMB_SIDE`-pixel grey thumbnail and compared with the last frame kept;
when their mean absolute difference (grey levels, 0-255) is below ``duplicate_threshold`` the
frame adds nothing and is skipped. Video frames are written as PNG files under the output
folder (``frames/<video stem>_<frame number>.png``) so the dataset refers to real files;
a frame already written is reused (a rerun resumes). An unreadable image is reported and
skipped, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from hoirecon.io.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
MASK_MARKERS = (".person_mask", ".object_mask")
"""Stem endings of the evidence masks that sit beside the photos (never frames themselves)."""
THUMB_SIDE = 32
DUPLICATE_THRESHOLD = 1.5
"""Default mean grey-level difference below which a frame is a near-duplicate of the last one kept."""


@dataclass(frozen=True)
class Frame:
    """One frame of the collection."""

    image_id: str
    """Unique id: the image's file stem, or ``<video stem>_<frame number>``."""
    path: Path


@dataclass
class FrameList:
    """The frames kept and those dropped, with why."""

    frames: list[Frame] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    """Image id (or file name) -> reason (unreadable, near-duplicate, not taken by ``every``)."""


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A (THUMB_SIDE, THUMB_SIDE) float grey thumbnail of a BGR or grey image (H, W[, 3])."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA).astype(np.float64)


def is_duplicate(thumb: np.ndarray, last: np.ndarray | None, threshold: float) -> bool:
    """True when ``thumb`` differs from the last kept thumbnail by less than ``threshold`` grey levels."""
    return last is not None and float(np.abs(thumb - last).mean()) < threshold


def image_files(folder: Path) -> list[Path]:
    """The photos of a folder in name order: image files that are not evidence masks (``<stem>.person_mask.png``,
    ``<stem>.object_mask.png``)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.stem.endswith(MASK_MARKERS))


def _folder_frames(folder: Path, every: int, threshold: float) -> FrameList:
    result, last, ids = FrameList(), None, set()
    for index, path in enumerate(image_files(folder)):
        if index % every:
            result.dropped[path.stem] = f"not taken (--every {every})"
            continue
        if path.stem in ids:
            result.dropped[path.name] = f"another image has the id {path.stem!r} (same file stem)"
            continue
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            result.dropped[path.stem] = f"{path}: unreadable image"
            log.warning("%s: unreadable image; skipped", path)
            continue
        thumb = thumbnail(image)
        if is_duplicate(thumb, last, threshold):
            result.dropped[path.stem] = "near-duplicate of the previous frame kept"
            continue
        last = thumb
        ids.add(path.stem)
        result.frames.append(Frame(path.stem, path))
    return result


def _video_frames(video: Path) -> Iterator[tuple[int, np.ndarray | None]]:
    """(frame number, BGR frame) of a video; None for a frame that cannot be decoded."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ValueError(f"{video}: not a readable video")
    try:
        index = 0
        while True:
            ok = capture.grab()
            if not ok:
                return
            ok, frame = capture.retrieve()
            yield index, frame if ok else None
            index += 1
    finally:
        capture.release()


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"{path}: could not encode the frame")
    atomic_write_bytes(path, data.tobytes())


def video_frame_list(video: Path, out_folder: Path, every: int, threshold: float) -> FrameList:
    """Every ``every``-th decodable frame of ``video`` that is not a near-duplicate, as PNGs in ``out_folder``."""
    result, last = FrameList(), None
    for index, image in _video_frames(video):
        image_id = f"{video.stem}_{index:06d}"
        if index % every:
            continue
        if image is None:
            result.dropped[image_id] = f"{video}: frame {index} could not be decoded"
            continue
        thumb = thumbnail(image)
        if is_duplicate(thumb, last, threshold):
            result.dropped[image_id] = "near-duplicate of the previous frame kept"
            continue
        last = thumb
        path = out_folder / f"{image_id}.png"
        if not path.is_file():
            _write_png(path, image)
        result.frames.append(Frame(image_id, path))
    if not result.frames and not result.dropped:
        raise ValueError(f"{video}: the video has no frames")
    return result


def list_frames(source: str | Path, out_folder: str | Path, every: int = 1,
                duplicate_threshold: float = DUPLICATE_THRESHOLD) -> FrameList:
    """The frames of a folder of images or of a video file (see the module docstring).

    Raises ValueError naming ``source`` when it is neither, or holds no image.
    """
    source = Path(source)
    if every < 1:
        raise ValueError(f"every: expected a positive frame step, got {every}")
    if source.is_dir():
        result = _folder_frames(source, every, duplicate_threshold)
        if not result.frames and not result.dropped:
            raise ValueError(f"{source}: no image files ({', '.join(IMAGE_SUFFIXES)})")
        return result
    if source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
        folder = Path(out_folder)
        folder.mkdir(parents=True, exist_ok=True)
        return video_frame_list(source, folder, every, duplicate_threshold)
    raise ValueError(f"{source}: expected a folder of images or a video file ({', '.join(VIDEO_SUFFIXES)})")
