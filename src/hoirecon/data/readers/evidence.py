"""Object evidence of one image, read from object estimators' files, or (on request) its labels.

What a fit may read about the object (SPEC 6): 2D keypoints of an object keypoint detector,
dense 2D-3D correspondences (EPro-PnP / StackFLOW, CDPN) or a pose from an object pose
estimator. :func:`read_object_evidence` reads whichever of those files exist for one image
(the first existing candidate of each kind, see :class:`EvidenceFiles`):

* correspondences: an EPro-PnP / StackFLOW pickle ``{x3d, x2d, w2d, pose_opt?}`` or our JSON
  (:func:`~hoirecon.data.readers.object_evidence.read_correspondences`); the
  ``max_correspondences`` strongest (by weight, zero weights dropped) are kept, and an EPro-PnP
  ``pose_opt`` is kept as an estimated pose;
* keypoints: our object keypoint JSON ``{"keypoints": [[u, v, confidence], ...]}`` in template
  keypoint order;
* a pose: ``{"rotation": (3, 3) or axis-angle (3,), "translation": (3,)}`` JSON, template ->
  camera, metres (:func:`read_object_pose`).

An estimated pose gives the keypoint rows when no keypoint file does (the template's keypoints
projected, confidence 1) and, without a correspondence file, correspondences at up to
``max_correspondences`` template vertices (weight 1, no visibility test).

:data:`OBJECT_EVIDENCE` names the reader option that decides where object evidence comes from:
``"estimate"`` (default) reads the files above, and an image with none of them has no object
evidence (readers report and skip it, never filling it from labels); ``"annotation"`` uses the
dataset's annotated object pose instead (the paper's training setting), and every converted
dataset records which was used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.data.readers.assemble import project_front
from hoirecon.data.readers.common import SampleError, array_field, field, first_existing, guarded, load_json
from hoirecon.data.readers.object_evidence import read_correspondences, read_object_keypoints
from hoirecon.data.readers.records import ObjectPose, parse_rotation
from hoirecon.data.sample import Estimate

OBJECT_EVIDENCE = ("estimate", "annotation")
"""Values of the readers' ``object_evidence`` option."""
DEFAULT_MAX_CORRESPONDENCES = 256
"""Correspondences kept per image (EPro-PnP writes 64 x 64 = 4096, most with tiny weights)."""


def check_object_evidence(value: str) -> str:
    """``value`` when it is one of :data:`OBJECT_EVIDENCE`, else ValueError naming the option."""
    if value not in OBJECT_EVIDENCE:
        raise ValueError(f"object_evidence: expected one of {', '.join(OBJECT_EVIDENCE)}, got {value!r}")
    return value


@dataclass(frozen=True)
class EvidenceFiles:
    """Candidate object evidence files of one image, per kind in order of preference."""

    correspondences: tuple[Path, ...] = ()
    keypoints: tuple[Path, ...] = ()
    pose: tuple[Path, ...] = ()

    def names(self) -> str:
        """The candidates' names, for a report."""
        return ", ".join(p.name for p in (*self.correspondences, *self.keypoints, *self.pose))


@dataclass(frozen=True)
class ObjectEvidence:
    """What one image shows of the object, in template keypoint order and template frame."""

    keypoints: np.ndarray
    """(k, 3) u, v pixels and confidence; confidence 0 = no observation."""
    corr_points: np.ndarray
    """(C, 3) template-frame points of the 2D-3D correspondences."""
    corr_pixels: np.ndarray
    """(C, 2) their pixels."""
    corr_weight: np.ndarray
    """(C,) their positive weights."""
    pose: ObjectPose | None = None
    """Template -> camera pose an estimator gave, when one did."""
    files: tuple[str, ...] = ()
    """The files read (``"annotation"`` for labels)."""

    @property
    def found(self) -> bool:
        """Whether a sample can carry any of it: a keypoint with a confidence or a weighted
        correspondence (an estimated pose counts once the template turned it into those)."""
        return bool(np.any(self.keypoints[:, 2] > 0) or np.any(self.corr_weight > 0))

    def missing(self, files: EvidenceFiles) -> str:
        """Why an image without usable evidence has none, for a report."""
        if self.pose is not None:
            return (f"an object pose ({', '.join(self.files)}) but no template to turn it into keypoints or "
                    "correspondences (pass templates=)")
        return f"no object evidence (looked for {files.names()})"

    def estimate(self, betas: np.ndarray, body_pose: np.ndarray, global_orient: np.ndarray,
                 transl: np.ndarray) -> Estimate:
        """The typed estimate of a body (shapes as in :class:`Estimate`) with this object evidence."""
        return Estimate(betas=betas, body_pose=body_pose, global_orient=global_orient, transl=transl,
                        object_keypoints_2d=self.keypoints[:, :2], object_keypoint_conf=self.keypoints[:, 2],
                        corr_points=self.corr_points, corr_pixels=self.corr_pixels, corr_weight=self.corr_weight)


def no_evidence(k: int) -> ObjectEvidence:
    """No observation of an object with ``k`` keypoints."""
    return ObjectEvidence(np.zeros((k, 3)), np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0))


