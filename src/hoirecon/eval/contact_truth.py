"""Ground-truth contacts of a synthetic or captured image, to judge the contact candidates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from hoirecon.body import BodyModel
from hoirecon.data.sample import Sample
from hoirecon.geometry import Similarity
from hoirecon.objects import ObjectTemplate


@dataclass(frozen=True)
class ContactTruth:
    """Ground-truth contact vertices of one image (for judging the contact candidates)."""

    human_ids: np.ndarray
    """(N_h,) body vertices within the threshold of the object surface."""
    object_ids: np.ndarray
    """(N_o,) object vertices within the threshold of the body's vertices."""


def contact_truth(sample: Sample, template: ObjectTemplate, body_model: BodyModel,
                  threshold: float = 0.03, surface_samples: int = 20000) -> ContactTruth:
    """True contacts of a sample with ground truth: body vertices within ``threshold`` metres
    of the object surface (dense surface samples) and object vertices within ``threshold`` of
    a body vertex, in the ground-truth pose."""
    gt = sample.gt
    if gt is None:
        raise ValueError(f"sample {sample.image_id!r} has no ground truth")
    with torch.no_grad():
        out = body_model(betas=torch.as_tensor(gt.betas[None], dtype=body_model.v_template.dtype),
                         body_pose=torch.as_tensor(gt.body_pose[None], dtype=body_model.v_template.dtype))
    body = (out.vertices[0] - out.joints[0, :1]).double().numpy()
    mesh = template.to_trimesh()
    points = mesh.sample(surface_samples, seed=0) if len(mesh.faces) else np.zeros((0, 3))
    pose = Similarity(rotation=np.asarray(gt.object_rotation, dtype=np.float64),
                      translation=np.asarray(gt.object_translation, dtype=np.float64),
                      scale=np.asarray(gt.object_scale, dtype=np.float64))
    vertices = np.asarray(template.vertices, dtype=np.float64)
    surface = pose.apply(np.concatenate([np.asarray(points, dtype=np.float64), vertices]))
    obj = pose.apply(vertices)
    near_h = cKDTree(surface).query(body, distance_upper_bound=threshold)[0] <= threshold
    near_o = cKDTree(body).query(obj, distance_upper_bound=threshold)[0] <= threshold
    return ContactTruth(np.flatnonzero(near_h), np.flatnonzero(near_o))


@dataclass(frozen=True)
class PrecisionRecall:
    """Precision and recall of a predicted id set against a true one."""

    precision: float
    """Fraction of predicted ids that are true (nan when nothing is predicted)."""
    recall: float
    """Fraction of true ids that are predicted (nan when nothing is true)."""


def precision_recall(predicted: np.ndarray, truth: np.ndarray) -> PrecisionRecall:
    """Precision and recall of a predicted id set (N,) against a true one (M,)."""
    hits = len(np.intersect1d(predicted, truth))
    precision = hits / len(predicted) if len(predicted) else float("nan")
    recall = hits / len(truth) if len(truth) else float("nan")
    return PrecisionRecall(precision=precision, recall=recall)


@dataclass
class ContactCounts:
    """Micro-averaged precision/recall over many images: hits and set sizes summed first."""

    hits: int = 0
    predicted: int = 0
    true: int = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> None:
        """Count one image's predicted ids (N,) against its true ids (M,)."""
        self.hits += len(np.intersect1d(predicted, truth))
        self.predicted += len(np.unique(predicted))
        self.true += len(np.unique(truth))

    def result(self) -> PrecisionRecall:
        """Precision and recall of everything counted (nan where a denominator is 0)."""
        return PrecisionRecall(precision=self.hits / self.predicted if self.predicted else float("nan"),
                               recall=self.hits / self.true if self.true else float("nan"))
