"""Columnar ``.npz`` files: one array per column, one row per item (annotations, fits, parts)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from hoirecon.io.errors import FileFormatError


def load_columns(path: str | Path) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` into memory; :class:`FileFormatError` naming the file
    when it is missing, unreadable or truncated. Pickled objects are refused."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise FileFormatError(f"{path}: unreadable or truncated npz ({err})") from err
