"""The dataset side of out-of-core grouping (``hoirecon group --chunk-size``).

:func:`group_category_chunked` streams a category's training samples into ``x25d.npy`` (and
``x3d.npy`` for the quality check when all have ground truth) under the work folder without
keeping the samples, groups them with :func:`~hoirecon.prior.grouping.chunked.group_images_chunked`, and
checks quality block by block with the numbers of the in-memory path.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from itertools import islice
from pathlib import Path
from typing import TypeVar

import numpy as np
from torch import Tensor

from hoirecon.data import load_dataset
from hoirecon.data.truth import has_truth, true_x3d
from hoirecon.device import DeviceLike
from hoirecon.io.atomic import commit_temp, temp_path_beside
from hoirecon.prior.grouping import (
    Grouping,
    GroupingConfig,
    GroupingQuality,
    streamed_quality,
)
from hoirecon.prior.grouping.chunked import (
    MANIFEST,
    _check_settings,
    group_images_chunked,
)
from hoirecon.prior.training_data import observed_x25d, video_frame_ids

log = logging.getLogger(__name__)
T = TypeVar("T")


class RowFile:
    """An ``.npy`` file of ``n`` rows filled block by block, renamed into place once complete."""

    def __init__(self, path: Path, n: int) -> None:
        self.path, self.n, self.filled = Path(path), n, 0
        self.tmp = temp_path_beside(self.path, suffix=".npy")
        self.array: np.memmap | None = None

    def append(self, block: np.ndarray) -> None:
        """Write the next ``(B, ...)`` rows (the first block fixes the row shape and dtype)."""
        if self.array is None:
            self.array = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=block.dtype,
                                                   shape=(self.n, *block.shape[1:]))
        if self.filled + len(block) > self.n or block.shape[1:] != self.array.shape[1:]:
            raise ValueError(f"{self.path}: block {block.shape} does not fit rows {self.filled}.. of "
                             f"{self.array.shape}")
        self.array[self.filled:self.filled + len(block)] = block
        self.filled += len(block)

    def close(self) -> Path:
        """Flush and rename into place; every row must have been written."""
        if self.array is None or self.filled != self.n:
            self.discard()
            raise ValueError(f"{self.path}: got {self.filled} rows, expected {self.n}")
        self.array.flush()
        self.array = None
        return commit_temp(self.tmp, self.path)

    def discard(self) -> None:
        """Drop the unfinished file."""
        self.array = None
        self.tmp.unlink(missing_ok=True)


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last one shorter)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def write_category_arrays(data_dir: str | Path, category: str, work: Path, chunk_size: int
                          ) -> tuple[Path, Path | None]:
    """Stream a category's training samples into ``work/x25d.npy (N, K + 1, 3)`` and, when every
    sample has ground truth, ``work/x3d.npy (N, K, 3)``, ``chunk_size`` samples at a time."""
    data = load_dataset(data_dir)
    n = len(data.indices(category, "train"))
    if n == 0:
        raise ValueError(f"{data.root}: no 'train' images in category {category!r}")
    work.mkdir(parents=True, exist_ok=True)
    x25d_file, x3d_file = RowFile(work / "x25d.npy", n), RowFile(work / "x3d.npy", n)
    try:
        for batch in _batches(data.samples(category, "train"), chunk_size):
            x25d_file.append(observed_x25d(batch).numpy())
            if x3d_file is not None and has_truth(batch):
                x3d_file.append(true_x3d(batch))
            elif x3d_file is not None:
                x3d_file.discard()
                x3d_file = None
        return x25d_file.close(), x3d_file.close() if x3d_file is not None else None
    finally:
        x25d_file.discard()
        if x3d_file is not None:
            x3d_file.discard()


def _videos(data_dir: str | Path, category: str) -> tuple[Tensor, Tensor] | None:
    """Video numbers and frames ``(N,)`` of the training images, from the columns (no samples built)."""
    data = load_dataset(data_dir)
    cols, rows = data.columns(category), data.indices(category, "train")
    if "video_id" not in cols:
        return None
    return video_frame_ids([str(v) for v in cols["video_id"][rows]], [int(f) for f in cols["frame_index"][rows]])


def group_category_chunked(data_dir: str | Path, category: str, config: GroupingConfig, out: str | Path | None,
                           chunk_size: int, reject_adjacent: bool = True, device: DeviceLike = None
                           ) -> tuple[Grouping, GroupingQuality | None]:
    """:func:`~hoirecon.prior.category.group_category` out of core, ``chunk_size`` images per block.

    With ``out``, the work files live in ``<out>.work/`` (an interrupted run resumes from there)
    and are removed once ``out`` is written; without, in a temporary folder. ``device``
    (``hoirecon.device``) runs the distance tiles.
    """
    _check_settings(config, chunk_size)
    work = Path(str(out) + ".work") if out is not None else None
    with nullcontext(work) if work is not None else tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        x25d_path, x3d_path = write_category_arrays(data_dir, category, folder, chunk_size)
        videos = _videos(data_dir, category) if reject_adjacent else None
        grouping = group_images_chunked(x25d_path, config, chunk_size, folder, *(videos or (None, None)),
                                        device=device)
        grouping.stats["adjacent_frame_rejection"] = videos is not None
        quality = None
        if x3d_path is not None:
            quality = streamed_quality(np.load(x3d_path, mmap_mode="r"), grouping, chunk_size)
        if out is not None:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            grouping.save(out)
            _remove_work_files(folder)
    return grouping, quality


def _remove_work_files(work: Path) -> None:
    """Delete what this module wrote in ``work`` (temporary files of killed runs too), then
    ``work`` itself if nothing else is there."""
    for path in work.iterdir():
        if path.is_file() and path.name.lstrip(".").startswith(("part-", MANIFEST, "x25d.npy", "x3d.npy")):
            path.unlink()
    try:
        work.rmdir()
    except OSError:
        log.info("%s: kept (it holds other files)", work)
