"""RHOBIN joint track, and the BEHAVE/CHORE protocol on RHOBIN-layout files.

Per evaluated frame (object visible ratio >= 0.3 when the reference gives it): the predicted
body (posed, like the ground truth, by the body model of the reference sequence's gender, as the
official evaluator does, so both meshes share one topology) and object (``(v @ R.T + t) * s``) are
aligned onto the ground truth by one similarity Procrustes of the concatenated vertices, then
body and object chamfer distances are taken between seeded surface samples: 6,000 per mesh in
millimetres for the joint track, 10,000 in centimetres for the BEHAVE protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hoirecon.eval.protocols.bodies import BodyModels, PosedBodies, chunks, pose_bodies, pose_inputs
from hoirecon.eval.protocols.file_templates import FileTemplate, TemplateLookup, place_behave
from hoirecon.eval.protocols.matching import (
    COVERAGE_MIN,
    SequenceMatch,
    enforce_coverage,
    files_result,
    match_frames,
    matching_table,
)
from hoirecon.eval.protocols.result import (
    MetricSpec,
    ProtocolResult,
    mark_unsampled,
    worst_filled_mean,
)
from hoirecon.eval.protocols.submission import Sequence, load_rhobin_file
from hoirecon.eval.protocols.surfaces import MeshBatch, surface_errors

RHOBIN_JOINT_SAMPLES = 6_000
"""Surface samples per mesh in the RHOBIN joint track."""
UNIT_SCALE = {"mm": 1000.0, "cm": 100.0}


def chamfer_metrics(unit: str) -> tuple[MetricSpec, ...]:
    """The two surface metrics in ``unit`` ("mm" or "cm")."""
    return (MetricSpec(f"smpl_cd_{unit}", f"SMPL CD ({unit})"),
            MetricSpec(f"object_cd_{unit}", f"Object CD ({unit})"))


def pose_sequence(bodies: BodyModels, seq: Sequence, rows: np.ndarray,
                  gender: str | None = None) -> PosedBodies:
    """Posed bodies (B = len(rows)) of some frames of a sequence, in its own frame, with the
    model of ``gender`` (default: the sequence's)."""
    model = bodies.get(seq.gender if gender is None else gender)
    params = pose_inputs(model, seq.poses[rows])
    params.update(betas=seq.betas[rows], transl=seq.trans[rows])
    return pose_bodies(model, params)


def _object_vertices(vertices: np.ndarray, seq: Sequence, rows: np.ndarray) -> np.ndarray:
    scales = None if seq.obj_scales is None else seq.obj_scales[rows]
    return place_behave(vertices, seq.obj_rots[rows], seq.obj_trans[rows], scales)


def _mesh_batches(m: SequenceMatch, bodies: BodyModels,
                  template: FileTemplate) -> Iterator[MeshBatch]:
    """Chunks of one sequence's scored frames as meshes; frame numbers are table positions."""
    ok = np.flatnonzero(m.ok)
    for part in chunks(len(ok)):
        sel = ok[part]
        r, p = m.ref_rows[sel], m.pred_rows[sel]
        yield MeshBatch(
            pose_sequence(bodies, m.pred, p, gender=m.ref.gender).vertices,
            _object_vertices(template.vertices, m.pred, p),
            pose_sequence(bodies, m.ref, r).vertices,
            _object_vertices(template.vertices, m.ref, r),
            bodies.get(m.ref.gender).faces, template.faces, m.offset + sel)


def evaluate_joint_files(pred: str | Path, ref: str | Path, model_folder: str | Path | None = None,
                         samples: int = RHOBIN_JOINT_SAMPLES, seed: int = 0, unit: str = "mm",
                         protocol: str = "rhobin-joint", min_coverage: float = COVERAGE_MIN) -> ProtocolResult:
    """Score a ``results.pkl`` against a ``ref.pkl`` with Procrustes-aligned chamfer distances.

    Args:
        pred: submission file. ref: reference file of the same layout.
        model_folder: body model folder (gender picks the file), one model file, or None for
            the embedded body (genders then ignored, with a note).
        samples: surface points per mesh. seed: sampling seed.
        unit: "mm" (RHOBIN) or "cm" (BEHAVE/CHORE papers).
        protocol: name recorded in the result.

    Raises:
        EvalInputError: unreadable file, missing key, bad shape, unknown object.
        CoverageError: the submission covers < ``min_coverage`` (RHOBIN: 97.5%) of the evaluated frames.
    """
    if unit not in UNIT_SCALE:
        raise ValueError(f"unit: expected 'mm' or 'cm', got {unit!r}")
    ref_file = load_rhobin_file(ref, need_body=True, need_object=True)
    pred_file = load_rhobin_file(pred, need_body=True, need_object=True)
    matching = match_frames(ref_file, pred_file, use_visibility=True)
    enforce_coverage(matching, pred_file, min_coverage)
    bodies, templates = BodyModels(model_folder), TemplateLookup(ref_file)
    metrics = chamfer_metrics(unit)
    keys = [m.key for m in metrics]
    table = matching_table(matching, keys)
    for m in matching.sequences:
        template = templates.get(m.ref)
        for batch in _mesh_batches(m, bodies, template):
            errors = surface_errors(batch, samples, seed, align=True) * UNIT_SCALE[unit]
            table.values[keys[0]][batch.frame_numbers] = errors[:, 0]
            table.values[keys[1]][batch.frame_numbers] = errors[:, 1]
    mark_unsampled(table, keys[0])
    summary = {k: worst_filled_mean(table.values[k], table.ok) for k in keys}
    return files_result(protocol, pred_file, ref_file, matching, table, metrics, summary,
                        {"samples": samples, "seed": seed, "unit": unit, "procrustes": True,
                         "object_placement": "(v @ R^T + t) * s"}, list(bodies.notes))
