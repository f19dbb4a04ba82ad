"""Reader of the BEHAVE release (``sequences/<seq>/<frame>/k<k>.*``, ``calibs/``, ``objects/``).

One sample per frame and camera, with id ``<sequence>_<frame>_k<k>`` and the BEHAVE object
name as its category (BEHAVE objects are not the built-in WildHOI categories). Keypoint rows
are the 22 SMPL joints mapped from OpenPose (see :mod:`~hoirecon.data.readers.openpose`),
then the object keypoints of a template with keypoints when one is given (the projected
ground truth, confidence 1), none by default (k = 0).

Frames: fits are in the world frame of camera k1; a camera k sees the world as
``p_k = R_k^T (p_world - t_k)`` (its config). The human frame needs the pelvis, which is
``trans + J_pelvis(betas)``.
Splits come from ``split.json`` (sequences it does not list are ``train``). With a body model (SMPL-H, per gender or one for all) that is
exact and the sample gets its ground truth (joints, object pose and keypoints). Without one,
the rest pelvis is the documented approximation :data:`APPROX_REST_PELVIS` (or the caller's
``rest_pelvis``): cameras and human-frame object poses are then off by that approximation
(a few cm), ``ReaderResult.pelvis_exact`` is False and ``sample.gt`` is None. Camera-frame
object poses (``ReaderResult.object_pose_camera``) never need the body model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.data.readers import assemble
from hoirecon.data.readers.assemble import BodyJoints, BodyModels, body_joints, pick_body_model
from hoirecon.data.readers.behave_files import (
    KinectCamera,
    PersonFit,
    SequenceInfo,
    object_mask_file,
    person_mask_file,
    read_behave_split,
    read_info,
    read_kinect,
    read_object_fit,
    read_openpose,
    read_person_fit,
)
from hoirecon.data.readers.common import (
    DatasetReader,
    LayoutError,
    SampleError,
    check_root,
    image_size,
    read_optional_split,
)
from hoirecon.data.readers.openpose import BodyKeypoints, empty_keypoints
from hoirecon.data.readers.records import BodyParams, ObjectPose, ReaderResult, axis_angle, rotmat
from hoirecon.data.sample import Sample
from hoirecon.objects import ObjectTemplate, load_behave_template
from hoirecon.objects.io import behave_template_file

log = logging.getLogger(__name__)

APPROX_REST_PELVIS = np.array([0.0, -0.23, 0.03])
"""Approximate rest pelvis of a mean-shape SMPL / SMPL-H body in the model frame (metres).

