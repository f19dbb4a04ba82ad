"""What evidence a dataset's categories carry: how many images have each kind of detector or
estimator output, which observation model made synthetic evidence, and how many carry truth.

``hoirecon data check`` prints this next to the validation, so a user sees at a glance what a
fit of the dataset can use (and that the truth is there for evaluation only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.data.dataset import read_manifest
from hoirecon.data.format import ANNOTATION_DIR
from hoirecon.io.arrays import load_columns


@dataclass(frozen=True)
class CategoryEvidence:
    """Counts of images with each kind of evidence in one category."""

    category: str
    images: int
    body_keypoints: int
    """Images with at least one detected COCO-17 body keypoint."""
    body_estimate: int
    """Images with an HMR-style body estimate."""
    object_keypoints: int
    """Images with at least one detected object keypoint."""
    correspondences: int
    """Images with at least one weighted 2D-3D object correspondence."""
    human_masks: int
    object_masks: int
    ground_truth: int
    """Images with ground truth (used by evaluation only)."""
    observation: str | None
    """Name of the simulated observation model of synthetic data, else None."""

    def __str__(self) -> str:
        kinds = {"body keypoints": self.body_keypoints, "body estimate": self.body_estimate,
                 "object keypoints": self.object_keypoints, "correspondences": self.correspondences,
                 "human masks": self.human_masks, "object masks": self.object_masks}
        listed = ", ".join(f"{name} {count}" for name, count in kinds.items())
        source = f" (simulated '{self.observation}' evidence)" if self.observation else ""
        return (f"{self.category}: {self.images} images{source}; {listed}; "
                f"ground truth {self.ground_truth} (evaluation only)")


def _rows_with(cols: dict[str, np.ndarray], name: str, flag: str | None = None) -> int:
    """Rows whose column ``name`` has a positive entry (within rows where ``flag`` is set)."""
    if name not in cols:
        return 0
    values = np.asarray(cols[name]).reshape(len(cols[name]), -1) > 0
    rows = values.any(axis=1)
    if flag is not None and flag in cols:
        rows &= np.asarray(cols[flag], bool)
    return int(rows.sum())


def _files(cols: dict[str, np.ndarray], name: str) -> int:
    return int(sum(bool(str(v)) for v in cols.get(name, [])))


def evidence_summary(root: str | Path) -> list[CategoryEvidence]:
    """The evidence inventory of every category of a dataset folder (a sound one: run
    ``check_dataset`` first)."""
    root = Path(root)
    manifest = read_manifest(root)
    observation = manifest.get("generator", {}).get("observation", {}).get("name")
    out = []
    for name, info in manifest["categories"].items():
        cols = load_columns(root / info.get("annotations", f"{ANNOTATION_DIR}/{name}.npz"))
        has_estimate = np.asarray(cols.get("has_estimate", np.zeros(len(cols["image_id"]), bool)), bool)
        out.append(CategoryEvidence(
            name, len(cols["image_id"]), _rows_with({"c": cols["coco_keypoints"][..., 2]}, "c"),
            int(has_estimate.sum()), _rows_with(cols, "est_object_keypoint_conf", "has_estimate"),
            _rows_with(cols, "est_corr_weight", "has_estimate"), _files(cols, "human_mask_file"),
            _files(cols, "object_mask_file"), _rows_with(cols, "has_gt"), observation))
    return out
