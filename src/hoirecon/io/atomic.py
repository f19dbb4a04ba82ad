"""Atomic file writes: the final name appears only once its content is complete and on disk.

Every writer in the package goes through :func:`atomic_path`: the content is written to a temp
file in the target's folder (unique per process and call), flushed and fsynced, given the
permissions a plainly created file would get, then renamed over the target. On any failure
the temp file is removed and the target is left as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def _umask_mode() -> int:
    """The permissions a plainly created file would get (``mkstemp`` files start private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def temp_path_beside(path: str | os.PathLike[str], suffix: str = ".tmp") -> Path:
    """A new, empty temp file in ``path``'s folder (created if needed), unique per process and
    call. For writers that fill a file over time; finish with :func:`commit_temp`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    return Path(name)


def commit_temp(tmp: Path, path: str | os.PathLike[str]) -> Path:
    """Flush ``tmp`` to disk, give it plain-file permissions and rename it over ``path``."""
    _fsync_file(tmp)
    os.chmod(tmp, _umask_mode())
    os.replace(tmp, path)
    return Path(path)


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path beside ``path``; on a clean exit move it over ``path`` atomically.

    The caller writes the temp path with any writer that wants a file name (``np.savez``,
    ``torch.save``, ``PIL``); ``suffix`` keeps writers that append an extension (``np.savez``
    adds ``.npz`` to other names) on the exact temp name. Parent folders are created; on any
    failure the temp file is removed and ``path`` is left as it was.
    """
    tmp = temp_path_beside(path, suffix)
    try:
        yield tmp
        commit_temp(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON atomically; returns the path."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_save_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray],
                    compressed: bool = True) -> Path:
    """Save ``arrays`` as an ``.npz`` (compressed by default) atomically; returns the path."""
    save = np.savez_compressed if compressed else np.savez
    with atomic_path(path, suffix=".npz") as tmp:
        save(tmp, **arrays)
    return Path(path)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy the file ``src`` to ``dst`` atomically; returns ``dst``."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dst)
