"""Reading and writing dataset folders in the hoirecon format (see ``format.py``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.data.format import (
    ANNOTATION_DIR,
    COLUMNS,
    FORMAT_VERSION,
    MANIFEST_NAME,
    DatasetFormatError,
    columns_of,
)
from hoirecon.data.sample import Estimate, GroundTruth, Sample
from hoirecon.data.validate import Problem, column_problems, manifest_problems, row_defects
from hoirecon.io.arrays import load_columns
from hoirecon.io.atomic import atomic_save_npz
from hoirecon.io.provenance import dataset_hash

log = logging.getLogger(__name__)


def load_manifest_json(root: str | Path) -> Any:
    """The parsed ``<root>/dataset.json``; :class:`DatasetFormatError` when missing, empty or not JSON."""
    path = Path(root) / MANIFEST_NAME
    if Path(root).exists() and not Path(root).is_dir():
        raise DatasetFormatError(f"{root}: not a folder (a dataset is a folder holding {MANIFEST_NAME})")
    if not path.is_file():
        raise DatasetFormatError(f"{path}: manifest not found (is {root} a hoirecon dataset folder?)")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetFormatError(f"{path}: unreadable ({err})") from err
    if not text.strip():
        raise DatasetFormatError(f"{path}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetFormatError(f"{path}: not valid JSON ({err})") from err


def read_manifest(root: Path) -> dict[str, Any]:
    """Load ``<root>/dataset.json`` and check its structure (types of every entry)."""
    manifest = load_manifest_json(root)
    problems = manifest_problems(str(Path(root) / MANIFEST_NAME), manifest, FORMAT_VERSION)
    if problems:
        raise DatasetFormatError(_first(problems))
    return manifest


def _first(problems: list[Problem]) -> str:
    """The first problem, and how many more there are."""
    more = f" (and {len(problems) - 1} more problem(s); `hoirecon data check` lists them all)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"


def _optional_path(root: Path, rel: str) -> Path | None:
    return root / rel if rel else None


def _ground_truth(cols: dict[str, np.ndarray], i: int) -> GroundTruth | None:
    if "has_gt" not in cols or not bool(cols["has_gt"][i]):
        return None
    return GroundTruth(
        betas=cols["gt_betas"][i], body_pose=cols["gt_body_pose"][i],
        global_orient=cols["gt_global_orient"][i], transl=cols["gt_transl"][i],
        joints_3d=cols["gt_joints_3d"][i], object_rotation=cols["gt_object_rotation"][i],
        object_translation=cols["gt_object_translation"][i],
        object_scale=float(cols["gt_object_scale"][i]),
        object_keypoints_3d=cols["gt_object_keypoints_3d"][i],
        cam_rotation=cols["gt_cam_rotation"][i] if "gt_cam_rotation" in cols else None,
        cam_center=cols["gt_cam_center"][i] if "gt_cam_center" in cols else None,
        instance_id=str(cols["gt_instance_id"][i]) if "gt_instance_id" in cols else None,
    )


def _estimate(cols: dict[str, np.ndarray], i: int) -> Estimate | None:
    if "has_estimate" not in cols or not bool(cols["has_estimate"][i]):
        return None
    return Estimate(
        betas=cols["est_betas"][i], body_pose=cols["est_body_pose"][i],
        global_orient=cols["est_global_orient"][i], transl=cols["est_transl"][i],
        object_keypoints_2d=cols["est_object_keypoints_2d"][i],
        object_keypoint_conf=cols["est_object_keypoint_conf"][i],
        corr_points=cols["est_corr_points"][i], corr_pixels=cols["est_corr_pixels"][i],
        corr_weight=cols["est_corr_weight"][i],
    )


def row_to_sample(root: Path, category: str, cols: dict[str, np.ndarray], i: int) -> Sample:
    """Build the typed sample of row ``i`` of a category's columns."""
    f64 = lambda name: np.asarray(cols[name][i], dtype=np.float64)  # noqa: E731
    return Sample(
        image_id=str(cols["image_id"][i]), category=category, split=str(cols["split"][i]),
        image_path=_optional_path(root, str(cols["image_file"][i])),
        human_mask_path=_optional_path(root, str(cols["human_mask_file"][i])),
        object_mask_path=_optional_path(root, str(cols["object_mask_file"][i])),
        image_size=(int(cols["image_size"][i][0]), int(cols["image_size"][i][1])),
        keypoints_2d=f64("keypoints_2d"), keypoint_conf=f64("keypoint_conf"),
        keypoint_visible=np.asarray(cols["keypoint_visible"][i], dtype=bool),
        coco_keypoints=f64("coco_keypoints"), intrinsics=f64("intrinsics"),
        cam_rotation=f64("cam_rotation"), cam_center=f64("cam_center"),
        gt=_ground_truth(cols, i), estimate=_estimate(cols, i),
        video_id=str(cols["video_id"][i]) if "video_id" in cols else None,
        frame_index=int(cols["frame_index"][i]) if "frame_index" in cols else None,
    )


