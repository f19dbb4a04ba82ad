"""Export fits to the RHOBIN 2023 submission layout (``results.pkl``).

``{seq: {frames, gender, poses (T, 72), betas (T, 10), trans (T, 3), obj_rots (T, 3, 3),
obj_trans (T, 3), obj_scales (T,)}}`` in the camera frame. The challenge tools place object points
as ``(v @ R.T + t) * s`` (scale after translation) while our fits use ``s * v @ R.T + t``, so the
exported translation is ``t / s``. Each category becomes one sequence named after it.

Before writing, every category's fits are checked: all made on the same dataset (``fit.json``),
every exported number finite with a scale > 0, and the rows covering at least ``min_coverage``
of the split's images (RHOBIN's 97.5% rule: a partial sequence is refused). ``force`` writes
anyway (dropping unusable rows) and records what was overridden. ``<results>.provenance.json``
beside the submission records the dataset, each category's configuration and prior, and the
coverage.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.io.atomic import atomic_write_bytes, atomic_write_json
from hoirecon.io.fits import FIT_INFO, FitResults, fit_info_entry, fits_path, fitted_categories, load_fits, read_fit_info
from hoirecon.io.provenance import Source, check_agree

log = logging.getLogger(__name__)

RHOBIN_COVERAGE = 0.975
"""The RHOBIN rule: a submission covers at least 97.5% of the frames (``eval.protocols.COVERAGE_MIN``)."""
EXPORTED = ("global_orient", "body_pose", "betas", "transl", "object_rotation_cam", "object_translation_cam",
            "object_scale")


def rhobin_sequence(fits: FitResults, gender: str = "neutral") -> dict[str, object]:
    """One RHOBIN sequence from a category's fits (SMPL 72-d poses: hand joints zero)."""
    c = fits.columns
    n = len(c["image_id"])
    poses = np.concatenate([c["global_orient"], c["body_pose"], np.zeros((n, 6))], axis=1)
    scale = np.asarray(c["object_scale"], dtype=np.float64)
    return {"frames": [str(i) for i in c["image_id"]], "gender": gender, "poses": poses,
            "betas": np.asarray(c["betas"]), "trans": np.asarray(c["transl"]),
            "obj_rots": np.asarray(c["object_rotation_cam"]),
            "obj_trans": np.asarray(c["object_translation_cam"]) / scale[:, None], "obj_scales": scale}


@dataclass
class ExportReport:
    """What :func:`export_submission` wrote and found."""

    path: Path
    provenance_path: Path
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per category: ``frames`` exported, ``images`` of the split (None when unrecorded), ``coverage``."""
    notes: list[str] = field(default_factory=list)
    """Unverifiable records and refusals overridden with ``force``."""


def unusable_rows(fits: FitResults) -> dict[int, str]:
    """Row -> why it cannot be exported (a non-finite number, a scale <= 0)."""
    bad: dict[int, str] = {}
    n = len(fits.image_ids)
    for name in EXPORTED:
        value = np.asarray(fits.columns[name], dtype=np.float64).reshape(n, -1)
        for row in np.flatnonzero(~np.isfinite(value).all(axis=1)):
            bad.setdefault(int(row), f"{name} is not finite")
    for row in np.flatnonzero(~(np.asarray(fits.columns["object_scale"], dtype=np.float64) > 0)):
        bad.setdefault(int(row), "object_scale <= 0")
    return bad


def _usable(out: Path, fits: FitResults, force: bool, notes: list[str]) -> FitResults:
    """The fits without unusable rows; refused (:class:`ValueError`) unless ``force``."""
    bad = unusable_rows(fits)
    if not bad:
        return fits
    first = ", ".join(f"{fits.image_ids[r]} ({why})" for r, why in list(bad.items())[:3])
    message = f"{fits_path(out, fits.category)}: {len(bad)} row(s) cannot be exported: {first}"
    if not force:
        raise ValueError(f"{message}; refit them, or --force to leave them out (recorded)")
    notes.append(f"forced: {message}; left out")
    keep = np.array([i not in bad for i in range(len(fits.image_ids))])
    return FitResults(fits.category, {k: v[keep] for k, v in fits.columns.items()}, fits.info)


def _coverage(out: Path, category: str, entry: dict, frames: int, min_coverage: float, force: bool,
              notes: list[str]) -> dict[str, Any]:
    """Exported frames against the split's images recorded in ``fit.json``; a partial sequence is refused."""
    images = entry.get("images")
    if not isinstance(images, int) or images <= 0:
        notes.append(f"{out / FIT_INFO} records no image count for {category}: coverage not verified")
        return {"frames": frames, "images": None, "coverage": None}
    coverage = frames / images
    if coverage < min_coverage:
        message = (f"{fits_path(out, category)}: {frames} of the {images} {entry.get('split', '')} images of "
                   f"{category} would be exported ({100 * coverage:.1f}%), fewer than {100 * min_coverage:g}%")
        if not force:
            raise ValueError(f"{message}; fit the rest, lower --min-coverage, or --force to export a partial "
                             "sequence (recorded)")
        notes.append(f"forced: {message}")
    return {"frames": frames, "images": images, "coverage": coverage}


def export_submission(out: str | Path, path: str | Path, gender: str = "neutral",
                      min_coverage: float = RHOBIN_COVERAGE, force: bool = False) -> ExportReport:
    """Write every category fitted under ``out`` to one ``results.pkl`` at ``path`` (atomically),
    after the checks of the module docstring, and its provenance beside it."""
    out, path = Path(out), Path(path)
    categories = fitted_categories(out)
    if not categories:
        raise ValueError(f"{out}: no fits to export (expected fits/<category>.npz)")
    info = read_fit_info(out)
    report = ExportReport(path, path.with_name(path.name + ".provenance.json"))
    entries = {c: fit_info_entry(info, c) for c in categories}
    first = categories[0]
    base = Source(entries[first].get("dataset_hash"), f"{out / FIT_INFO} ({first} fits)")
    for category in categories[1:]:
        note = check_agree("datasets", base, Source(entries[category].get("dataset_hash"),
                                                    f"{out / FIT_INFO} ({category} fits)"), force)
        report.notes += [note] if note else []
    data = {}
    for category in categories:
        fits = _usable(out, load_fits(out, category), force, report.notes)
        report.coverage[category] = _coverage(out, category, entries[category], len(fits.image_ids),
                                              min_coverage, force, report.notes)
        data[category] = rhobin_sequence(fits, gender)
    for note in report.notes:
        log.warning("%s", note)
    atomic_write_bytes(path, pickle.dumps(data, protocol=4))
    atomic_write_json(report.provenance_path, {
        "fits": str(out.resolve()), "dataset": info.get("dataset"), "dataset_hash": info.get("dataset_hash"),
        "categories": {c: {"config_hash": entries[c].get("config_hash"), "preset": entries[c].get("preset"),
                           "prior": (entries[c].get("prior_record") or {}).get("hash"), **report.coverage[c]}
                       for c in categories},
        "min_coverage": min_coverage, "notes": report.notes,
        "forced": [n for n in report.notes if n.startswith("forced")]})
    return report


def export_rhobin(out: str | Path, path: str | Path, gender: str = "neutral") -> Path:
    """Write every category fitted under ``out`` to one ``results.pkl`` at ``path``; see
    :func:`export_submission` for the checks."""
    return export_submission(out, path, gender).path
