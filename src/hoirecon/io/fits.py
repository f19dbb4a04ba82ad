"""The fit output format: one columnar ``.npz`` per category plus a JSON description.

``<out>/fits/<category>.npz`` holds one row per fitted image:

==========================  ===========  ==================================================
column                      shape        meaning
==========================  ===========  ==================================================
image_id                    (N,) str     id of the image in the dataset
betas                       (N, 10)      body shape
body_pose                   (N, 63)      axis-angle of the 21 body joints
global_orient               (N, 3)       axis-angle, body -> camera
transl                      (N, 3)       body translation in the camera frame
joints_3d                   (N, 22, 3)   body joints in the human frame (metres)
object_rotation             (N, 3, 3)    template -> human frame
object_translation          (N, 3)       human frame (metres)
object_scale                (N,)         template scale
object_rotation_cam         (N, 3, 3)    template -> camera frame
object_translation_cam      (N, 3)       camera frame (metres)
loss_<term>                 (N,)         final value of each weighted loss term
==========================  ===========  ==================================================

Object points are ``s * X @ R.T + t`` (paper eq. 3) in both frames. ``<out>/fit.json`` records
the dataset (absolute path and annotation hash), preset, configuration, prior and, per category,
the images of the split, the images skipped and why (see ``hoirecon.fitting.record``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoirecon.io.arrays import load_columns
from hoirecon.io.atomic import atomic_save_npz, atomic_write_json
from hoirecon.io.errors import FileFormatError

FIT_INFO = "fit.json"
"""The description written next to ``fits/``."""

FIT_COLUMNS = ("image_id", "betas", "body_pose", "global_orient", "transl", "joints_3d", "object_rotation",
               "object_translation", "object_scale", "object_rotation_cam", "object_translation_cam")


@dataclass
class FitResults:
    """Fits of one category: required columns plus ``loss_<term>`` columns."""

    category: str
    columns: dict[str, np.ndarray]
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in FIT_COLUMNS if c not in self.columns]
        if missing:
            raise ValueError(f"fit results for {self.category!r} lack columns {missing}")
        n = len(self.columns["image_id"])
        bad = [k for k, v in self.columns.items() if len(v) != n]
        if bad:
            raise ValueError(f"fit results for {self.category!r}: columns {bad} do not have {n} rows")

    @property
    def image_ids(self) -> list[str]:
        """Fitted image ids in row order."""
        return [str(i) for i in self.columns["image_id"]]

    def row(self, image_id: str) -> dict[str, np.ndarray]:
        """All columns of one image."""
        hits = np.flatnonzero(self.columns["image_id"] == image_id)
        if len(hits) == 0:
            raise KeyError(f"no fit for image {image_id!r} in category {self.category!r}")
        return {k: v[hits[0]] for k, v in self.columns.items()}

    def loss_terms(self) -> list[str]:
        """Names of the recorded loss terms."""
        return [k.removeprefix("loss_") for k in self.columns if k.startswith("loss_")]


def fits_path(out: Path, category: str) -> Path:
    """Where the fits of a category live under an output folder."""
    return Path(out) / "fits" / f"{category}.npz"


def save_fits(out: Path, results: FitResults) -> Path:
    """Write a category's fits atomically; returns the file path."""
    path = fits_path(out, results.category)
    atomic_save_npz(path, results.columns)
    return path


def load_fits(out: Path, category: str) -> FitResults:
    """Read a category's fits from an output folder."""
    return FitResults(category, load_columns(fits_path(out, category)), read_fit_info(out))


def read_fit_info(out: str | Path) -> dict:
    """``<out>/fit.json`` as a dict ({} when absent); :class:`FileFormatError` when unreadable."""
    path = Path(out) / FIT_INFO
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(info, dict):
        raise FileFormatError(f"{path}: expected a JSON object, got {type(info).__name__}")
    return info


def fit_info_entry(info: dict, category: str) -> dict:
    """The record of one category in a ``fit.json`` dict ({} when none)."""
    categories = info.get("categories")
    entry = categories.get(category) if isinstance(categories, dict) else None
    return entry if isinstance(entry, dict) else {}


def write_fit_info(out: Path, info: dict) -> None:
    """Write ``fit.json`` (dataset, preset, configuration, body model) atomically."""
    atomic_write_json(Path(out) / FIT_INFO, info)


def fitted_categories(out: Path) -> list[str]:
    """Categories that have a fits file under ``out``."""
    return sorted(p.stem for p in (Path(out) / "fits").glob("*.npz"))
