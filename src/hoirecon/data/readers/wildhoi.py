"""Reader of the WildHOI release (``<root>/<object>/hoi_kps|smpler_x|object_pose|test``).

One sample per frame of each tracked person-object pair, with id ``<video>_<hoi>_<frame>``.
What each release field is, following the release's preparation pipeline and the paper (Sec. 4):

==========================================  ==============  =========================================
field                                       what it is      becomes
==========================================  ==============  =========================================
``hoi_kps`` ``smpl_kps_seq``                estimate        ``keypoints_2d[:22]`` (confidence 1): the
                                                            SMPL-X joints of SMPLer-X tuned to ViTPose
                                                            keypoints, projected
``hoi_kps`` ``cam_R_seq``, ``cam_T_seq``    estimate        ``cam_rotation``, ``cam_center``: the
                                                            global pose of that same SMPL-X estimate
``hoi_kps`` ``focal_seq``, ``princpt_seq``  camera model    ``intrinsics``
``smpler_x/<video>/<hoi>_smplx.pkl``        estimate        ``est_betas`` ... ``est_transl``
``hoi_kps`` ``object_kps_seq``              ANNOTATION      the projection of ``obj_RT``: object
                                                            keypoint rows only with
                                                            ``object_evidence="annotation"``
``object_pose/<video>/<hoi>_obj_RT.pkl``    ANNOTATION      the object 6D pose labels (annotators and
                                                            a model trained on their 2D-3D clicks,
                                                            reviewed): ``annotated_object_pose_camera``
                                                            always; object evidence only with
                                                            ``object_evidence="annotation"``
``test/<video>_<hoi>_<frame>.pkl``          ground truth    ``gt_*``; its camera (``hoi_rotmat`` /
                                                            ``hoi_trans``) ``gt_cam_rotation`` /
                                                            ``gt_cam_center``; its ``focal`` /
                                                            ``princpt`` are not used
==========================================  ==============  =========================================

Object evidence (``object_evidence``): ``"estimate"`` (default) reads an object estimator's
files, ours beside the release: ``<object>/object_evidence/<video>/<hoi>/<frame>.obj_coor.pkl``
(EPro-PnP / StackFLOW pickle), ``.obj_coor.json``, ``.obj_keypoints.json`` or ``.obj_pose.json``
(:mod:`~hoirecon.data.readers.wildhoi_evidence`); a frame without any is reported and skipped (a
track without that folder once for all its frames). ``"annotation"`` uses the annotated
``object_kps_seq`` and ``obj_RT`` instead (the paper trains on them), for every frame; a
converted dataset's manifest records the choice. Splits: a frame with a test annotation is
``test``; other frames follow ``train_test_split.json`` (unlisted videos are ``train``).
``split="test"`` yields exactly the annotated benchmark frames.

Without a body model, ground truth and estimates are kept in the result's records
(:class:`~hoirecon.data.readers.records.BodyParams`, object poses) but ``sample.gt`` and
``sample.estimate`` stay None: joints and the model's ``transl`` need the model. Ground truth
also needs the category's template in the frame of WildHOI's own (vertex-mean centred) mesh,
passed as ``templates``, to place the object keypoints; the built-in procedural templates are
not in that frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.data.readers import assemble
from hoirecon.data.readers.assemble import BodyModels, body_joints, pick_body_model
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
    check_object_evidence,
    read_object_evidence,
)
from hoirecon.data.readers.records import BodyParams, ObjectPose, ReaderResult, axis_angle, nearest_rotation
from hoirecon.data.readers.wildhoi_evidence import evidence_dir, frame_evidence_files, labelled_evidence
from hoirecon.data.readers.wildhoi_files import (
    WILDHOI_FOLDERS,
    KeypointTrack,
    RawEstimate,
    TestAnnotation,
    index_estimates,
    parse_estimate,
    read_keypoint_track,
    read_object_poses,
    read_split_file,
    read_test_annotation,
    wildhoi_folder,
)
from hoirecon.data.sample import Estimate, GroundTruth, Sample
from hoirecon.objects import KEYPOINT_COUNTS, ObjectTemplate

SPLIT_FILE = "train_test_split.json"
SPLITS = ("train", "test")


@dataclass
class _Track:
    """One person-object pair of one video, with its optional estimate files."""

    base: Path
    folder: str
    category: str
    video: str
    hoi: str
    kps: KeypointTrack
    estimates: dict[str, Any] = field(default_factory=dict)
    estimate_file: Path | None = None
    object_poses: dict[str, ObjectPose] = field(default_factory=dict)
    """Annotated object poses (``obj_RT``) by frame."""

    @property
    def evidence_dir(self) -> Path:
        """This track's folder of object evidence files."""
        return evidence_dir(self.base, self.video, self.hoi)


