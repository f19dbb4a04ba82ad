"""The rules a dataset folder must follow, as functions that return every problem they find.

Three levels, from cheap to thorough:

- :func:`manifest_problems`: the manifest's structure (a mapping of categories, each a mapping
  with the right types);
- :func:`column_problems`: a category's annotation columns: present, shaped and typed as
  ``format.COLUMNS`` says, known split values, unique image ids;
- :func:`value_problems` / :func:`row_defects`: the values of every row: finite numbers, image
  sizes and focal lengths > 0, principal points inside the image, rotations orthonormal with
  determinant +1, confidences in [0, 1], correspondence weights >= 0, object scales > 0.

Every command that reads a dataset runs the first two (``Dataset`` does, when it opens the
manifest and a category's columns) and refuses a broken file; rows with bad values are skipped
one by one (``row_defects``), never fitted. ``hoirecon data check`` runs all three and opens
every image and mask (``check.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hoirecon.data.format import COLUMNS, SPLITS, Column, columns_of, expected_shape

ROTATION_TOL = 1e-3
"""Largest deviation of ``R R^T`` from identity (and of det R from 1) for a rotation matrix."""
GENDERS = ("neutral", "male", "female")


@dataclass(frozen=True)
class Problem:
    """One defect: the file (and field) it is in, and what is wrong."""

    path: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path} [{self.field}]" if self.field else self.path
        return f"{where}: {self.message}"


# --------------------------------------------------------------------------- manifest

def _kind(value: object) -> str:
    return f"{type(value).__name__} {value!r}"[:60]


def _category_entry_problems(path: str, name: str, info: object) -> list[Problem]:
    where = f"categories.{name}"
    if not isinstance(info, dict):
        return [Problem(path, where, f"expected a mapping (template, annotations, num_object_keypoints), "
                                     f"got {_kind(info)}")]
    problems = []
    k = info.get("num_object_keypoints")
    if k is None:
        problems.append(Problem(path, f"{where}.num_object_keypoints", "missing"))
    elif isinstance(k, bool) or not isinstance(k, int) or k < 0:
        problems.append(Problem(path, f"{where}.num_object_keypoints", f"expected an integer >= 0, got {_kind(k)}"))
    for key in ("annotations", "template"):
        if key in info and (not isinstance(info[key], str) or not info[key]):
            problems.append(Problem(path, f"{where}.{key}", f"expected a non-empty string, got {_kind(info[key])}"))
    names = info.get("keypoint_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        problems.append(Problem(path, f"{where}.keypoint_names", f"expected a list of strings, got {_kind(names)}"))
    elif names is not None and isinstance(k, int) and len(names) != k:
        problems.append(Problem(path, f"{where}.keypoint_names", f"{len(names)} names for {k} object keypoints"))
    return problems


def _body_model_problems(path: str, body: object) -> list[Problem]:
    if not isinstance(body, dict):
        return [Problem(path, "body_model", f"expected a mapping with 'name' and 'gender', got {_kind(body)}")]
    problems = []
    if "name" in body and not isinstance(body["name"], str):
        problems.append(Problem(path, "body_model.name", f"expected a string, got {_kind(body['name'])}"))
    if "gender" in body and body["gender"] not in GENDERS:
        problems.append(Problem(path, "body_model.gender", f"expected one of {', '.join(GENDERS)}, "
                                                           f"got {_kind(body['gender'])}"))
    return problems


def manifest_problems(path: str, manifest: object, newest_version: int) -> list[Problem]:
    """Every structural problem of a parsed manifest (``path`` names it in the problems)."""
    if not isinstance(manifest, dict):
        return [Problem(path, "", f"expected a JSON object, got {_kind(manifest)}")]
    problems = [Problem(path, key, "missing") for key in ("format_version", "categories") if key not in manifest]
    version = manifest.get("format_version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        problems.append(Problem(path, "format_version", f"expected an integer, got {_kind(version)}"))
    elif isinstance(version, int) and version > newest_version:
        problems.append(Problem(path, "format_version", f"{version} is newer than this reader ({newest_version})"))
    categories = manifest.get("categories")
    if "categories" in manifest and (not isinstance(categories, dict) or not categories):
        problems.append(Problem(path, "categories", f"expected a non-empty mapping of categories, got {_kind(categories)}"))
    elif isinstance(categories, dict):
        for name, info in categories.items():
            problems += _category_entry_problems(path, name, info)
    if "body_model" in manifest:
        problems += _body_model_problems(path, manifest["body_model"])
    return problems


# --------------------------------------------------------------------------- columns

def _shape_problem(path: str, col: Column, arr: np.ndarray, n: int, k: int) -> Problem | None:
    c = arr.shape[1] if col.shape and col.shape[0] == "C" and arr.ndim > 1 else None
    want = expected_shape(col, n, k, c)
    if want is not None and arr.shape != want:
        return Problem(path, col.name, f"wrong shape {arr.shape}, expected {want}")
    if col.kind == "f" and arr.dtype.kind not in "fi":
        return Problem(path, col.name, f"dtype {arr.dtype}, expected a float array")
    if col.kind == "i" and arr.dtype.kind not in "iu":
        return Problem(path, col.name, f"dtype {arr.dtype}, expected an integer array")
    if col.kind == "b" and arr.dtype.kind not in "biu":
        return Problem(path, col.name, f"dtype {arr.dtype}, expected a bool array")
    if col.kind == "U" and arr.dtype.kind != "U":
        return Problem(path, col.name, f"dtype {arr.dtype}, expected strings")
    return None


def present_groups(cols: Mapping[str, np.ndarray]) -> list[str]:
    """The column groups a file has: ``base`` always, the optional ones by their flag column."""
    flags = (("gt", "has_gt"), ("gt_camera", "gt_cam_rotation"), ("gt_instance", "gt_instance_id"),
             ("est", "has_estimate"), ("video", "video_id"))
    return ["base"] + [group for group, flag in flags if flag in cols]


def column_problems(path: str, cols: Mapping[str, np.ndarray], k: int) -> list[Problem]:
    """Missing, misshapen or mistyped columns, unknown splits and repeated image ids of one file."""
    n = len(cols["image_id"]) if "image_id" in cols and cols["image_id"].ndim == 1 else 0
    problems: list[Problem] = []
    for group in present_groups(cols):
        for col in columns_of(group):
            if col.name not in cols:
                problems.append(Problem(path, col.name, "required column missing"))
            elif (problem := _shape_problem(path, col, cols[col.name], n, k)) is not None:
                problems.append(problem)
    broken = {p.field for p in problems}
    if "split" not in broken and "split" in cols:
        bad = sorted(set(map(str, cols["split"])) - set(SPLITS))
        if bad:
            problems.append(Problem(path, "split", f"unknown split values {bad}; expected {list(SPLITS)}"))
    if "image_id" not in broken and "image_id" in cols and len(set(map(str, cols["image_id"]))) != n:
        problems.append(Problem(path, "image_id", "image ids are not unique"))
    return problems


def unknown_columns(path: str, cols: Mapping[str, np.ndarray]) -> list[Problem]:
    """Columns the format does not define (usually a typo)."""
    extra = sorted(set(cols) - {c.name for c in COLUMNS})
    return [Problem(path, ",".join(extra), "unknown columns (typo?)")] if extra else []


# --------------------------------------------------------------------------- values

def _rows(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(len(a), -1)


def _outside_unit(a: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    v = _rows(a)
    return ((v < 0) | (v > 1)).any(axis=1)


def _not_positive(a: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    return (_rows(a) <= 0).any(axis=1)


def _negative(a: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    return (_rows(a) < 0).any(axis=1)


def _not_rotation(a: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    m = np.nan_to_num(np.asarray(a, dtype=np.float64))
    err = np.abs(m @ np.swapaxes(m, 1, 2) - np.eye(3)).max(axis=(1, 2))
    return (err > ROTATION_TOL) | (np.abs(np.linalg.det(m) - 1.0) > ROTATION_TOL * 10)


def _focal_not_positive(k: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    return (k[:, 0, 0] <= 0) | (k[:, 1, 1] <= 0)


def _centre_outside(k: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    size = np.asarray(cols["image_size"], dtype=np.float64)
    cx, cy = k[:, 0, 2], k[:, 1, 2]
    return (cx < 0) | (cy < 0) | (cx > size[:, 0]) | (cy > size[:, 1])


def _bad_last_row(k: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    return np.abs(k[:, 2] - np.array([0.0, 0.0, 1.0])).max(axis=1) > 1e-6


def _confidences(a: np.ndarray, cols: Mapping[str, Any]) -> np.ndarray:
    return _outside_unit(np.asarray(a)[..., 2], cols)


Check = Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]


@dataclass(frozen=True)
class Rule:
    """One value rule of a column: which rows break it, checked on the finite rows only."""

    column: str
    expects: str
    """What a good value is, as the message says it (``"values in [0, 1]"``)."""
    bad: Check
    """(rows (N, ...), all columns) -> (N,) bool, rows breaking the rule."""
    needs: tuple[str, ...] = ()
    """Other columns the rule reads (it is skipped when one of them is broken)."""


RULES: tuple[Rule, ...] = (
    Rule("image_size", "width and height > 0", _not_positive),
    Rule("keypoint_conf", "confidences in [0, 1]", _outside_unit),
    Rule("coco_keypoints", "confidences (third value) in [0, 1]", _confidences),
    Rule("intrinsics", "focal lengths > 0", _focal_not_positive),
    Rule("intrinsics", "the principal point inside the image (0 <= cx <= width, 0 <= cy <= height)",
         _centre_outside, ("image_size",)),
    Rule("intrinsics", "a last row of (0, 0, 1)", _bad_last_row),
    Rule("cam_rotation", "a rotation matrix (orthonormal, det +1)", _not_rotation),
    Rule("gt_object_rotation", "a rotation matrix (orthonormal, det +1)", _not_rotation),
    Rule("gt_object_scale", "an object scale > 0", _not_positive),
    Rule("gt_cam_rotation", "a rotation matrix (orthonormal, det +1)", _not_rotation),
    Rule("est_object_keypoint_conf", "confidences in [0, 1]", _outside_unit),
    Rule("est_corr_weight", "weights >= 0", _negative),
    Rule("frame_index", "frame indices >= 0", _negative),
)
"""Range and geometry rules; every float column must also be finite (checked first)."""

EVIDENCE_GROUPS = ("base", "est", "video")
"""What a fit reads (ground truth is for evaluation only)."""


def _row_mask(cols: Mapping[str, np.ndarray], group: str, n: int) -> np.ndarray:
    """Rows whose values of ``group`` are meaningful (flagged by has_gt / has_estimate)."""
    flag = {"gt": "has_gt", "gt_camera": "has_gt", "gt_instance": "has_gt", "est": "has_estimate"}.get(group)
    if flag is None or flag not in cols:
        return np.ones(n, dtype=bool)
    return np.asarray(cols[flag], dtype=bool).reshape(n)


@dataclass(frozen=True)
class Violation:
    """The rows of one column that break one expectation."""

    column: str
    expects: str
    rows: np.ndarray
    """(R,) row indices."""


def violations(cols: Mapping[str, np.ndarray], groups: tuple[str, ...] | None = None,
               skip: frozenset[str] = frozenset()) -> list[Violation]:
    """Every value rule broken by some row (non-finite values first, one entry per rule).

    ``groups`` limits the check to those column groups (default: all present); ``skip`` names
    columns already found misshapen, which are left out.
    """
    n = len(cols.get("image_id", ()))
    present = [g for g in present_groups(cols) if groups is None or g in groups]
    checked = {c.name: c for g in present for c in columns_of(g) if c.name in cols and c.name not in skip}
    found: list[Violation] = []
    finite: dict[str, np.ndarray] = {}
    for name, col in checked.items():
        meaningful = _row_mask(cols, col.group, n)
        if col.kind == "f":
            ok = np.isfinite(_rows(cols[name])).all(axis=1) if n else np.zeros(0, bool)
            finite[name] = ok
            if (~ok & meaningful).any():
                found.append(Violation(name, "finite values (no NaN/inf)", np.flatnonzero(~ok & meaningful)))
    for rule in RULES:
        if rule.column not in checked or any(c in skip or c not in cols for c in rule.needs):
            continue
        keep = _row_mask(cols, checked[rule.column].group, n) & finite.get(rule.column, np.ones(n, bool))
        arr = np.asarray(cols[rule.column], dtype=np.float64)
        bad = np.zeros(n, bool)
        if keep.any():
            bad[keep] = rule.bad(arr[keep], {c: np.asarray(cols[c])[keep] for c in rule.needs})
        if bad.any():
            found.append(Violation(rule.column, rule.expects, np.flatnonzero(bad)))
    return found


def value_problems(path: str, cols: Mapping[str, np.ndarray], skip: frozenset[str] = frozenset()) -> list[Problem]:
    """One problem per broken value rule, naming how many rows and the first row indices and ids."""
    ids = cols.get("image_id")
    problems = []
    for v in violations(cols, skip=skip):
        first = v.rows[:5].tolist()
        named = f" ({', '.join(str(ids[r]) for r in first)})" if ids is not None else ""
        if v.expects.startswith("finite"):
            text = f"non-finite values (NaN/inf) in {len(v.rows)} row(s), first rows {first}{named}"
        else:
            text = f"expected {v.expects}; {len(v.rows)} row(s) break it, first rows {first}{named}"
        problems.append(Problem(path, v.column, text))
    return problems


def row_defects(cols: Mapping[str, np.ndarray], groups: tuple[str, ...] = EVIDENCE_GROUPS) -> dict[int, str]:
    """Row index -> why the row cannot be used (the first broken rule of ``groups``' columns)."""
    defects: dict[int, str] = {}
    for v in violations(cols, groups):
        for r in v.rows.tolist():
            defects.setdefault(int(r), f"{v.column}: expected {v.expects}")
    return defects
