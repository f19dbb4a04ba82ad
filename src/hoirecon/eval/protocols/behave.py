"""The BEHAVE/CHORE protocol: similarity Procrustes on [body; object], then chamfer per mesh, cm.

Per frame, the predicted body and object vertices are concatenated and aligned onto the
ground truth's by one least-squares similarity (rotation, translation and scale), then the body
and object chamfer distances are measured between 10,000 seeded surface samples per mesh.

Two input kinds:

- :func:`evaluate_behave`: a dataset's test ground truth and a fits folder (the meshes of the
  WildHOI protocol, see :mod:`~hoirecon.eval.protocols.fit_inputs`; Procrustes makes the choice
  of frame irrelevant). Images without a usable fit are counted and skipped.
- :func:`evaluate_behave_files`: RHOBIN-layout ``results.pkl`` / ``ref.pkl`` (objects placed
  as ``(v @ R.T + t) * s``), with the RHOBIN visibility filter and coverage rule.
"""

from __future__ import annotations

from pathlib import Path

from hoirecon.eval.protocols.fit_inputs import load_fit_inputs, mesh_batches
from hoirecon.eval.protocols.matching import COVERAGE_MIN
from hoirecon.eval.protocols.result import ProtocolResult, mark_unsampled
from hoirecon.eval.protocols.rhobin_joint import chamfer_metrics, evaluate_joint_files
from hoirecon.eval.protocols.surfaces import surface_errors
from hoirecon.eval.protocols.wildhoi import CM_PER_M, PAPER_SAMPLES, check_dataset_coverage, empty_table, finish

BEHAVE_METRICS = chamfer_metrics("cm")


def evaluate_behave(data: str | Path, fits: str | Path, samples: int = PAPER_SAMPLES,
                    seed: int = 0, body_model: str | Path | None = None,
                    min_coverage: float = COVERAGE_MIN, force: bool = False) -> ProtocolResult:
    """Score a fits folder against a dataset's test ground truth with the BEHAVE protocol.

    Args:
        data: dataset folder. fits: output folder with ``fits/<category>.npz``.
        samples: surface points per mesh (10,000 as in the paper). seed: sampling seed.
        body_model: model file/folder overriding the dataset's ``body_model``.
        min_coverage, force: as in :func:`~hoirecon.eval.protocols.wildhoi.evaluate_wildhoi`.

    Returns:
        A :class:`ProtocolResult` with SMPL and object chamfer distances in cm.
    """
    inputs = load_fit_inputs(data, fits, body_model, force=force)
    keys = [m.key for m in BEHAVE_METRICS]
    table = empty_table(inputs, keys)
    check_dataset_coverage(inputs, table, min_coverage)
    for chunk in mesh_batches(inputs):
        batch = chunk.meshes
        chamfers = surface_errors(batch, samples, seed, align=True) * CM_PER_M
        table.values[keys[0]][batch.frame_numbers] = chamfers[:, 0]
        table.values[keys[1]][batch.frame_numbers] = chamfers[:, 1]
    mark_unsampled(table, keys[0])
    return finish("behave", inputs, table, BEHAVE_METRICS,
                  {"samples": samples, "seed": seed, "units": "cm", "procrustes": True}, min_coverage)


def evaluate_behave_files(pred: str | Path, ref: str | Path,
                          model_folder: str | Path | None = None,
                          samples: int = PAPER_SAMPLES, seed: int = 0,
                          min_coverage: float = COVERAGE_MIN) -> ProtocolResult:
    """The BEHAVE protocol on RHOBIN-layout files: the joint track with 10,000 samples, in cm."""
    return evaluate_joint_files(pred, ref, model_folder, samples=samples, seed=seed, unit="cm",
                                protocol="behave", min_coverage=min_coverage)
