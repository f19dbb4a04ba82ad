"""Per-frame surface errors of the chamfer protocols (BEHAVE/CHORE, WildHOI, RHOBIN joint).

Each frame samples ``samples`` points on four meshes (predicted and ground-truth body and
object) and reports the body and object chamfer distances, optionally after the similarity
Procrustes of the concatenated predicted [body; object] vertices onto the ground truth's.

Sampling is seeded per frame and per mesh role from one run seed, and the prediction and the
ground truth are drawn independently (:func:`hoirecon.eval.metrics.surface_chamfer`), as the
official BEHAVE/CHORE code draws them: a perfect prediction scores the sampling floor, not 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from hoirecon.eval.metrics import surface_chamfer
from hoirecon.geometry import procrustes

log = logging.getLogger(__name__)

ROLE_BODY = 0
ROLE_OBJECT = 1


@dataclass
class MeshBatch:
    """Posed predicted and ground-truth meshes of B frames sharing a body and an object topology."""

    pred_body: np.ndarray
    """(B, V, 3) predicted body vertices."""
    pred_object: np.ndarray
    """(B, W, 3) predicted object vertices."""
    gt_body: np.ndarray
    """(B, V, 3) ground-truth body vertices."""
    gt_object: np.ndarray
    """(B, W, 3) ground-truth object vertices."""
    body_faces: np.ndarray
    """(F, 3) body triangles."""
    object_faces: np.ndarray
    """(G, 3) object triangles."""
    frame_numbers: np.ndarray
    """(B,) run-wide frame numbers, used to derive the sampling seeds."""


def align_predictions(batch: MeshBatch) -> MeshBatch:
    """Map each frame's predicted [body; object] onto the ground truth by the least-squares
    similarity (rotation, translation, scale) of the concatenated vertices."""
    n_body = batch.pred_body.shape[1]
    pred = np.concatenate([batch.pred_body, batch.pred_object], axis=1)
    gt = np.concatenate([batch.gt_body, batch.gt_object], axis=1)
    aligned = procrustes(pred, gt).apply(pred)
    return MeshBatch(aligned[:, :n_body], aligned[:, n_body:], batch.gt_body, batch.gt_object,
                     batch.body_faces, batch.object_faces, batch.frame_numbers)


def _pair_chamfer(pred: np.ndarray, gt: np.ndarray, faces: np.ndarray, samples: int, seed: int,
                  frame: int, role: int) -> float:
    """Chamfer distance between ``samples`` independent surface points of two meshes (V, 3)."""
    return surface_chamfer(pred, faces, gt, faces, samples, seed, frame, role)


def surface_errors(batch: MeshBatch, samples: int, seed: int, align: bool) -> np.ndarray:
    """Body and object chamfer distance of every frame, in the units of the vertices.

    Args:
        batch: B frames of meshes.
        samples: points sampled per mesh (10,000 in the papers, 6,000 in RHOBIN).
        seed: run seed; frame ``k`` role ``r`` draws with ``independent_seeds(seed, k, r)``.
        align: Procrustes-align the prediction first (BEHAVE) or not (WildHOI).

    Returns:
        (B, 2) distances ``[body, object]``; a frame whose meshes cannot be sampled (NaN
        vertices, zero area) gets NaN in both and is logged.
    """
    if align:
        batch = align_predictions(batch)
    out = np.full((len(batch.frame_numbers), 2), np.nan)
    for i, frame in enumerate(batch.frame_numbers):
        try:
            out[i, 0] = _pair_chamfer(batch.pred_body[i], batch.gt_body[i], batch.body_faces,
                                      samples, seed, int(frame), ROLE_BODY)
            out[i, 1] = _pair_chamfer(batch.pred_object[i], batch.gt_object[i],
                                      batch.object_faces, samples, seed, int(frame), ROLE_OBJECT)
        except ValueError as error:
            log.warning("frame %d skipped: its meshes cannot be sampled (%s)", frame, error)
            out[i] = np.nan
    return out