class WildHOIReader(DatasetReader):
    """Iterate a WildHOI tree for :class:`ReaderResult` s; ``problems`` lists what was skipped."""

    def __init__(self, root: str | Path, category: str | None = None, split: str | None = None, *,
                 body_model: BodyModels = None, templates: Mapping[str, ObjectTemplate] | None = None,
                 images: bool = True, frame_step: int = 1, object_evidence: str = "estimate",
                 max_correspondences: int = DEFAULT_MAX_CORRESPONDENCES) -> None:
        super().__init__()
        if split not in (None, *SPLITS):
            raise ValueError(f"split: expected 'train', 'test' or None, got {split!r}")
        if frame_step < 1:
            raise ValueError(f"frame_step: expected a positive integer, got {frame_step}")
        if max_correspondences < 0:
            raise ValueError(f"max_correspondences: expected a non-negative integer, got {max_correspondences}")
        self.root = check_root(root, "WildHOI")
        self.split, self.images, self.frame_step = split, images, frame_step
        self.object_evidence = check_object_evidence(object_evidence)
        self.max_corr = max_correspondences
        self.body_model = pick_body_model(body_model, "neutral")
        self.templates = dict(templates or {})
        for name, template in self.templates.items():
            if template.num_keypoints != KEYPOINT_COUNTS.get(name, -1):
                raise ValueError(f"templates[{name!r}]: {template.num_keypoints} keypoints, WildHOI "
                                 f"annotates {KEYPOINT_COUNTS.get(name, 'no such category')}")
        self.folders = self._find_folders(category)
        self.video_splits = self._read_splits()

    def _find_folders(self, category: str | None) -> list[str]:
        """Category folders to read; a requested one must exist."""
        def usable(folder: str) -> bool:
            return (self.root / folder / "hoi_kps").is_dir() or (self.root / folder / "test").is_dir()

        if category is not None:
            folder = wildhoi_folder(category)
            if not usable(folder):
                raise LayoutError(f"{self.root / folder}: no WildHOI category folder with hoi_kps/ or test/")
            return [folder]
        found = [f for f in WILDHOI_FOLDERS if usable(f)]
        if not found:
            raise LayoutError(f"{self.root}: not a WildHOI root (no <object>/hoi_kps/ or <object>/test/ "
                              f"for any of {', '.join(WILDHOI_FOLDERS)})")
        return found

    def _read_splits(self) -> dict[str, dict[str, set[str]]]:
        return read_optional_split(self.root / SPLIT_FILE, self.split, read_split_file)

    def _walk(self) -> Iterator[ReaderResult]:
        for folder in self.folders:
            yield from self._category(folder, WILDHOI_FOLDERS[folder])

    def _test_index(self, base: Path) -> dict[tuple[str, str, str], Path]:
        """``(video, hoi, frame) -> annotation file`` of a category's ``test/`` folder."""
        index = {}
        for path in sorted((base / "test").glob("*.pkl")):
            parts = path.stem.split("_")
            if len(parts) != 3:
                self.report(path, "name is not <video>_<hoi>_<frame>.pkl (skipped)")
                continue
            index[(parts[0], parts[1], parts[2])] = path
        return index

    def _frame_split(self, folder: str, video: str, annotated: bool) -> str:
        if annotated:
            return "test"
        lists = self.video_splits.get(folder, {})
        return "test" if video in lists.get("test", set()) else "train"

    def _category(self, folder: str, category: str) -> Iterator[ReaderResult]:
        base = self.root / folder
        tests = self._test_index(base)
        annotated_videos = {(v, h) for v, h, _ in tests}
        used: set[tuple[str, str, str]] = set()
        for path in sorted(base.glob("hoi_kps/*/*_hoi_kps.pkl")):
            video, hoi = path.parent.name, path.name.removesuffix("_hoi_kps.pkl")
            if self.split == "test" and (video, hoi) not in annotated_videos:
                continue
            if self.split == "train" and self._frame_split(folder, video, False) == "test":
                continue
            track = self._load_track(base, folder, category, video, hoi, path)
            if track is not None:
                yield from self._track_frames(track, tests, used)
        if self.split != "train":
            for key in sorted(set(tests) - used):
                self.report(tests[key], f"no hoi_kps frame for this test annotation in "
                                        f"{base / 'hoi_kps' / key[0]} (skipped)")

    def _load_track(self, base: Path, folder: str, category: str, video: str, hoi: str,
                    path: Path) -> _Track | None:
        try:
            kps = read_keypoint_track(path, KEYPOINT_COUNTS[category])
        except SampleError as err:
            self.report_error(err, f"sequence {video}_{hoi}")
            return None
        track = _Track(base, folder, category, video, hoi, kps)
        est_file = base / "smpler_x" / video / f"{hoi}_smplx.pkl"
        if est_file.is_file():
            try:
                track.estimates, track.estimate_file = index_estimates(est_file), est_file
            except SampleError as err:
                self.report(err.path, f"{err.message} (estimates of {video}_{hoi} ignored)")
        pose_file = base / "object_pose" / video / f"{hoi}_obj_RT.pkl"
        if pose_file.is_file():
            try:
                track.object_poses = read_object_poses(pose_file, kps.frame_ids)
            except SampleError as err:
                self.report(err.path, f"{err.message} (object poses of {video}_{hoi} ignored)")
        return track

    def _selected(self, track: _Track, tests: dict[tuple[str, str, str], Path]
                  ) -> list[tuple[int, str, Path | None]]:
        """(index, split, test annotation) of the track's frames this reader yields."""
        selected = []
        for i, frame in enumerate(track.kps.frame_ids):
            annotation = tests.get((track.video, track.hoi, frame))
            split = self._frame_split(track.folder, track.video, annotation is not None)
            if self.split is not None and split != self.split:
                continue
            if self.split == "test" and annotation is None:
                continue
            if annotation is None and i % self.frame_step:
                continue
            selected.append((i, split, annotation))
        return selected

    def _track_frames(self, track: _Track, tests: dict[tuple[str, str, str], Path],
                      used: set[tuple[str, str, str]]) -> Iterator[ReaderResult]:
        selected = self._selected(track, tests)
        used.update((track.video, track.hoi, track.kps.frame_ids[i]) for i, _, _ in selected)
        if selected and self.object_evidence == "estimate" and not track.evidence_dir.is_dir():
            self.report(track.evidence_dir, f"no object evidence folder: {len(selected)} frame(s) of "
                                            f"{track.video}_{track.hoi} skipped (the annotated object poses are "
                                            "evidence only with object_evidence='annotation')")
            return
        for i, split, annotation in selected:
            try:
                yield self._frame(track, i, split, annotation)
            except SampleError as err:
                self.report_error(err, f"frame {track.video}_{track.hoi}_{track.kps.frame_ids[i]}")

    def _image(self, track: _Track, frame: str) -> tuple[Path | None, tuple[int, int]]:
        names = [track.base / d / track.video / f"{frame}{ext}"
                 for d in ("images_temp", "images") for ext in (".jpg", ".png")]
        path = first_existing(names)
        if path is not None:
            return path, image_size(path)
        if self.images:
            raise SampleError(names[0], "image not found (pass images=False to read keypoints only)")
        return None, (0, 0)

    def _camera(self, kps: KeypointTrack, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rotation (3, 3), pelvis (3,), K (3, 3)) of frame ``i``: the release's camera, derived
        from the body estimate, never the test annotation's."""
        if not (np.isfinite(kps.cam_R[i]).all() and np.isfinite(kps.cam_T[i]).all()):
            raise SampleError(kps.path, f"frame {kps.frame_ids[i]}: camera contains NaN")
        K = assemble.intrinsics_matrix(kps.focal[i][0], kps.focal[i][1], kps.princpt[i][0], kps.princpt[i][1])
        return nearest_rotation(kps.cam_R[i]), kps.cam_T[i], K

    def _frame(self, track: _Track, i: int, split: str, annotation_file: Path | None) -> ReaderResult:
        kps, frame = track.kps, track.kps.frame_ids[i]
        if not np.isfinite(kps.body[i]).all():
            raise SampleError(kps.path, f"frame {frame}: keypoints contain NaN (no fit for this frame)")
        rotation, pelvis, K = self._camera(kps, i)
        ann = read_test_annotation(annotation_file) if annotation_file is not None else None
        obj = self._object(track, i, K)
        image_path, size = self._image(track, frame)
        true_rotation, true_pelvis = (rotation, pelvis) if ann is None or ann.camera is None else ann.camera
        body = None if ann is None else BodyParams(
            "smplx", "neutral", ann.betas, ann.body_pose, axis_angle(true_rotation), true_pelvis,
            ann.left_hand_pose, ann.right_hand_pose)
        est_body, est = self._estimate(track, frame, obj)
        cam_rotation, cam_center = assemble.camera_in_human_frame(rotation, pelvis)
        conf = np.concatenate([np.ones(len(kps.body[i])), obj.keypoints[:, 2]])
        sample = Sample(
            image_id=f"{track.video}_{track.hoi}_{frame}", category=track.category, split=split,
            image_path=image_path, human_mask_path=None, object_mask_path=None, image_size=size,
            keypoints_2d=np.concatenate([kps.body[i], obj.keypoints[:, :2]]), keypoint_conf=conf,
            keypoint_visible=conf > 0, coco_keypoints=np.zeros((17, 3)), intrinsics=K, cam_rotation=cam_rotation,
            cam_center=cam_center, gt=self._ground_truth(body, ann, track.category), estimate=est)
        annotated = track.object_poses.get(frame)
        return ReaderResult(
            sample=sample, source=annotation_file or kps.path, sequence=f"{track.video}_{track.hoi}",
            frame=frame, body=body, object_pose=None if ann is None else ann.object_pose,
            object_pose_camera=None if ann is None else ann.object_pose.human_to_camera(body),
            est_body=est_body, est_object_pose_camera=obj.pose if self.object_evidence == "estimate" else annotated,
            annotated_object_pose_camera=annotated, bbox=self._bbox(track, frame),
            object_articulation=None if ann is None else ann.articulation,
            object_evidence=self.object_evidence, evidence_files=(str(kps.path), *obj.files))

    def _object(self, track: _Track, i: int, K: np.ndarray) -> ObjectEvidence:
        """The frame's object evidence (see the module docstring)."""
        frame, k = track.kps.frame_ids[i], KEYPOINT_COUNTS[track.category]
        template = self.templates.get(track.category)
        options = {"template_keypoints": self._template_keypoints(track.category), "max_correspondences": self.max_corr,
                   "vertices": None if template is None else template.vertices}
        if self.object_evidence == "annotation":
            return labelled_evidence(track.kps.path, frame, track.kps.objects[i], track.object_poses.get(frame), K,
                                     **options)
        files = frame_evidence_files(track.evidence_dir, frame)
        evidence = read_object_evidence(files, k, K, **options)
        if not evidence.found:
            raise SampleError(track.evidence_dir, f"frame {frame}: {evidence.missing(files)}; "
                                                  "never filled from the annotated object pose")
        return evidence

    def _template_keypoints(self, category: str) -> np.ndarray | None:
        """(k, 3) template keypoints for ground truth / projected poses, or None without a template."""
        if KEYPOINT_COUNTS[category] == 0:
            return np.zeros((0, 3))
        template = self.templates.get(category)
        return None if template is None else np.asarray(template.keypoints, dtype=np.float64)

    def _ground_truth(self, body: BodyParams | None, ann: TestAnnotation | None,
                      category: str) -> GroundTruth | None:
        keypoints = self._template_keypoints(category)
        if body is None or ann is None or self.body_model is None or keypoints is None:
            return None
        joints = body_joints(self.body_model, body.betas, body.body_pose)
        gt = assemble.ground_truth(body, joints, ann.object_pose, keypoints)
        if ann.camera is None:
            return gt
        cam_rotation, cam_center = assemble.camera_in_human_frame(*ann.camera)
        return replace(gt, cam_rotation=cam_rotation, cam_center=cam_center)

    def _raw_estimate(self, track: _Track, frame: str) -> RawEstimate | None:
        if frame not in track.estimates:
            return None
        try:
            return parse_estimate(track.estimates[frame], track.estimate_file)
        except SampleError as err:
            self.report(err.path, f"frame {frame}: {err.message} (estimate ignored)")
            return None

    def _estimate(self, track: _Track, frame: str,
                  obj: ObjectEvidence) -> tuple[BodyParams | None, Estimate | None]:
        """The estimate record and, when its translation can be resolved, the typed estimate."""
        raw = self._raw_estimate(track, frame)
        if raw is None:
            return None, None
        rest = None
        if self.body_model is not None:
            rest = body_joints(self.body_model, raw.betas, raw.body_pose).rest_pelvis
        pelvis, transl = raw.placement(rest)
        est_body = None if pelvis is None else raw.body(pelvis)
        if transl is None:
            return est_body, None
        return est_body, obj.estimate(raw.betas, raw.body_pose, axis_angle(raw.rotation), transl)

    def _bbox(self, track: _Track, frame: str) -> np.ndarray | None:
        item = track.estimates.get(frame)
        if not isinstance(item, Mapping) or "bbox" not in item:
            return None
        bbox = np.asarray(item["bbox"], dtype=np.float64).reshape(-1)
        return bbox if bbox.shape == (4,) else None


