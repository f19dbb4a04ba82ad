"""WildHOI object evidence: an object estimator's files beside the release, or its labels.

The release has no object estimator output: its ``object_kps_seq`` and ``obj_RT`` are the
object annotations (see :mod:`~hoirecon.data.readers.wildhoi`). Estimator files go in our
folder ``<object>/object_evidence/<video>/<hoi>/``, one set per frame, first existing wins:
``<frame>.obj_coor.pkl`` (EPro-PnP / StackFLOW ``{x3d, x2d, w2d, pose_opt?}``) or
``<frame>.obj_coor.json`` (our correspondences), ``<frame>.obj_keypoints.json`` and
``<frame>.obj_pose.json`` (see :mod:`~hoirecon.data.readers.evidence`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoirecon.data.readers.common import SampleError
from hoirecon.data.readers.evidence import EvidenceFiles, ObjectEvidence, annotation_evidence
from hoirecon.data.readers.records import ObjectPose

EVIDENCE_DIR = "object_evidence"
"""``<object>/object_evidence/<video>/<hoi>/<frame>.*``: an object estimator's files (ours)."""


def evidence_dir(base: Path, video: str, hoi: str) -> Path:
    """The folder of one track's object evidence files (``base`` = the category folder)."""
    return base / EVIDENCE_DIR / video / hoi


def frame_evidence_files(folder: Path, frame: str) -> EvidenceFiles:
    """The candidate object evidence files of one frame of a track's evidence folder."""
    return EvidenceFiles(correspondences=(folder / f"{frame}.obj_coor.pkl", folder / f"{frame}.obj_coor.json"),
                         keypoints=(folder / f"{frame}.obj_keypoints.json",), pose=(folder / f"{frame}.obj_pose.json",))


def labelled_evidence(path: Path, frame: str, rows: np.ndarray, pose: ObjectPose | None, K: np.ndarray,
                      **options: object) -> ObjectEvidence:
    """Object evidence from the LABELS (``object_evidence="annotation"``): the annotated keypoint
    rows (k, 2) (confidence 1) and correspondences at template vertices under the annotated
    camera-frame ``pose`` when there is one; ``options`` as for
    :func:`~hoirecon.data.readers.evidence.annotation_evidence`. Raises SampleError naming
    ``path`` (the ``hoi_kps`` file) when the rows are not finite."""
    if not np.isfinite(rows).all():
        raise SampleError(path, f"frame {frame}: object keypoints contain NaN")
    k = len(rows)
    if pose is None:
        points, pixels, weights = np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0)
    else:
        labels = annotation_evidence(pose, k, K, **options)  # type: ignore[arg-type]
        points, pixels, weights = labels.corr_points, labels.corr_pixels, labels.corr_weight
    return ObjectEvidence(np.c_[rows, np.ones(k)], points, pixels, weights, files=("annotation",))
