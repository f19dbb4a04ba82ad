"""Inputs of the dataset protocols: a dataset's test ground truth paired with a fits folder.

Both sides are put in the *human frame* (pelvis at the origin, zero global orientation): the
body is posed from (betas, body_pose) only and shifted by its pelvis joint, the object is the
category template placed as ``s * X @ R.T + t`` with the human-frame object pose (paper eq. 3),
for the prediction and the ground truth alike. Test images without a fit are ``missing``, fits
with NaN/inf, a non-rotation or a scale <= 0 are ``invalid``; both are counted and skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoirecon.data import Dataset, load_dataset
from hoirecon.eval.protocols.bodies import BodyModels, chunks, pose_bodies
from hoirecon.eval.protocols.result import (
    STATUS_INVALID,
    STATUS_MISSING,
    STATUS_OK,
    EvalInputError,
)
from hoirecon.eval.protocols.surfaces import MeshBatch
from hoirecon.io.errors import FileFormatError
from hoirecon.io.fits import FIT_INFO, fit_info_entry, fits_path, fitted_categories, load_fits, read_fit_info
from hoirecon.io.provenance import Source, check_agree
from hoirecon.objects import ObjectTemplate, get_category_template, load_template

log = logging.getLogger(__name__)

PARAMS = ("betas", "body_pose", "object_rotation", "object_translation", "object_scale")
"""Columns compared by the dataset protocols (fit column names; ground truth has ``gt_``)."""
ROTATION_TOL = 1e-3
"""Largest deviation of ``R^T R`` from identity for a predicted rotation to count as one."""


@dataclass
class CategoryPairs:
    """Ground truth and fits of one category's N test images, row-aligned."""

    category: str
    image_ids: list[str]
    """(N,) test images with ground truth, in dataset order."""
    status: list[str]
    """(N,) ``ok``, ``missing`` (no fit) or ``invalid`` (unusable fit)."""
    gt: dict[str, np.ndarray]
    """:data:`PARAMS` -> (N, ...) float64 ground truth."""
    pred: dict[str, np.ndarray]
    """:data:`PARAMS` -> (N, ...) float64 fits (NaN rows where missing)."""
    template: ObjectTemplate


@dataclass
class FitInputs:
    """Everything the dataset protocols read."""

    data: Path
    fits: Path
    method: str
    """Preset name from ``fit.json``, else the fits folder name."""
    bodies: BodyModels
    gender: str
    categories: list[CategoryPairs] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    """The dataset (path, annotation hash) and, per category, what ``fit.json`` records."""
    notes: list[str] = field(default_factory=list)
    """Provenance that could not be verified, or mismatches overridden with ``force``."""


def _template(dataset: Dataset, category: str) -> ObjectTemplate:
    spec = str(dataset.category_info(category).get("template", f"builtin:{category}"))
    try:
        if spec.startswith("builtin:"):
            return get_category_template(spec.removeprefix("builtin:"))
        return load_template(dataset.root / spec)
    except (ValueError, FileNotFoundError) as error:
        raise EvalInputError(
            f"{dataset.root / 'dataset.json'}: categories.{category}.template: {error}") from error


def _body_source(dataset: Dataset, override: str | Path | None) -> tuple[Path | None, str]:
    info = dataset.manifest.get("body_model", {}) or {}
    gender = str(info.get("gender", "neutral"))
    if override is not None:
        return Path(override), gender
    name = str(info.get("name", "embedded"))
    if name == "embedded":
        return None, gender
    local = dataset.root / name
    return (local if local.exists() else Path(name)), gender


def _valid_rows(pred: dict[str, np.ndarray]) -> np.ndarray:
    """(N,) rows of finite parameters with a proper rotation and a positive scale."""
    finite = np.ones(len(pred["betas"]), dtype=bool)
    for value in pred.values():
        finite &= np.isfinite(value.reshape(len(value), -1)).all(axis=1)
    rot = np.where(finite[:, None, None], pred["object_rotation"], np.eye(3))
    gram = np.einsum("nji,njk->nik", rot, rot) - np.eye(3)
    proper = (np.abs(gram).max(axis=(1, 2)) < ROTATION_TOL) & (np.linalg.det(rot) > 0)
    return finite & proper & (np.nan_to_num(pred["object_scale"]) > 0)