@guarded(lambda path: path)
def read_object_pose(path: Path) -> ObjectPose:
    """An object pose JSON ``{"rotation", "translation", "scale"?}`` (template -> camera)."""
    data = load_json(path)
    rotation = parse_rotation(field(data, "rotation", path), path, "rotation")
    scale = float(array_field(data, "scale", (1,), path)[0]) if "scale" in data else 1.0
    if scale <= 0:
        raise SampleError(path, f"key 'scale': must be positive, got {scale}")
    return ObjectPose(rotation, array_field(data, "translation", (3,), path), scale)


def strongest(points: np.ndarray, pixels: np.ndarray, weights: np.ndarray,
              limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The at most ``limit`` correspondences of largest positive weight (P, 3), (P, 2), (P,)."""
    order = np.argsort(-weights, kind="stable")
    order = order[weights[order] > 0][:limit]
    return points[order], pixels[order], weights[order]


def pose_keypoints(pose: ObjectPose, template_keypoints: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(k, 3) pixels and confidence (1 in front of the camera, else 0) of the template keypoints
    (k, 3) under a camera-frame ``pose``."""
    pixels, front = project_front(pose.apply(template_keypoints), K)
    return np.c_[pixels, front.astype(np.float64)]


def pose_correspondences(pose: ObjectPose, vertices: np.ndarray, K: np.ndarray,
                         limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``limit`` template vertices (V, 3), evenly spread, with their pixels under a
    camera-frame ``pose`` and weight 1; vertices behind the camera are left out."""
    ids = np.unique(np.linspace(0, len(vertices) - 1, min(len(vertices), limit)).round().astype(int))
    points = np.asarray(vertices, dtype=np.float64)[ids]
    pixels, front = project_front(pose.apply(points), K)
    return points[front], pixels[front], np.ones(int(front.sum()))


def _with_pose(evidence: ObjectEvidence, pose: ObjectPose, template_keypoints: np.ndarray | None,
               vertices: np.ndarray | None, K: np.ndarray, limit: int) -> ObjectEvidence:
    """Keypoint rows and correspondences from ``pose`` where the files gave none."""
    keypoints, points, pixels, weights = (evidence.keypoints, evidence.corr_points, evidence.corr_pixels,
                                          evidence.corr_weight)
    if template_keypoints is not None and not np.any(keypoints[:, 2] > 0):
        keypoints = pose_keypoints(pose, template_keypoints, K)
    if vertices is not None and not len(weights):
        points, pixels, weights = pose_correspondences(pose, vertices, K, limit)
    return ObjectEvidence(keypoints, points, pixels, weights, evidence.pose, evidence.files)


def read_object_evidence(files: EvidenceFiles, k: int, K: np.ndarray, *,
                         template_keypoints: np.ndarray | None = None, vertices: np.ndarray | None = None,
                         max_correspondences: int = DEFAULT_MAX_CORRESPONDENCES) -> ObjectEvidence:
    """The object evidence of one image from the first existing file of each kind.

    Args:
        files: the candidates. k: the template's keypoint count (rows of ``keypoints``).
        K: (3, 3) the image's intrinsics (to project an estimated pose).
        template_keypoints: (k, 3) template keypoints, to project an estimated pose.
        vertices: (V, 3) template vertices, to turn an estimated pose into correspondences.
        max_correspondences: correspondences kept (the strongest).

    Raises:
        SampleError: a file exists but cannot be read (naming it).
    """
    evidence, read = no_evidence(k), []
    corr_file = first_existing(list(files.correspondences))
    pose = None
    if corr_file is not None:
        corr = read_correspondences(corr_file)
        points, pixels, weights = strongest(corr.points, corr.pixels, corr.weights, max_correspondences)
        evidence = ObjectEvidence(evidence.keypoints, points, pixels, weights)
        pose = None if corr.rotation is None else ObjectPose(corr.rotation, corr.translation)
        read.append(str(corr_file))
    keypoint_file = first_existing(list(files.keypoints))
    if keypoint_file is not None:
        rows = read_object_keypoints(keypoint_file, k).keypoints
        evidence = ObjectEvidence(rows, evidence.corr_points, evidence.corr_pixels, evidence.corr_weight)
        read.append(str(keypoint_file))
    pose_file = first_existing(list(files.pose))
    if pose_file is not None:
        pose = read_object_pose(pose_file)
        read.append(str(pose_file))
    evidence = ObjectEvidence(evidence.keypoints, evidence.corr_points, evidence.corr_pixels,
                              evidence.corr_weight, pose, tuple(read))
    if pose is None:
        return evidence
    return _with_pose(evidence, pose, template_keypoints, vertices, K, max_correspondences)


def annotation_evidence(pose: ObjectPose, k: int, K: np.ndarray, *, template_keypoints: np.ndarray | None = None,
                        vertices: np.ndarray | None = None,
                        max_correspondences: int = DEFAULT_MAX_CORRESPONDENCES) -> ObjectEvidence:
    """Object evidence rendered from an ANNOTATED camera-frame pose (``object_evidence="annotation"``):
    projected template keypoints (confidence 1) and correspondences at template vertices (weight 1)."""
    labelled = ObjectEvidence(no_evidence(k).keypoints, np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0),
                              None, ("annotation",))
    return _with_pose(labelled, pose, template_keypoints, vertices, K, max_correspondences)
