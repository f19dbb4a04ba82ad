"""Reader of the BEHAVE release (``sequences/<seq>/<frame>/k<k>.*``, ``calibs/``, ``objects/``).

One sample per frame and camera, with id ``<sequence>_<frame>_k<k>`` and the BEHAVE object
name as its category. Every column a fit may read comes from EVIDENCE, the files a BEHAVE user
has (names in :mod:`~hoirecon.data.readers.behave_evidence`); the fits only fill ``sample.gt``:

=======================================  ===============================================================
``coco_keypoints``                       the OpenPose detection (BODY_25 -> COCO-17); all zeros when the
                                         file is all zeros (no detection), missing or malformed
``cam_rotation``, ``cam_center``         the camera in the human frame of the body ESTIMATE, placed in
                                         the camera (:mod:`~hoirecon.data.readers.placement`): its
                                         ``transl``, weak camera, or, for FrankMocap's ``k*.mocap.json``
                                         (no translation), the OpenPose keypoints
``keypoints_2d[:22]``, its confidences   with a body model, the estimated body's joints projected
                                         through that camera; confidence = OpenPose's where the joint
                                         has a BODY_25 counterpart, ``estimate_joint_conf`` elsewhere
                                         (as the synthetic data does). Without a body model the
                                         OpenPose joints mapped to the SMPL rows (others confidence 0)
``keypoints_2d[22:]``, ``est_object_*``  object keypoint file, else an estimated pose's projected
                                         template keypoints; correspondences from the EPro-PnP /
                                         StackFLOW pickle (:mod:`~hoirecon.data.readers.evidence`)
``est_betas`` ... ``est_transl``         the placed body estimate
masks                                    ``k*.person_mask.*``, ``k*.obj_rend_mask.*`` (else
                                         ``k*.obj_mask.*``; ``object_mask_names`` picks others, e.g.
                                         a segmentation's, since the release renders ``obj_rend_mask``)
``gt_*`` (with a body model)             ``person/fit02`` and ``<object>/fit01`` (evaluation only), with
                                         the TRUE camera in ``gt_cam_rotation`` / ``gt_cam_center``
=======================================  ===============================================================

A view without a body estimate, one that cannot be placed (FrankMocap without a body model or
without detected keypoints), or without object evidence is reported and skipped: nothing is
filled from the fits. ``object_evidence="annotation"`` replaces the object evidence by the
projection of the object fit (the paper's training setting), recorded in every converted
dataset's manifest. A frame whose fits are missing or broken is read without ground truth.

The ground truth (:mod:`~hoirecon.data.readers.behave_truth`) needs a body model (SMPL-H, per
gender or one for all) for the true pelvis; without one ``sample.gt`` is None and the records
use :data:`APPROX_REST_PELVIS`. Splits come from ``split.json`` (unlisted sequences are ``train``).
With ``truth=False`` the fits are never opened (the RHOBIN tracks read their frames that way).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from hoirecon.data.readers.assemble import BodyModelLike, BodyModels, pick_body_model
from hoirecon.data.readers.behave_evidence import (
    body_estimate_files,
    detected_joint_conf,
    object_evidence_files,
    person_keypoint_files,
    read_body_keypoints,
)
from hoirecon.data.readers.behave_files import (
    OBJECT_MASK_NAMES,
    KinectCamera,
    SequenceInfo,
    object_mask_file,
    person_mask_file,
    read_behave_split,
    read_info,
    read_kinect,
)
from hoirecon.data.readers.behave_truth import APPROX_REST_PELVIS, FrameFits, ViewTruth, read_fits, view_truth
from hoirecon.data.readers.common import (
    DatasetReader,
    LayoutError,
    SampleError,
    check_root,
    first_existing,
    image_size,
    read_optional_split,
)
from hoirecon.data.readers.evidence import (
    DEFAULT_MAX_CORRESPONDENCES,
    ObjectEvidence,
    annotation_evidence,
    check_object_evidence,
    read_object_evidence,
)
from hoirecon.data.readers.openpose import BodyKeypoints, empty_keypoints
from hoirecon.data.readers.placement import EstimatedBody, body_layout, estimate_body
from hoirecon.data.readers.records import ReaderResult
from hoirecon.data.sample import Sample
from hoirecon.objects import ObjectTemplate, load_behave_template
from hoirecon.objects.io import behave_template_file

log = logging.getLogger(__name__)

SEQUENCE_PATTERN = re.compile(r"^Date\d+_Sub\d+_")
SPLIT_FILE = "split.json"
ESTIMATE_JOINT_CONF = 0.5
"""Default confidence of estimated 22-layout joints without an OpenPose counterpart."""


def behave_templates(root: str | Path, names: Sequence[str] | None = None) -> dict[str, ObjectTemplate]:
    """Centred BEHAVE templates (with keypoints when a keypoint file sits beside the mesh).

    ``names`` defaults to every object whose template mesh is under ``root/objects``; use the
    result as ``templates=`` of :func:`read_behave` and of ``convert``.
    """
    base = Path(root) / "objects"
    if names is None:
        names = [p.name for p in sorted(base.glob("*")) if (p / behave_template_file(p.name)).is_file()]
    return {name: load_behave_template(root, name) for name in names}


class BehaveReader(DatasetReader):
    """Iterate a BEHAVE tree for :class:`ReaderResult` s; ``problems`` lists what was skipped."""

    def __init__(self, root: str | Path, split: str | None = None, *, sequences: Sequence[str] | None = None,
                 views: Sequence[int] | None = None, body_model: BodyModels = None,
                 templates: Mapping[str, ObjectTemplate] | None = None, images: bool = True,
                 require_masks: bool = True, min_keypoint_conf: float = 0.0,
                 rest_pelvis: np.ndarray | None = None, object_evidence: str = "estimate",
                 estimate_joint_conf: float = ESTIMATE_JOINT_CONF,
                 max_correspondences: int = DEFAULT_MAX_CORRESPONDENCES,
                 object_mask_names: Sequence[str] = OBJECT_MASK_NAMES, truth: bool = True,
                 split_file: str | Path | None = None) -> None:
        super().__init__()
        if split not in (None, "train", "test"):
            raise ValueError(f"split: expected 'train', 'test' or None, got {split!r}")
        if not 0.0 <= estimate_joint_conf <= 1.0:
            raise ValueError(f"estimate_joint_conf: expected a value in [0, 1], got {estimate_joint_conf}")
        if max_correspondences < 0:
            raise ValueError(f"max_correspondences: expected a non-negative integer, got {max_correspondences}")
        self.root = check_root(root, "BEHAVE")
        self.seq_root, self.calib_root = self._find_layout()
        self.evidence_root = self.seq_root.parent if self.seq_root.name == "sequences" else self.root
        self.split, self.views = split, None if views is None else {int(v) for v in views}
        self.sequence_names = None if sequences is None else set(sequences)
        self.body_model = body_model
        self.templates: dict[str, ObjectTemplate | None] = dict(templates or {})
        self.images, self.require_masks, self.min_conf = images, require_masks, min_keypoint_conf
        self.rest_pelvis = None if rest_pelvis is None else np.asarray(rest_pelvis, dtype=np.float64).reshape(3)
        self.object_evidence = check_object_evidence(object_evidence)
        if not truth and self.object_evidence == "annotation":
            raise ValueError("object_evidence='annotation' reads the object fits, which truth=False forbids")
        self.truth = truth
        self.split_path = self.root / SPLIT_FILE if split_file is None else Path(split_file)
        self.joint_conf, self.max_corr = estimate_joint_conf, max_correspondences
        self.mask_names = tuple(object_mask_names)
        if not self.mask_names:
            raise ValueError("object_mask_names: expected at least one mask name")
        self.split_sets = self._read_split()
        if body_model is None:
            log.info("no body model: FrankMocap estimates cannot be placed and samples have no gt")

    def _find_layout(self) -> tuple[Path, Path]:
        """(folder of the sequences, calibration folder)."""
        if (self.root / "sequences").is_dir():
            return self.root / "sequences", self.root / "calibs"
        if any(SEQUENCE_PATTERN.match(p.name) for p in self.root.iterdir() if p.is_dir()):
            calibs = self.root / "calibs"
            return self.root, calibs if calibs.is_dir() else self.root.parent / "calibs"
        raise LayoutError(f"{self.root}: not a BEHAVE root (no sequences/ folder and no "
                          "Date<xx>_Sub<xx>_<object>_<action> sequence folders)")

    def _read_split(self) -> dict[str, set[str]]:
        return read_optional_split(self.split_path, self.split, read_behave_split)

    def _sequence_split(self, name: str) -> str:
        return "test" if name in self.split_sets.get("test", set()) else "train"

    def _walk(self) -> Iterator[ReaderResult]:
        found = sorted(p for p in self.seq_root.iterdir() if p.is_dir() and SEQUENCE_PATTERN.match(p.name))
        for name in sorted((self.sequence_names or set()) - {p.name for p in found}):
            self.report(self.seq_root / name, "requested sequence not found")
        for seq in found:
            if self.sequence_names is not None and seq.name not in self.sequence_names:
                continue
            if self.split is not None and self._sequence_split(seq.name) != self.split:
                continue
            yield from self._sequence(seq)

    def _cameras(self, info: SequenceInfo) -> dict[int, KinectCamera]:
        cameras = {}
        for k in info.kinects:
            if self.views is not None and k not in self.views:
                continue
            try:
                cameras[k] = read_kinect(info, k)
            except SampleError as err:
                self.report_error(err, f"camera k{k} of sequence {info.name}")
        return cameras

    def _sequence(self, seq: Path) -> Iterator[ReaderResult]:
        try:
            info = read_info(seq, self.calib_root)
        except SampleError as err:
            self.report_error(err, f"sequence {seq.name}")
            return
        cameras = self._cameras(info)
        for frame in sorted(p for p in seq.iterdir() if p.is_dir() and p.name.startswith("t")):
            if not cameras:
                return
            fits = self._fits(frame, info)
            for k, camera in cameras.items():
                try:
                    yield self._view(frame, k, camera, fits, info)
                except SampleError as err:
                    self.report_error(err, f"view k{k} of frame {seq.name}/{frame.name}")

    @property
    def pelvis_exact(self) -> bool:
        """Whether the true pelvis comes from a body model or the caller (else the approximation)."""
        return self.body_model is not None or self.rest_pelvis is not None

    def _fits(self, frame: Path, info: SequenceInfo) -> FrameFits | None:
        """The frame's fits (ground truth), or None (reported) when they cannot be read; never
        read with ``truth=False``."""
        if not self.truth:
            return None
        try:
            return read_fits(frame, info, pick_body_model(self.body_model, info.gender), self.rest_pelvis)
        except SampleError as err:
            self.report(err.path, f"{err.message} (frame {info.name}/{frame.name} read without ground truth)")
            return None

    def _paths(self, frame: Path, k: int, camera: KinectCamera) -> tuple[Path | None, tuple[int, int], Path | None, Path | None]:
        """(image, (width, height), person mask, object mask) of one view."""
        image = frame / f"k{k}.color.jpg"
        if not image.is_file():
            if self.images:
                raise SampleError(image, "image not found (pass images=False to read without images)")
            image = None
        size = camera.size or (image_size(image) if image is not None else (0, 0))
        person, obj = person_mask_file(frame, k), object_mask_file(frame, k, self.mask_names)
        if self.require_masks and (person is None or obj is None):
            missing = frame / (f"k{k}.person_mask.jpg" if person is None else f"k{k}.{self.mask_names[0]}.png")
            raise SampleError(missing, "mask not found (pass require_masks=False to read without masks)")
        return image, size, person, obj

    def _person(self, frame: Path, k: int, info: SequenceInfo) -> tuple[BodyKeypoints, Path | None]:
        """The view's detected body keypoints and their file (confidence 0 without a usable one)."""
        path = first_existing(person_keypoint_files(self.evidence_root, info.name, frame, k))
        if path is None:
            log.debug("%s: no body keypoint file for k%d; confidences 0", frame, k)
            return empty_keypoints(), None
        try:
            return read_body_keypoints(path, self.min_conf), path
        except SampleError as err:
            self.report(err.path, f"{err.message} (body keypoints set to confidence 0)")
            return empty_keypoints(), None

    def _estimate_model(self, gender: str) -> BodyModelLike | None:
        """The model the body ESTIMATE is posed with: the neutral one, else the subject's."""
        return pick_body_model(self.body_model, "neutral") or pick_body_model(self.body_model, gender)

    def _body(self, frame: Path, k: int, K: np.ndarray, size: tuple[int, int], person: BodyKeypoints,
              info: SequenceInfo) -> EstimatedBody:
        candidates = body_estimate_files(frame, k)
        path = first_existing(candidates)
        if path is None:
            raise SampleError(frame, f"no body estimate for k{k} (looked for {', '.join(p.name for p in candidates)}); "
                                     "the camera and the 22-joint layout come from one")
        return estimate_body(path, self._estimate_model(info.gender), K, size, APPROX_REST_PELVIS,
                             person.smpl, person.smpl_conf)

    def _template(self, name: str) -> ObjectTemplate | None:
        """The object's template: the caller's, else the release's ``objects/`` (cached)."""
        if name not in self.templates:
            root = next((r for r in (self.root, self.seq_root.parent) if (r / "objects" / name).is_dir()), None)
            try:
                self.templates[name] = None if root is None else load_behave_template(root, name)
            except (ValueError, OSError) as err:
                log.info("object %s: no template (%s); no keypoint rows, no pose correspondences", name, err)
                self.templates[name] = None
        return self.templates[name]

    def _object(self, frame: Path, k: int, K: np.ndarray, info: SequenceInfo, truth: ViewTruth | None) -> ObjectEvidence:
        template, keypoints = self._template(info.object_name), self._keypoints(info.object_name)
        vertices = None if template is None else template.vertices
        options = {"template_keypoints": keypoints, "vertices": vertices, "max_correspondences": self.max_corr}
        if self.object_evidence == "annotation":
            if truth is None:
                raise SampleError(frame, "object_evidence='annotation' needs the object fit, which is unavailable")
            return annotation_evidence(truth.object_camera, len(keypoints), K, **options)
        files = object_evidence_files(self.evidence_root, info.name, frame, k, info.object_name)
        evidence = read_object_evidence(files, len(keypoints), K, **options)
        if not evidence.found:
            raise SampleError(frame, f"k{k}: {evidence.missing(files)}; never filled from the object fit")
        return evidence

    def _keypoints(self, name: str) -> np.ndarray:
        """(k, 3) the object template's keypoints (k = 0 without a template)."""
        template = self._template(name)
        return np.zeros((0, 3)) if template is None else np.asarray(template.keypoints, dtype=np.float64)

    def _layout(self, body: EstimatedBody, person: BodyKeypoints, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 22 joint rows: the estimate's joints projected, else OpenPose's mapped rows."""
        if body.joints is None:
            return person.smpl, person.smpl_conf
        return body_layout(body.joints, body.placed, K, detected_joint_conf(person), self.joint_conf)

    def _view(self, frame: Path, k: int, camera: KinectCamera, fits: FrameFits | None,
              info: SequenceInfo) -> ReaderResult:
        image, size, person_mask, object_mask = self._paths(frame, k, camera)
        K = camera.intrinsics
        truth = None if fits is None else view_truth(fits, camera, info.gender, self._keypoints(info.object_name))
        person, person_file = self._person(frame, k, info)
        body = self._body(frame, k, K, size, person, info)
        obj = self._object(frame, k, K, info, truth)
        layout, layout_conf = self._layout(body, person, K)
        conf = np.concatenate([layout_conf, obj.keypoints[:, 2]])
        cam_rotation, cam_center = body.camera()
        e = body.estimate
        sample = Sample(
            image_id=f"{info.name}_{frame.name}_k{k}", category=info.object_name,
            split=self._sequence_split(info.name), image_path=image, human_mask_path=person_mask,
            object_mask_path=object_mask, image_size=size,
            keypoints_2d=np.concatenate([layout, obj.keypoints[:, :2]]), keypoint_conf=conf,
            keypoint_visible=conf > 0, coco_keypoints=person.coco, intrinsics=K, cam_rotation=cam_rotation,
            cam_center=cam_center, gt=None if truth is None else truth.gt,
            estimate=obj.estimate(e.betas, e.body_pose, e.global_orient, body.placed.transl))
        files = (*([] if person_file is None else [str(person_file)]), str(body.path), *obj.files)
        return ReaderResult(
            sample=sample, source=body.path, sequence=info.name, frame=frame.name, view=f"k{k}",
            body=None if truth is None else truth.body, object_pose=None if truth is None else truth.object_human,
            object_pose_camera=None if truth is None else truth.object_camera, est_body=body.params(),
            est_object_pose_camera=obj.pose if self.object_evidence == "estimate" else truth.object_camera,
            pelvis_exact=self.pelvis_exact, object_evidence=self.object_evidence, evidence_files=files)


def read_behave(root: str | Path, split: str | None = None, *, sequences: Sequence[str] | None = None,
                views: Sequence[int] | None = None, body_model: BodyModels = None,
                templates: Mapping[str, ObjectTemplate] | None = None, images: bool = True,
                require_masks: bool = True, min_keypoint_conf: float = 0.0,
                rest_pelvis: np.ndarray | None = None, object_evidence: str = "estimate",
                estimate_joint_conf: float = ESTIMATE_JOINT_CONF,
                max_correspondences: int = DEFAULT_MAX_CORRESPONDENCES,
                object_mask_names: Sequence[str] = OBJECT_MASK_NAMES, truth: bool = True,
                split_file: str | Path | None = None) -> BehaveReader:
    """Open a BEHAVE tree for reading; iterate the result for :class:`ReaderResult` s.

    Args:
        root: the release root (holding ``sequences/``, ``calibs/``, ``objects/``, ``split.json``)
            or a folder of sequences.
        split: 'train', 'test' (from ``split.json``) or None (every sequence).
        sequences: only these sequence names. views: only these camera ids (default all).
        body_model: SMPL-H model, or a mapping gender -> model (the 'neutral' one, else the
            subject's, poses the body estimate). Needed to place FrankMocap estimates, to
            project the estimated joints and for the ground truth.
        templates: object name -> template (e.g. from ``load_behave_template``); default the
            release's ``objects/`` meshes. Its keypoints are the object keypoint rows and its
            vertices carry the correspondences of an estimated object pose.
        images / require_masks: when True a view without its image / masks is a problem.
        min_keypoint_conf: OpenPose confidences below it become 0 (the toolkit uses 0.5).
        rest_pelvis: (3,) the subject's rest pelvis for the true human frame without a model.
        object_evidence: 'estimate' (estimator files; a view without any is skipped) or
            'annotation' (the projected object fit, the paper's training setting).
        estimate_joint_conf: confidence of estimated joints without an OpenPose counterpart.
        max_correspondences: correspondences kept per view (the strongest).
        object_mask_names: object mask file names ``k<k>.<name>.{png,jpg}``, in order of preference.
        truth: read the fits (``person/fit02``, ``<object>/fit01``) into ``sample.gt``; False
            never opens them (a run that must see evidence only), so samples have no gt.
        split_file: the split file (default ``<root>/split.json``).

    Raises:
        FileNotFoundError: ``root`` does not exist. LayoutError: no BEHAVE layout under it, or
        ``split`` given without a readable ``split.json``. ValueError: a bad option.
    """
    return BehaveReader(root, split, sequences=sequences, views=views, body_model=body_model,
                        templates=templates, images=images, require_masks=require_masks,
                        min_keypoint_conf=min_keypoint_conf, rest_pelvis=rest_pelvis,
                        object_evidence=object_evidence, estimate_joint_conf=estimate_joint_conf,
                        max_correspondences=max_correspondences, object_mask_names=object_mask_names,
                        truth=truth, split_file=split_file)