def _category_pairs(dataset: Dataset, fits: Path, category: str, split: str) -> CategoryPairs:
    cols = dataset.columns(category)
    rows = dataset.indices(category, split)
    if "has_gt" in cols:
        rows = rows[cols["has_gt"][rows].astype(bool)]
    ids = [str(i) for i in cols["image_id"][rows]]
    gt = {k: np.asarray(cols[f"gt_{k}"][rows], dtype=np.float64) for k in PARAMS}
    try:
        fit = load_fits(fits, category)
    except ValueError as error:
        where = str(fits_path(fits, category))
        raise EvalInputError(str(error) if str(error).startswith(where) else f"{where}: {error}") from error
    where = {image_id: i for i, image_id in enumerate(fit.image_ids)}
    take = np.array([where.get(i, -1) for i in ids], dtype=np.intp)
    pred = {}
    for key in PARAMS:
        column = np.asarray(fit.columns[key], dtype=np.float64)
        if len(column) == 0:
            column = np.zeros((1, *gt[key].shape[1:]))
        picked = column[np.maximum(take, 0)]
        pred[key] = np.where((take >= 0).reshape(-1, *[1] * (picked.ndim - 1)), picked, np.nan)
    valid = _valid_rows(pred)
    status = [STATUS_MISSING if t < 0 else STATUS_OK if v else STATUS_INVALID
              for t, v in zip(take, valid)]
    return CategoryPairs(category, ids, status, gt, pred, _template(dataset, category))


def check_fit_provenance(dataset: Dataset, fits: Path, categories: list[str], force: bool = False
                         ) -> tuple[dict, list[str]]:
    """Compare the dataset every category's fits were made on (``fit.json``) with ``dataset``.

    Returns the provenance to record and the notes: fits that record no dataset are flagged,
    fits of another dataset are refused (:class:`ProvenanceError`) unless ``force``.
    """
    try:
        info = read_fit_info(fits)
    except FileFormatError as error:
        raise EvalInputError(str(error)) from error
    here = Source(dataset.content_hash(), f"--data {dataset.root} (annotations)")
    origin: dict = {"dataset": {"path": str(dataset.root.resolve()), "hash": dataset.content_hash()}, "fits": {}}
    notes: list[str] = []
    for category in categories:
        entry = fit_info_entry(info, category)
        recorded = entry.get("dataset_hash", info.get("dataset_hash"))
        made_on = entry.get("dataset", info.get("dataset"))
        where = f"{fits / FIT_INFO} ({category} fits made on {made_on})"
        notes.append(check_agree("datasets", here, Source(recorded, where), force))
        if recorded is None:
            notes.append(f"{fits / FIT_INFO} records no dataset hash for {category}: cannot verify that "
                         f"the fits were made on {dataset.root}")
            log.warning("%s", notes[-1])
        origin["fits"][category] = {"path": str(fits.resolve()), "dataset_hash": recorded,
                                    "config_hash": entry.get("config_hash"), "preset": entry.get("preset"),
                                    "prior_hash": (entry.get("prior_record") or {}).get("hash")}
    origin["forced"] = [n for n in notes if n and n.startswith("forced")]
    return origin, [n for n in notes if n]