Used only without a body model; SMPL-family templates put the pelvis roughly this far below
and in front of the model origin, and shape moves it by a few centimetres more."""

SEQUENCE_PATTERN = re.compile(r"^Date\d+_Sub\d+_")
SPLIT_FILE = "split.json"


@dataclass(frozen=True)
class FrameFits:
    """The world-frame fits of one frame, with the resolved pelvis."""

    person: PersonFit
    object_world: ObjectPose
    pelvis_world: np.ndarray
    """(3,) pelvis in the world (exact with a body model)."""
    joints: BodyJoints | None
    """Human-frame joints, with a body model."""


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
                 rest_pelvis: np.ndarray | None = None) -> None:
        super().__init__()
        if split not in (None, "train", "test"):
            raise ValueError(f"split: expected 'train', 'test' or None, got {split!r}")
        self.root = check_root(root, "BEHAVE")
        self.seq_root, self.calib_root = self._find_layout()
        self.split, self.views = split, None if views is None else {int(v) for v in views}
        self.sequence_names = None if sequences is None else set(sequences)
        self.body_model, self.templates = body_model, dict(templates or {})
        self.images, self.require_masks, self.min_conf = images, require_masks, min_keypoint_conf
        self.rest_pelvis = None if rest_pelvis is None else np.asarray(rest_pelvis, dtype=np.float64).reshape(3)
        self.split_sets = self._read_split()
        if body_model is None and rest_pelvis is None:
            log.info("no body model: BEHAVE human frames use an approximate pelvis and samples have no gt")

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
        return read_optional_split(self.root / SPLIT_FILE, self.split, read_behave_split)

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
            try:
                fits = self._fits(frame, info)
            except SampleError as err:
                self.report_error(err, f"frame {seq.name}/{frame.name}")
                continue
            for k, camera in cameras.items():
                try:
                    yield self._view(frame, k, camera, fits, info)
                except SampleError as err:
                    self.report_error(err, f"view k{k} of frame {seq.name}/{frame.name}")

    @property
    def pelvis_exact(self) -> bool:
        """Whether the pelvis comes from a body model or the caller (else the approximation)."""
        return self.body_model is not None or self.rest_pelvis is not None

    def _fits(self, frame: Path, info: SequenceInfo) -> FrameFits:
        person = read_person_fit(frame)
        _, obj = read_object_fit(frame, info.object_name)
        model = pick_body_model(self.body_model, info.gender)
        joints = None if model is None else body_joints(model, person.betas, person.pose[3:66])
        rest = joints.rest_pelvis if joints is not None else (
            self.rest_pelvis if self.rest_pelvis is not None else APPROX_REST_PELVIS)
        return FrameFits(person, obj, person.trans + rest, joints)

    def _paths(self, frame: Path, k: int, camera: KinectCamera) -> tuple[Path | None, tuple[int, int], Path | None, Path | None]:
        """(image, (width, height), person mask, object mask) of one view."""
        image = frame / f"k{k}.color.jpg"
        if not image.is_file():
            if self.images:
                raise SampleError(image, "image not found (pass images=False to read without images)")
            image = None
        size = camera.size or (image_size(image) if image is not None else (0, 0))
        person, obj = person_mask_file(frame, k), object_mask_file(frame, k)
        if self.require_masks and (person is None or obj is None):
            missing = frame / (f"k{k}.person_mask.jpg" if person is None else f"k{k}.obj_rend_mask.png")
            raise SampleError(missing, "mask not found (pass require_masks=False to read without masks)")
        return image, size, person, obj

    def _openpose(self, frame: Path, k: int) -> BodyKeypoints:
        path = frame / f"k{k}.color.json"
        if not path.is_file():
            log.debug("%s: no OpenPose file; body keypoints get confidence 0", path)
            return empty_keypoints()
        try:
            return read_openpose(path, self.min_conf)
        except SampleError as err:
            self.report(err.path, f"{err.message} (body keypoints set to confidence 0)")
            return empty_keypoints()

    def _view(self, frame: Path, k: int, camera: KinectCamera, fits: FrameFits, info: SequenceInfo) -> ReaderResult:
        image, size, person_mask, object_mask = self._paths(frame, k, camera)
        pose = fits.person.pose
        rotation = camera.rotation.T @ rotmat(pose[:3])
        pelvis = camera.world_to_camera(fits.pelvis_world[None])[0]
        body = BodyParams("smplh", info.gender, fits.person.betas, pose[3:66], axis_angle(rotation),
                          pelvis, pose[66:111], pose[111:156])
        obj_cam = ObjectPose(camera.rotation.T @ fits.object_world.rotation,
                             camera.world_to_camera(fits.object_world.translation[None])[0])
        obj_human = obj_cam.camera_to_human(body)
        template_kps = self._template_keypoints(info.object_name)
        kp = self._keypoints(frame, k, obj_cam, template_kps, camera.intrinsics)
        cam_rotation, cam_center = assemble.camera_in_human_frame(rotation, pelvis)
        gt = None if fits.joints is None else assemble.ground_truth(body, fits.joints, obj_human, template_kps)
        sample = Sample(
            image_id=f"{info.name}_{frame.name}_k{k}", category=info.object_name,
            split=self._sequence_split(info.name), image_path=image, human_mask_path=person_mask,
            object_mask_path=object_mask, image_size=size, keypoints_2d=kp[0], keypoint_conf=kp[1],
            keypoint_visible=kp[1] > 0, coco_keypoints=kp[2], intrinsics=camera.intrinsics,
            cam_rotation=cam_rotation, cam_center=cam_center, gt=gt)
        return ReaderResult(sample=sample, source=fits.person.path, sequence=info.name, frame=frame.name,
                            view=f"k{k}", body=body, object_pose=obj_human, object_pose_camera=obj_cam,
                            pelvis_exact=self.pelvis_exact)

    def _template_keypoints(self, name: str) -> np.ndarray:
        template = self.templates.get(name)
        return np.zeros((0, 3)) if template is None else np.asarray(template.keypoints, dtype=np.float64)

    def _keypoints(self, frame: Path, k: int, obj_cam: ObjectPose, template_kps: np.ndarray,
                   K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keypoints (22+k, 2), confidences (22+k,), COCO (17, 3)) of one view."""
        body = self._openpose(frame, k)
        points = obj_cam.apply(template_kps)
        in_front = points[:, 2] > 1e-6
        pixels = np.zeros((len(points), 2))
        if in_front.any():
            pixels[in_front] = assemble.project(points[in_front], K)
        keypoints = np.concatenate([body.smpl, pixels])
        conf = np.concatenate([body.smpl_conf, in_front.astype(np.float64)])
        return keypoints, conf, body.coco


def read_behave(root: str | Path, split: str | None = None, *, sequences: Sequence[str] | None = None,
                views: Sequence[int] | None = None, body_model: BodyModels = None,
                templates: Mapping[str, ObjectTemplate] | None = None, images: bool = True,
                require_masks: bool = True, min_keypoint_conf: float = 0.0,
                rest_pelvis: np.ndarray | None = None) -> BehaveReader:
    """Open a BEHAVE tree for reading; iterate the result for :class:`ReaderResult` s.

    Args:
        root: the release root (holding ``sequences/``, ``calibs/``, ``objects/``, ``split.json``)
            or a folder of sequences.
        split: 'train', 'test' (from ``split.json``) or None (every sequence).
        sequences: only these sequence names. views: only these camera ids (default all).
        body_model: SMPL-H model, or a mapping gender -> model; gives exact human frames and gt.
        templates: object name -> template (e.g. from ``load_behave_template``) whose keypoints
            become the object keypoint rows; default none (k = 0).
        images / require_masks: when True a view without its image / masks is a problem.
        min_keypoint_conf: OpenPose confidences below it become 0 (the toolkit uses 0.5).
        rest_pelvis: (3,) rest pelvis to use instead of :data:`APPROX_REST_PELVIS` without a model.

    Raises:
        FileNotFoundError: ``root`` does not exist. LayoutError: no BEHAVE layout under it, or
        ``split`` given without a readable ``split.json``.
    """
    return BehaveReader(root, split, sequences=sequences, views=views, body_model=body_model,
                        templates=templates, images=images, require_masks=require_masks,
                        min_keypoint_conf=min_keypoint_conf, rest_pelvis=rest_pelvis)
