"""The WildHOI protocol (paper Table 3): human frame, no Procrustes, cm / cm / deg / cm.

Prediction and ground truth are both placed in the human frame (pelvis at the origin, zero
global orientation, see :mod:`~hoirecon.eval.protocols.fit_inputs`) and compared as they are:

- SMPL CD and object CD: chamfer distance between 10,000 seeded surface samples per mesh;
- rotation error: geodesic angle of the object rotation, minimum over the template's
  symmetries, in degrees; 0 for a spherical template (:func:`~hoirecon.objects.symmetry.is_sphere`),
  whose symmetry group is all of SO(3) (its 60 listed icosahedral rotations would leave up to 37 deg);
- translation error: ``|t_pred - t_gt|`` of the object translation, in cm.

Summaries are frame-weighted means over the scored test images; per-category means are in
``group_summary``. Images without a usable fit are counted and skipped, and count against the
coverage: below ``min_coverage`` (RHOBIN's 97.5% by default) the run fails.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoirecon.eval.protocols.fit_inputs import FitInputs, load_fit_inputs, mesh_batches
from hoirecon.eval.protocols.matching import COVERAGE_MIN
from hoirecon.eval.protocols.pose_errors import symmetric_rotation_errors, with_identity
from hoirecon.eval.protocols.result import (
    FrameTable,
    MetricSpec,
    ProtocolResult,
    check_coverage,
    group_means,
    mark_unsampled,
    mean_over_ok,
    table_counts,
)
from hoirecon.eval.protocols.surfaces import surface_errors
from hoirecon.objects.symmetry import is_sphere

CM_PER_M = 100.0
PAPER_SAMPLES = 10_000
"""Surface samples per mesh in the paper's protocols."""

WILDHOI_METRICS = (
    MetricSpec("smpl_cd_cm", "SMPL CD (cm)"),
    MetricSpec("object_cd_cm", "Object CD (cm)"),
    MetricSpec("rot_err_deg", "Rot. err. (deg)"),
    MetricSpec("trans_err_cm", "Transl. err. (cm)"),
)


def empty_table(inputs: FitInputs, keys: list[str]) -> FrameTable:
    """One NaN-filled row per test image of every category, in run order."""
    groups, frames, status = [], [], []
    for pairs in inputs.categories:
        groups += [pairs.category] * len(pairs.image_ids)
        frames += pairs.image_ids
        status += pairs.status
    return FrameTable(groups, frames, status, {k: np.full(len(frames), np.nan) for k in keys})


SKIP_RULE = "frames without a usable fit are left out of the means"


def check_dataset_coverage(inputs: FitInputs, table: FrameTable, min_coverage: float) -> None:
    """:class:`CoverageError` when too few test images have a usable fit (missing and invalid count)."""
    check_coverage(str(inputs.fits), table, min_coverage, SKIP_RULE)


def finish(protocol: str, inputs: FitInputs, table: FrameTable,
           metrics: tuple[MetricSpec, ...], settings: dict, min_coverage: float = COVERAGE_MIN) -> ProtocolResult:
    """Summaries, counts and notes of a dataset protocol run; checks the coverage once more
    (frames whose meshes could not be sampled became invalid)."""
    check_dataset_coverage(inputs, table, min_coverage)
    keys = [m.key for m in metrics]
    summary = {k: mean_over_ok(table.values[k], table.ok) for k in keys}
    notes = list(inputs.bodies.notes) + list(inputs.notes)
    skipped = len(table) - int(table.ok.sum())
    if skipped:
        notes.append(f"{skipped} test image(s) without a usable fit were skipped (coverage "
                     f"{100 * (len(table) - skipped) / len(table):.1f}%; {SKIP_RULE})")
    return ProtocolResult(protocol, inputs.method, metrics, summary, table,
                          group_means(table, keys), table_counts(table, len(table)),
                          {"data": str(inputs.data), "fits": str(inputs.fits), **settings,
                           "min_coverage": min_coverage, "provenance": inputs.provenance}, notes)


def evaluate_wildhoi(data: str | Path, fits: str | Path, samples: int = PAPER_SAMPLES,
                     seed: int = 0, body_model: str | Path | None = None,
                     min_coverage: float = COVERAGE_MIN, force: bool = False) -> ProtocolResult:
    """Score a fits folder against a dataset's test ground truth with the WildHOI protocol.

    Args:
        data: dataset folder (hoirecon format). fits: output folder with ``fits/<category>.npz``.
        samples: surface points per mesh for the chamfer distances.
        seed: sampling seed; same inputs and seed give the same numbers.
        body_model: model file/folder overriding the dataset's ``body_model``.
        min_coverage: smallest fraction of test images with a usable fit (RHOBIN's 97.5% by
            default); below it :class:`CoverageError` is raised.
        force: score fits that ``fit.json`` says were made on another dataset (recorded).

    Returns:
        A :class:`ProtocolResult` with :data:`WILDHOI_METRICS` in cm / cm / deg / cm.
    """
    inputs = load_fit_inputs(data, fits, body_model, force=force)
    table = empty_table(inputs, [m.key for m in WILDHOI_METRICS])
    check_dataset_coverage(inputs, table, min_coverage)
    for chunk in mesh_batches(inputs):
        pairs, rows, batch = chunk.pairs, chunk.rows, chunk.meshes
        at = batch.frame_numbers
        chamfers = surface_errors(batch, samples, seed, align=False) * CM_PER_M
        table.values["smpl_cd_cm"][at], table.values["object_cd_cm"][at] = chamfers.T
        symmetries = with_identity(pairs.template.symmetry_rotations,
                                   pairs.template.symmetry_translations)
        if is_sphere(pairs.template.vertices, pairs.template.faces):
            table.values["rot_err_deg"][at] = 0.0
        else:
            table.values["rot_err_deg"][at] = symmetric_rotation_errors(
                pairs.pred["object_rotation"][rows], pairs.gt["object_rotation"][rows], symmetries)
        offset = pairs.pred["object_translation"][rows] - pairs.gt["object_translation"][rows]
        table.values["trans_err_cm"][at] = np.linalg.norm(offset, axis=1) * CM_PER_M
    mark_unsampled(table, "smpl_cd_cm")
    return finish("wildhoi", inputs, table, WILDHOI_METRICS,
                  {"samples": samples, "seed": seed, "units": "cm/cm/deg/cm",
                   "frame": "human (pelvis at origin, zero orientation)", "procrustes": False}, min_coverage)