def load_fit_inputs(data: str | Path, fits: str | Path, body_model: str | Path | None = None,
                    split: str = "test", force: bool = False) -> FitInputs:
    """Pair a dataset's ``split`` ground truth with the fits of every fitted category.

    Raises:
        EvalInputError: missing folders, a fitted category the dataset lacks, unreadable files.
        ProvenanceError: fits made on another dataset (unless ``force``).
    """
    fits = Path(fits)
    try:
        dataset = load_dataset(data)
    except ValueError as error:
        raise EvalInputError(str(error)) from error
    if not fits.is_dir():
        raise EvalInputError(f"{fits}: fits folder not found")
    fitted = fitted_categories(fits)
    if not fitted:
        raise EvalInputError(f"{fits}: no fits/<category>.npz files found")
    unknown = [c for c in fitted if c not in dataset.categories]
    if unknown:
        raise EvalInputError(f"{fits_path(fits, unknown[0])}: unknown category {unknown[0]!r}; "
                             f"dataset {dataset.root} has {dataset.categories}")
    origin, notes = check_fit_provenance(dataset, fits, fitted, force)
    source, gender = _body_source(dataset, body_model)
    bodies = BodyModels(source, note_genders=False)
    inputs = FitInputs(Path(data), fits, _method_name(fits), bodies, gender, provenance=origin, notes=notes)
    for category in fitted:
        pairs = _category_pairs(dataset, fits, category, split)
        _log_skips(pairs)
        inputs.categories.append(pairs)
    return inputs


def _method_name(fits: Path) -> str:
    """The preset recorded in ``fit.json``, else the folder name."""
    try:
        info = json.loads((fits / "fit.json").read_text())
    except (OSError, ValueError):
        info = {}
    preset = info.get("preset") if isinstance(info, dict) else None
    return str(preset or fits.resolve().name)


def _log_skips(pairs: CategoryPairs) -> None:
    for status in (STATUS_MISSING, STATUS_INVALID):
        bad = [i for i, s in zip(pairs.image_ids, pairs.status) if s == status]
        if bad:
            log.warning("%s: %d test image(s) %s, skipped (first: %s)", pairs.category,
                        len(bad), "without a fit" if status == STATUS_MISSING else
                        "with an unusable fit", ", ".join(bad[:3]))


@dataclass(frozen=True)
class HumanFrameMeshes:
    """Posed meshes of B rows of one side (prediction or ground truth), in the human frame."""

    body: np.ndarray
    """(B, V, 3) body vertices, pelvis at the origin."""
    object: np.ndarray
    """(B, W, 3) object vertices."""


@dataclass(frozen=True)
class CategoryBatch:
    """One chunk of scored rows of a category, with their meshes."""

    pairs: CategoryPairs
    """The category's ground truth and fits."""
    rows: np.ndarray
    """(B,) indices into the category's rows."""
    meshes: MeshBatch
    """Their meshes; ``meshes.frame_numbers`` are positions in the run-wide table."""


def human_frame_meshes(inputs: FitInputs, pairs: CategoryPairs, rows: np.ndarray,
                       side: str) -> HumanFrameMeshes:
    """Body (B, V, 3) and object (B, W, 3) vertices of ``rows`` of one side ("gt"/"pred")."""
    params = pairs.gt if side == "gt" else pairs.pred
    model = inputs.bodies.get(inputs.gender)
    posed = pose_bodies(model, {"betas": params["betas"][rows],
                                "body_pose": params["body_pose"][rows]})
    body = posed.vertices - posed.joints[:, :1]
    obj = pairs.template.transformed(params["object_rotation"][rows],
                                     params["object_translation"][rows],
                                     params["object_scale"][rows])
    return HumanFrameMeshes(body=body, object=np.asarray(obj, dtype=np.float64))


def mesh_batches(inputs: FitInputs) -> Iterator[CategoryBatch]:
    """Yield the chunks of scored rows of every category with their meshes.

    ``rows`` (B,) index the category's rows; ``meshes.frame_numbers`` are positions in the
    run-wide table (categories in fitted order, rows in dataset order).
    """
    offset = 0
    for pairs in inputs.categories:
        ok = np.flatnonzero(np.array(pairs.status) == STATUS_OK)
        faces = inputs.bodies.get(inputs.gender).faces
        for part in chunks(len(ok)):
            rows = ok[part]
            pred = human_frame_meshes(inputs, pairs, rows, "pred")
            gt = human_frame_meshes(inputs, pairs, rows, "gt")
            meshes = MeshBatch(pred.body, pred.object, gt.body, gt.object, faces,
                               pairs.template.faces, offset + rows)
            yield CategoryBatch(pairs=pairs, rows=rows, meshes=meshes)
        offset += len(pairs.image_ids)
