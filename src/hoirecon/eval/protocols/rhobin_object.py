"""RHOBIN object track (BOP pose errors) on RHOBIN-layout files.

Model points are 10,000 seeded surface samples of the object's template (as the official
evaluator samples its template), the object diameter is taken over them. Per evaluated frame
(object visible ratio >= 0.3 when the reference gives it):

- MSSD (mm): ``min_S max_p`` distance between the estimated points ``(p @ R.T + t) * s`` and
  the ground truth under each symmetry S;
- MSPD (px): the same between projections with the BEHAVE camera
  :data:`~hoirecon.eval.metrics.BEHAVE_K`;
- RE (deg): ``min_S`` geodesic angle between the estimated and the symmetric ground-truth
  rotation.

Recalls average ``error < step * max`` over steps 0.05..0.50 with max = the object diameter,
200 px and 40 deg; AR_all is their mean. Missing frames count as failures in every recall.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoirecon.eval import metrics as M
from hoirecon.eval.protocols.file_templates import FileTemplate, TemplateLookup, place_behave
from hoirecon.eval.protocols.matching import (
    COVERAGE_MIN,
    SequenceMatch,
    enforce_coverage,
    files_result,
    match_frames,
    matching_table,
)
from hoirecon.eval.protocols.pose_errors import (
    surface_and_projection_distance,
    symmetric_rotation_errors,
)
from hoirecon.eval.protocols.result import FrameTable, MetricSpec, ProtocolResult, worst_filled_mean
from hoirecon.eval.protocols.submission import load_rhobin_file
from hoirecon.eval.sampling import sample_surface

MM_PER_M = 1000.0
OBJECT_SAMPLES = 10_000
"""Template surface samples used as model points."""
OBJECT_METRICS = (
    MetricSpec("mssd_mm", "MSSD (mm)"),
    MetricSpec("mspd_px", "MSPD (px)"),
    MetricSpec("re_deg", "RE (deg)"),
    MetricSpec("mssd_ar", "MSSD-AR", higher_is_better=True),
    MetricSpec("mspd_ar", "MSPD-AR", higher_is_better=True),
    MetricSpec("re_ar", "RE-AR", higher_is_better=True),
    MetricSpec("ar_all", "AR-all", higher_is_better=True),
)
_FRAME_KEYS = ["mssd_mm", "mspd_px", "re_deg", "diameter_mm"]


def _model_points(template: FileTemplate, samples: int, seed: int) -> tuple[np.ndarray, float]:
    points = sample_surface(template.vertices, template.faces, samples, seed)
    return points, M.object_diameter(points)


def _score_sequence(m: SequenceMatch, template: FileTemplate, points: np.ndarray,
                    diameter: float, table: FrameTable) -> None:
    ok = np.flatnonzero(m.ok)
    r, p = m.ref_rows[ok], m.pred_rows[ok]
    at = m.offset + ok
    scales = m.pred.obj_scales[p] if m.pred.obj_scales is not None else None
    est = place_behave(points, m.pred.obj_rots[p], m.pred.obj_trans[p], scales)
    gt_scales = m.ref.obj_scales[r] if m.ref.obj_scales is not None else np.ones(len(r))
    for i, frame in enumerate(r):
        distances = surface_and_projection_distance(
            est[i], points, m.ref.obj_rots[frame], m.ref.obj_trans[frame], gt_scales[i],
            template.symmetries, M.BEHAVE_K)
        table.values["mssd_mm"][at[i]] = distances.surface * MM_PER_M
        table.values["mspd_px"][at[i]] = distances.pixel
    table.values["re_deg"][at] = symmetric_rotation_errors(
        m.pred.obj_rots[p], m.ref.obj_rots[r], template.symmetries) if len(ok) else []
    table.values["diameter_mm"][m.offset:m.offset + len(m.ref_rows)] = diameter * MM_PER_M


def _summary(table: FrameTable) -> dict[str, float]:
    ok, v = table.ok, table.values
    failed = {k: np.where(ok, v[k], np.inf) for k in ("mssd_mm", "mspd_px", "re_deg")}
    summary = {k: worst_filled_mean(v[k], ok) for k in ("mssd_mm", "mspd_px", "re_deg")}
    summary["mssd_ar"] = M.average_recall(failed["mssd_mm"] / v["diameter_mm"], 1.0)
    summary["mspd_ar"] = M.average_recall(failed["mspd_px"], M.RECALL_MAX_PX)
    summary["re_ar"] = M.average_recall(failed["re_deg"], M.RECALL_MAX_DEG)
    summary["ar_all"] = float(np.mean([summary["mssd_ar"], summary["mspd_ar"], summary["re_ar"]]))
    return summary


def evaluate_object_files(pred: str | Path, ref: str | Path, samples: int = OBJECT_SAMPLES,
                          seed: int = 0, min_coverage: float = COVERAGE_MIN) -> ProtocolResult:
    """Score a ``results.pkl`` against a ``ref.pkl`` with the RHOBIN object-track metrics.

    Args:
        pred: submission file. ref: reference file of the same layout (camera-frame poses).
        samples: template surface samples used as model points. seed: their seed.

    Raises:
        EvalInputError: unreadable file, missing key, bad shape, unknown object.
        CoverageError: the submission covers < ``min_coverage`` (RHOBIN: 97.5%) of the evaluated frames.
    """
    ref_file = load_rhobin_file(ref, need_body=False, need_object=True)
    pred_file = load_rhobin_file(pred, need_body=False, need_object=True)
    matching = match_frames(ref_file, pred_file, use_visibility=True)
    enforce_coverage(matching, pred_file, min_coverage)
    templates = TemplateLookup(ref_file)
    table = matching_table(matching, _FRAME_KEYS)
    cache: dict[str, tuple[np.ndarray, float]] = {}
    for m in matching.sequences:
        template = templates.get(m.ref)
        if template.name not in cache:
            cache[template.name] = _model_points(template, samples, seed)
        _score_sequence(m, template, *cache[template.name], table)
    return files_result("rhobin-object", pred_file, ref_file, matching, table, OBJECT_METRICS,
                        _summary(table), {"samples": samples, "seed": seed,
                                          "camera": "BEHAVE K", "units": "mm / px / deg"}, [])
