"""RHOBIN human track (3DPW challenge metrics) on RHOBIN-layout files.

Both files are posed with the body model of each sequence's own gender; the 24 SMPL joints and
their global rotations (see :func:`~hoirecon.eval.protocols.bodies.smpl_joint_indices`) are
compared in millimetres and degrees:

- MPJPE after aligning the pelvis (joint 0), all 24 joints;
- MPJPE-PA after the per-frame similarity Procrustes, all 24 joints;
- PCK (% within 50 mm) and AUC (thresholds 0..199 mm, area in [0, 1]) on the pelvis-aligned
  joints :data:`~hoirecon.eval.metrics.RHOBIN_PCK_JOINTS`;
- MPJAE and MPJAE-PA (predicted rotations turned by the Procrustes rotation) on
  :data:`~hoirecon.eval.metrics.RHOBIN_MPJAE_JOINTS`.

Every reference frame is evaluated (no visibility filter, as in the official evaluator).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoirecon.eval import metrics as M
from hoirecon.eval.protocols.bodies import BodyModels, PosedBodies, chunks
from hoirecon.eval.protocols.matching import (
    COVERAGE_MIN,
    enforce_coverage,
    files_result,
    match_frames,
    matching_table,
)
from hoirecon.eval.protocols.result import MetricSpec, ProtocolResult, worst_filled_mean
from hoirecon.eval.protocols.rhobin_joint import pose_sequence
from hoirecon.eval.protocols.submission import load_rhobin_file

MM_PER_M = 1000.0
HUMAN_METRICS = (
    MetricSpec("mpjpe_mm", "MPJPE (mm)"),
    MetricSpec("mpjpe_pa_mm", "MPJPE-PA (mm)"),
    MetricSpec("pck", "PCK@50mm (%)", higher_is_better=True),
    MetricSpec("auc", "AUC", higher_is_better=True),
    MetricSpec("mpjae_deg", "MPJAE (deg)"),
    MetricSpec("mpjae_pa_deg", "MPJAE-PA (deg)"),
)
_FAILURE_SCORES = {"pck": 0.0, "auc": 0.0}
"""Value of a missing frame in the recall-type metrics: nothing is correct."""


def human_frame_metrics(pred: PosedBodies, gt: PosedBodies) -> dict[str, np.ndarray]:
    """All six human-track metrics per frame, (B,) each, from posed bodies in metres."""
    pred_j, gt_j = pred.joints * MM_PER_M, gt.joints * MM_PER_M
    pred_root, gt_root = pred_j - pred_j[:, :1], gt_j - gt_j[:, :1]
    pck_sel, ang_sel = M.RHOBIN_PCK_JOINTS, M.RHOBIN_MPJAE_JOINTS
    return {
        "mpjpe_mm": M.mpjpe(pred_j, gt_j),
        "mpjpe_pa_mm": M.mpjpe_pa(pred_j, gt_j),
        "pck": M.pck(pred_root[:, pck_sel], gt_root[:, pck_sel], M.PCK_THRESHOLD_MM),
        "auc": M.auc(pred_root[:, pck_sel], gt_root[:, pck_sel], M.AUC_MAX_MM),
        "mpjae_deg": M.mpjae(pred.rotations[:, ang_sel], gt.rotations[:, ang_sel]),
        "mpjae_pa_deg": M.mpjae_pa(pred.rotations[:, ang_sel], gt.rotations[:, ang_sel],
                                   pred_j, gt_j),
    }


def _summary(values: dict[str, np.ndarray], ok: np.ndarray) -> dict[str, float]:
    out = {}
    for spec in HUMAN_METRICS:
        if spec.key in _FAILURE_SCORES:
            out[spec.key] = float(np.where(ok, values[spec.key], _FAILURE_SCORES[spec.key]).mean())
        else:
            out[spec.key] = worst_filled_mean(values[spec.key], ok)
    return out


def evaluate_human_files(pred: str | Path, ref: str | Path,
                         model_folder: str | Path | None = None,
                         min_coverage: float = COVERAGE_MIN) -> ProtocolResult:
    """Score a ``results.pkl`` against a ``ref.pkl`` with the RHOBIN human-track metrics.

    Args:
        pred: submission file. ref: reference file of the same layout.
        model_folder: body model folder (gender picks the file), one model file, or None for
            the embedded body (genders then ignored, with a note).

    Raises:
        EvalInputError: unreadable file, missing key, bad shape.
        CoverageError: the submission covers < ``min_coverage`` (RHOBIN: 97.5%) of the reference frames.
    """
    ref_file = load_rhobin_file(ref, need_body=True, need_object=False)
    pred_file = load_rhobin_file(pred, need_body=True, need_object=False)
    matching = match_frames(ref_file, pred_file, use_visibility=False)
    enforce_coverage(matching, pred_file, min_coverage)
    bodies = BodyModels(model_folder)
    table = matching_table(matching, [m.key for m in HUMAN_METRICS])
    for m in matching.sequences:
        ok = np.flatnonzero(m.ok)
        for part in chunks(len(ok)):
            sel = ok[part]
            scores = human_frame_metrics(pose_sequence(bodies, m.pred, m.pred_rows[sel]),
                                         pose_sequence(bodies, m.ref, m.ref_rows[sel]))
            for key, value in scores.items():
                table.values[key][m.offset + sel] = value
    summary = _summary(table.values, table.ok)
    return files_result("rhobin-human", pred_file, ref_file, matching, table, HUMAN_METRICS,
                        summary, {"units": "mm / % / deg", "joints": 24}, list(bodies.notes))
