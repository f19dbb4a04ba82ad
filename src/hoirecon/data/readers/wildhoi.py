"""Reader of the WildHOI release (``<root>/<object>/hoi_kps|smpler_x|object_pose|test``).

One sample per frame of each tracked person-object pair, with id ``<video>_<hoi>_<frame>``.
Keypoints are the release's 2D pseudo-labels (22 SMPL-X body joints, then the category's
object keypoints, all with confidence 1); the camera is the frame's ``cam_R`` / ``cam_T``
(see :mod:`~hoirecon.data.readers.wildhoi_files`), or the test annotation's own camera when it
has one. Splits: a frame with a test annotation is ``test``; other frames follow
``train_test_split.json`` (unlisted videos are ``train``). ``split="test"`` yields exactly the
annotated benchmark frames.

Without a body model, ground truth and estimates are kept in the result's records
(:class:`~hoirecon.data.readers.records.BodyParams`, object poses) but ``sample.gt`` and
``sample.estimate`` stay None: joints and the model's ``transl`` need the model. Ground truth
also needs the category's template in the frame of WildHOI's own (vertex-mean centred) mesh,
passed as ``templates``, to place the object keypoints; the built-in procedural templates are
not in that frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
from hoirecon.data.readers.records import BodyParams, ObjectPose, ReaderResult, axis_angle, nearest_rotation
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


def wildhoi_folder(name: str) -> str:
    """WildHOI folder of a category given by either naming ('tennis' or 'tennis_racket')."""
    if name in WILDHOI_FOLDERS:
        return name
    for folder, ours in WILDHOI_FOLDERS.items():
        if ours == name:
            return folder
    raise ValueError(f"unknown WildHOI category {name!r}; expected one of "
                     f"{', '.join(WILDHOI_FOLDERS)} (or {', '.join(WILDHOI_FOLDERS.values())})")


class WildHOIReader(DatasetReader):
    """Iterate a WildHOI tree for :class:`ReaderResult` s; ``problems`` lists what was skipped."""

    def __init__(self, root: str | Path, category: str | None = None, split: str | None = None, *,
                 body_model: BodyModels = None, templates: Mapping[str, ObjectTemplate] | None = None,
                 images: bool = True, frame_step: int = 1) -> None:
        super().__init__()
        if split not in (None, *SPLITS):
            raise ValueError(f"split: expected 'train', 'test' or None, got {split!r}")
        if frame_step < 1:
            raise ValueError(f"frame_step: expected a positive integer, got {frame_step}")
        self.root = check_root(root, "WildHOI")
        self.split, self.images, self.frame_step = split, images, frame_step
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

    def _track_frames(self, track: _Track, tests: dict[tuple[str, str, str], Path],
                      used: set[tuple[str, str, str]]) -> Iterator[ReaderResult]:
        for i, frame in enumerate(track.kps.frame_ids):
            key = (track.video, track.hoi, frame)
            annotation = tests.get(key)
            split = self._frame_split(track.folder, track.video, annotation is not None)
            if self.split is not None and split != self.split:
                continue
            if self.split == "test" and annotation is None:
                continue
            if annotation is None and i % self.frame_step:
                continue
            used.add(key)
            try:
                yield self._frame(track, i, split, annotation)
            except SampleError as err:
                self.report_error(err, f"frame {'_'.join(key)}")

    def _image(self, track: _Track, frame: str) -> tuple[Path | None, tuple[int, int]]:
        names = [track.base / d / track.video / f"{frame}{ext}"
                 for d in ("images_temp", "images") for ext in (".jpg", ".png")]
        path = first_existing(names)
        if path is not None:
            return path, image_size(path)
        if self.images:
            raise SampleError(names[0], "image not found (pass images=False to read keypoints only)")
        return None, (0, 0)

    def _frame(self, track: _Track, i: int, split: str, annotation_file: Path | None) -> ReaderResult:
        kps, frame = track.kps, track.kps.frame_ids[i]
        keypoints = np.concatenate([kps.body[i], kps.objects[i]])
        if not np.isfinite(keypoints).all():
            raise SampleError(kps.path, f"frame {frame}: keypoints contain NaN (no fit for this frame)")
        ann = read_test_annotation(annotation_file) if annotation_file is not None else None
        if ann is not None and ann.camera is not None:
            rotation, pelvis = ann.camera
        elif np.isfinite(kps.cam_R[i]).all() and np.isfinite(kps.cam_T[i]).all():
            rotation, pelvis = nearest_rotation(kps.cam_R[i]), kps.cam_T[i]
        else:
            raise SampleError(kps.path, f"frame {frame}: camera contains NaN")
        focal, princpt = ann.intrinsics if ann is not None and ann.intrinsics is not None \
            else (kps.focal[i], kps.princpt[i])
        K = assemble.intrinsics_matrix(focal[0], focal[1], princpt[0], princpt[1])
        image_path, size = self._image(track, frame)
        body = None if ann is None else BodyParams(
            "smplx", "neutral", ann.betas, ann.body_pose, axis_angle(rotation), pelvis,
            ann.left_hand_pose, ann.right_hand_pose)
        est_body, est = self._estimate(track, frame, K)
        cam_rotation, cam_center = assemble.camera_in_human_frame(rotation, pelvis)
        n = len(keypoints)
        sample = Sample(
            image_id=f"{track.video}_{track.hoi}_{frame}", category=track.category, split=split,
            image_path=image_path, human_mask_path=None, object_mask_path=None, image_size=size,
            keypoints_2d=keypoints, keypoint_conf=np.ones(n), keypoint_visible=np.ones(n, bool),
            coco_keypoints=np.zeros((17, 3)), intrinsics=K, cam_rotation=cam_rotation,
            cam_center=cam_center, gt=self._ground_truth(body, ann, track.category), estimate=est)
        return ReaderResult(
            sample=sample, source=annotation_file or kps.path, sequence=f"{track.video}_{track.hoi}",
            frame=frame, body=body, object_pose=None if ann is None else ann.object_pose,
            object_pose_camera=None if ann is None else ann.object_pose.human_to_camera(body),
            est_body=est_body, est_object_pose_camera=track.object_poses.get(frame),
            bbox=self._bbox(track, frame), object_articulation=None if ann is None else ann.articulation)

    def _template_keypoints(self, category: str) -> np.ndarray | None:
        """(k, 3) template keypoints for ground truth / estimates, or None without a template."""
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
        return assemble.ground_truth(body, joints, ann.object_pose, keypoints)

    def _raw_estimate(self, track: _Track, frame: str) -> RawEstimate | None:
        if frame not in track.estimates:
            return None
        try:
            return parse_estimate(track.estimates[frame], track.estimate_file)
        except SampleError as err:
            self.report(err.path, f"frame {frame}: {err.message} (estimate ignored)")
            return None

    def _estimate(self, track: _Track, frame: str,
                  K: np.ndarray) -> tuple[BodyParams | None, Estimate | None]:
        """The estimate record and, when its translation can be resolved, the typed estimate."""
        raw = self._raw_estimate(track, frame)
        if raw is None:
            return None, None
        rest = None
        if self.body_model is not None:
            rest = body_joints(self.body_model, raw.betas, raw.body_pose).rest_pelvis
        pelvis, transl = raw.pelvis_cam, raw.transl
        if pelvis is None and rest is not None:
            pelvis = transl + rest
        if transl is None and rest is not None:
            transl = pelvis - rest
        est_body = None if pelvis is None else raw.body(pelvis)
        if transl is None:
            return est_body, None
        pixels = self._object_pixels(track, frame, K)
        k = KEYPOINT_COUNTS[track.category]
        return est_body, assemble.estimate(raw.betas, raw.body_pose, raw.rotation, transl, pixels, k)

    def _object_pixels(self, track: _Track, frame: str, K: np.ndarray) -> np.ndarray | None:
        pose, keypoints = track.object_poses.get(frame), self._template_keypoints(track.category)
        if pose is None or keypoints is None:
            return None
        cam = pose.apply(keypoints)
        return assemble.project(cam, K) if (cam[:, 2] > 1e-6).all() else None

    def _bbox(self, track: _Track, frame: str) -> np.ndarray | None:
        item = track.estimates.get(frame)
        if not isinstance(item, Mapping) or "bbox" not in item:
            return None
        bbox = np.asarray(item["bbox"], dtype=np.float64).reshape(-1)
        return bbox if bbox.shape == (4,) else None


def read_wildhoi(root: str | Path, category: str | None = None, split: str | None = None, *,
                 body_model: BodyModels = None, templates: Mapping[str, ObjectTemplate] | None = None,
                 images: bool = True, frame_step: int = 1) -> WildHOIReader:
    """Open a WildHOI tree for reading; iterate the result for :class:`ReaderResult` s.

    Args:
        root: the release root, holding ``<object>/hoi_kps/`` folders and ``train_test_split.json``.
        category: one category (WildHOI folder name or ours, e.g. 'tennis' / 'tennis_racket');
            default every category found.
        split: 'train', 'test' (the annotated benchmark frames) or None (everything).
        body_model: an SMPL-X body model (or one per gender); enables ``sample.gt`` joints and
            ``sample.estimate`` translations.
        templates: per category (our names), the template in WildHOI's mesh frame; needed for
            ground-truth object keypoints and projected estimated object keypoints.
        images: when True a frame without its image is a problem; when False it is read with
            ``image_path=None`` and ``image_size=(0, 0)``.
        frame_step: read every n-th frame of each track (annotated frames always).

    Raises:
        FileNotFoundError: ``root`` does not exist. LayoutError: no WildHOI layout under it, or
        ``split`` given without a readable ``train_test_split.json``.
    """
    return WildHOIReader(root, category, split, body_model=body_model, templates=templates,
                         images=images, frame_step=frame_step)