def read_wildhoi(root: str | Path, category: str | None = None, split: str | None = None, *,
                 body_model: BodyModels = None, templates: Mapping[str, ObjectTemplate] | None = None,
                 images: bool = True, frame_step: int = 1, object_evidence: str = "estimate",
                 max_correspondences: int = DEFAULT_MAX_CORRESPONDENCES) -> WildHOIReader:
    """Open a WildHOI tree for reading; iterate the result for :class:`ReaderResult` s.

    Args:
        root: the release root, holding ``<object>/hoi_kps/`` folders and ``train_test_split.json``.
        category: one category (WildHOI folder name or ours, e.g. 'tennis' / 'tennis_racket');
            default every category found.
        split: 'train', 'test' (the annotated benchmark frames) or None (everything).
        body_model: an SMPL-X body model (or one per gender); enables ``sample.gt`` joints and
            ``sample.estimate`` translations.
        templates: per category (our names), the template in WildHOI's mesh frame; needed for
            ground-truth object keypoints and to project object poses (estimated, or annotated
            with ``object_evidence="annotation"``) to keypoints and correspondences.
        images: when True a frame without its image is a problem; when False it is read with
            ``image_path=None`` and ``image_size=(0, 0)``.
        frame_step: read every n-th frame of each track (annotated frames always).
        object_evidence: 'estimate' (object estimator files; frames without any are skipped) or
            'annotation' (the annotated ``object_kps_seq`` / ``obj_RT``, as the paper trains).
        max_correspondences: correspondences kept per frame (the strongest).

    Raises:
        FileNotFoundError: ``root`` does not exist. LayoutError: no WildHOI layout under it, or
        ``split`` given without a readable ``train_test_split.json``.
    """
    return WildHOIReader(root, category, split, body_model=body_model, templates=templates,
                         images=images, frame_step=frame_step, object_evidence=object_evidence,
                         max_correspondences=max_correspondences)