class Dataset:
    """A dataset folder: its manifest, categories and typed samples (columns loaded lazily)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.manifest = read_manifest(self.root)
        self._columns: dict[str, dict[str, np.ndarray]] = {}
        self._hash: str | None = None

    @property
    def categories(self) -> list[str]:
        """Category names in the manifest order."""
        return list(self.manifest["categories"])

    def category_info(self, category: str) -> dict[str, Any]:
        """The manifest entry of one category (template, keypoint names, file)."""
        if category not in self.manifest["categories"]:
            raise ValueError(f"unknown category {category!r} in {self.root}; it has {self.categories}")
        return self.manifest["categories"][category]

    def annotation_path(self, category: str) -> Path:
        """The annotation file of a category."""
        return self.root / self.category_info(category).get("annotations", f"{ANNOTATION_DIR}/{category}.npz")

    def columns(self, category: str) -> dict[str, np.ndarray]:
        """All annotation columns of a category, loaded and structurally checked once.

        Raises :class:`DatasetFormatError` naming the file and column when a required column is
        missing, misshapen or mistyped (values are checked per row, see :meth:`row_defects`).
        """
        if category not in self._columns:
            path = self.annotation_path(category)
            cols = load_columns(path)
            k = int(self.category_info(category)["num_object_keypoints"])
            problems = column_problems(str(path), cols, k)
            if problems:
                raise DatasetFormatError(_first(problems))
            self._columns[category] = cols
        return self._columns[category]

    def row_defects(self, category: str) -> dict[str, str]:
        """Image id -> why its evidence cannot be used (NaN/inf, out-of-range values), for the
        rows that have such a defect. Ground-truth columns are not looked at."""
        cols = self.columns(category)
        return {str(cols["image_id"][row]): reason for row, reason in row_defects(cols).items()}

    def content_hash(self) -> str:
        """Hash of the annotations (manifest and every category's file), recorded by every output."""
        if self._hash is None:
            files = [self.annotation_path(c) for c in self.categories]
            missing = [f for f in files if not f.is_file()]
            if missing:
                raise DatasetFormatError(f"{missing[0]}: file not found")
            self._hash = dataset_hash(self.root / MANIFEST_NAME, files)
        return self._hash

    def indices(self, category: str, split: str | None = None) -> np.ndarray:
        """Row indices of a category, optionally restricted to one split."""
        split_col = self.columns(category)["split"]
        return np.arange(len(split_col)) if split is None else np.flatnonzero(split_col == split)

    def samples(self, category: str, split: str | None = None) -> Iterator[Sample]:
        """Yield the typed samples of a category (and split), in file order."""
        cols = self.columns(category)
        for i in self.indices(category, split):
            yield row_to_sample(self.root, category, cols, int(i))

    def sample(self, category: str, image_id: str) -> Sample:
        """The sample with a given image id."""
        cols = self.columns(category)
        hits = np.flatnonzero(cols["image_id"] == image_id)
        if len(hits) == 0:
            raise KeyError(f"no image {image_id!r} in category {category!r} of {self.root}")
        return row_to_sample(self.root, category, cols, int(hits[0]))

    def __repr__(self) -> str:
        return f"Dataset({str(self.root)!r}, categories={self.categories})"


def load_dataset(root: str | Path) -> Dataset:
    """Open a dataset folder written in the hoirecon format."""
    return Dataset(root)


def stack_rows(rows: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack per-image column dicts into columns; every row must have the same keys."""
    if not rows:
        raise ValueError("stack_rows: no rows to write")
    keys = rows[0].keys()
    out: dict[str, np.ndarray] = {}
    for key in keys:
        values = [r[key] for r in rows]
        out[key] = np.asarray(values) if isinstance(values[0], str) else np.stack(values)
    return out


def write_category_columns(root: Path, category: str, columns: dict[str, np.ndarray]) -> Path:
    """Write a category's annotation file from stacked columns (one row per image); returns its path."""
    unknown = set(columns) - {c.name for c in COLUMNS}
    if unknown:
        raise ValueError(f"write_category: unknown columns {sorted(unknown)}")
    missing = {c.name for c in columns_of("base")} - set(columns)
    if missing:
        raise ValueError(f"write_category: missing required columns {sorted(missing)}")
    path = Path(root) / ANNOTATION_DIR / f"{category}.npz"
    atomic_save_npz(path, columns)
    return path


def write_category(root: Path, category: str, rows: Sequence[dict[str, np.ndarray]]) -> Path:
    """Write a category's annotation file from per-image rows; returns the file path."""
    return write_category_columns(root, category, stack_rows(rows))
