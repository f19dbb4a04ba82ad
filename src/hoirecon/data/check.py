"""Validation of a dataset folder: every problem found is reported, none is fatal to the check.

The rules are in ``validate.py`` (manifest, columns, values); this module runs all of them and
also opens every referenced image and mask, comparing its size with the row's ``image_size``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from hoirecon.data.dataset import load_manifest_json
from hoirecon.data.format import ANNOTATION_DIR, FORMAT_VERSION, MANIFEST_NAME, DatasetFormatError
from hoirecon.data.validate import (
    Problem,
    column_problems,
    manifest_problems,
    unknown_columns,
    value_problems,
)
from hoirecon.io.arrays import load_columns
from hoirecon.io.errors import FileFormatError
from hoirecon.objects import CATEGORIES

__all__ = ["Problem", "check_category", "check_dataset"]
FILE_COLUMNS = ("image_file", "human_mask_file", "object_mask_file")


def _check_category_entry(root: Path, name: str, info: dict) -> list[Problem]:
    manifest = str(root / MANIFEST_NAME)
    template = str(info.get("template", f"builtin:{name}"))
    if template.startswith("builtin:"):
        if template.removeprefix("builtin:") not in CATEGORIES:
            return [Problem(manifest, f"categories.{name}.template",
                            f"unknown category {template.removeprefix('builtin:')!r}; built-ins are "
                            f"{', '.join(CATEGORIES)}, or give a template mesh path")]
        return []
    path = root / template
    if not path.is_file():
        return [Problem(manifest, f"categories.{name}.template", f"template file {template!r} not found")]
    if path.stat().st_size == 0:
        return [Problem(manifest, f"categories.{name}.template", f"template file {template!r} is empty")]
    return []


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file, decoding all of it (a truncated file raises OSError)."""
    with Image.open(path) as image:
        image.load()
        return image.size


def _file_problem(root: Path, path: str, field: str, rel: str, size: tuple[int, int]) -> Problem | None:
    file = root / rel
    if not file.is_file():
        return Problem(path, field, f"referenced file {rel!r} does not exist")
    if file.stat().st_size == 0:
        return Problem(path, field, f"referenced file {rel!r} is empty")
    try:
        width, height = _image_size(file)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        return Problem(path, field, f"referenced file {rel!r} is not a readable image ({err})")
    if (width, height) != size:
        return Problem(path, field, f"referenced file {rel!r} is {width}x{height}, image_size says {size[0]}x{size[1]}")
    return None


def _check_files(root: Path, path: str, cols: dict[str, np.ndarray], skip: set[str]) -> list[Problem]:
    """Every referenced image and mask exists, is not empty, decodes, and has the row's size."""
    if "image_size" in skip:
        return []
    sizes = [(int(w), int(h)) for w, h in np.asarray(cols["image_size"]).reshape(-1, 2)]
    problems = []
    for name in FILE_COLUMNS:
        if name in skip:
            continue
        for rel, size in zip(cols[name], sizes):
            if str(rel) and (problem := _file_problem(root, path, name, str(rel), size)) is not None:
                problems.append(problem)
    return problems


def check_category(root: Path, name: str, info: dict) -> list[Problem]:
    """Check one category's annotation file: columns, values, and the files its rows name."""
    rel = info.get("annotations", f"{ANNOTATION_DIR}/{name}.npz")
    path = str(root / rel)
    if (root / rel).is_file() and (root / rel).stat().st_size == 0:
        return [Problem(path, "", "empty file")]
    try:
        cols = load_columns(root / rel)
    except FileFormatError as err:
        return [Problem(path, "", str(err).removeprefix(f"{path}: "))]
    structure = column_problems(path, cols, int(info["num_object_keypoints"]))
    broken = {p.field for p in structure} | {c for c in ("image_id",) if c not in cols}
    problems = structure + unknown_columns(path, cols)
    if "image_id" in broken:
        return problems
    problems += value_problems(path, cols, skip=frozenset(broken))
    return problems + _check_files(root, path, cols, broken | {c for c in FILE_COLUMNS if c not in cols})


def check_dataset(root: str | Path) -> list[Problem]:
    """Validate a dataset folder and return every problem found (empty when it is sound)."""
    root = Path(root)
    manifest_path = str(root / MANIFEST_NAME)
    try:
        manifest = load_manifest_json(root)
    except DatasetFormatError as err:
        return [Problem(manifest_path, "", str(err).split(": ", 1)[-1])]
    problems = manifest_problems(manifest_path, manifest, FORMAT_VERSION)
    categories = manifest.get("categories") if isinstance(manifest, dict) else None
    if not isinstance(categories, dict):
        return problems
    broken = {p.field.split(".")[1] for p in problems if p.field.startswith("categories.")}
    for name, info in categories.items():
        if name in broken:
            continue
        entry = _check_category_entry(root, name, info)
        problems += entry
        if not entry:
            problems += check_category(root, name, info)
    return problems
