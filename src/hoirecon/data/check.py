"""Validation of a dataset folder: every problem found is reported, none is fatal to the check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.data.dataset import read_manifest
from hoirecon.data.format import (
    ANNOTATION_DIR,
    COLUMNS,
    SPLITS,
    Column,
    DatasetFormatError,
    columns_of,
    expected_shape,
)
from hoirecon.io.arrays import load_columns
from hoirecon.io.errors import FileFormatError
from hoirecon.objects import CATEGORIES


@dataclass(frozen=True)
class Problem:
    """One defect: the file (and field) it is in, and what is wrong."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path} [{self.field}]" if self.field else self.path
        return f"{where}: {self.message}"


def _builtin_categories() -> tuple[str, ...]:
    return tuple(CATEGORIES)


def _check_category_entry(root: Path, name: str, info: dict) -> list[Problem]:
    manifest = str(root / "dataset.json")
    template = str(info.get("template", f"builtin:{name}"))
    if template.startswith("builtin:"):
        if template.removeprefix("builtin:") not in _builtin_categories():
            return [Problem(manifest, f"categories.{name}.template",
                            f"unknown category {template.removeprefix('builtin:')!r}; built-ins are "
                            f"{', '.join(_builtin_categories())}, or give a template mesh path")]
        return []
    if not (root / template).is_file():
        return [Problem(manifest, f"categories.{name}.template", f"template file {template!r} not found")]
    return []


def _check_column(path: str, col: Column, arr: np.ndarray, n: int, k: int, c: int | None) -> list[Problem]:
    want = expected_shape(col, n, k, c)
    if want is not None and arr.shape != want:
        return [Problem(path, col.name, f"wrong shape {arr.shape}, expected {want}")]
    if col.kind == "f":
        if arr.dtype.kind not in "fi":
            return [Problem(path, col.name, f"dtype {arr.dtype}, expected a float array")]
        bad = ~np.isfinite(arr.reshape(n, -1)).all(axis=1) if n else np.zeros(0, bool)
        if bad.any():
            rows = np.flatnonzero(bad)
            return [Problem(path, col.name, f"non-finite values (NaN/inf) in {len(rows)} row(s), first rows {rows[:5].tolist()}")]
    elif col.kind == "U" and arr.dtype.kind != "U":
        return [Problem(path, col.name, f"dtype {arr.dtype}, expected strings")]
    return []


def _check_files(root: Path, path: str, cols: dict[str, np.ndarray]) -> list[Problem]:
    problems = []
    for name in ("image_file", "human_mask_file", "object_mask_file"):
        for rel in cols.get(name, []):
            if str(rel) and not (root / str(rel)).is_file():
                problems.append(Problem(path, name, f"referenced file {str(rel)!r} does not exist"))
    return problems


def _check_values(path: str, cols: dict[str, np.ndarray]) -> list[Problem]:
    problems = []
    bad_split = sorted(set(map(str, cols.get("split", []))) - set(SPLITS))
    if bad_split:
        problems.append(Problem(path, "split", f"unknown split values {bad_split}; expected {list(SPLITS)}"))
    ids = cols.get("image_id")
    if ids is not None and len(set(map(str, ids))) != len(ids):
        problems.append(Problem(path, "image_id", "image ids are not unique"))
    for name in ("cam_rotation", "gt_object_rotation"):
        mats = cols.get(name)
        if mats is None or mats.ndim != 3 or not np.isfinite(mats).all():
            continue
        err = np.abs(mats @ np.swapaxes(mats, 1, 2) - np.eye(3)).max(axis=(1, 2))
        det = np.linalg.det(mats)
        rows = np.flatnonzero((err > 1e-3) | (det < 0.99))
        if len(rows):
            problems.append(Problem(path, name, f"{len(rows)} row(s) are not rotation matrices, first {rows[:5].tolist()}"))
    return problems


def check_category(root: Path, name: str, info: dict) -> list[Problem]:
    """Check one category's annotation file against the column contract."""
    rel = info.get("annotations", f"{ANNOTATION_DIR}/{name}.npz")
    path = str(root / rel)
    try:
        cols = load_columns(root / rel)
    except FileFormatError as err:
        return [Problem(path, "", str(err).removeprefix(f"{path}: "))]
    k = int(info.get("num_object_keypoints", -1))
    n = len(cols.get("image_id", []))
    if k < 0:
        return [Problem(str(root / "dataset.json"), f"categories.{name}.num_object_keypoints", "missing")]
    problems: list[Problem] = []
    groups = ["base"] + [g for g, flag in (("gt", "has_gt"), ("gt_camera", "gt_cam_rotation"), ("est", "has_estimate")) if flag in cols]
    for group in groups:
        for col in columns_of(group):
            if col.name not in cols:
                problems.append(Problem(path, col.name, "required column missing"))
                continue
            c = cols[col.name].shape[1] if col.shape and col.shape[0] == "C" and cols[col.name].ndim > 1 else None
            problems += _check_column(path, col, cols[col.name], n, k, c)
    extra = sorted(set(cols) - {c.name for c in COLUMNS})
    if extra:
        problems.append(Problem(path, ",".join(extra), "unknown columns (typo?)"))
    return problems + _check_values(path, cols) + _check_files(root, path, cols)


def check_dataset(root: str | Path) -> list[Problem]:
    """Validate a dataset folder and return every problem found (empty when it is sound)."""
    root = Path(root)
    try:
        manifest = read_manifest(root)
    except DatasetFormatError as err:
        return [Problem(str(root / "dataset.json"), "", str(err).split(": ", 1)[-1])]
    if not isinstance(manifest["categories"], dict) or not manifest["categories"]:
        return [Problem(str(root / "dataset.json"), "categories", "expected a non-empty mapping of categories")]
    problems: list[Problem] = []
    for name, info in manifest["categories"].items():
        entry = _check_category_entry(root, name, info)
        problems += entry
        if not entry:
            problems += check_category(root, name, info)
    return problems
