"""Parsers for the files of the BEHAVE release (sequence info, calibration, fits, masks, OpenPose).

Conventions, as established from the BEHAVE toolkit:

* ``<seq>/info.json``: ``cat`` (object name), ``gender``, ``kinects`` (camera ids), and
  ``config`` / ``intrinsic`` calibration folders given relative to the sequence folder.
* ``calibs/<Date>/config/<k>/config.json``: ``rotation`` (9, row-major) and ``translation`` (3)
  map camera k's colour frame into the world: ``p_world = R @ p_k + t``. The world is the
  colour frame of camera k1 (its config is the identity), and every fit is in that world.
* ``calibs/intrinsics/<k>/calibration.json``: ``color`` {fx, fy, cx, cy, width, height, ...}.
  The colour cameras also have lens distortion (``color.opencv``), which a pinhole sample
  cannot carry: it is ignored (a few pixels near the image border).
* ``person/fit02/person_fit.pkl``: SMPL-H ``pose`` (156: global orient, 21 body joints, two
  hands of 15), ``betas`` (10), ``trans`` (3). The model adds ``trans`` without re-centring,
  so the pelvis sits at ``trans + J_pelvis(betas)``, the shaped body's rest pelvis.
* ``<name>/fit01/<name>_fit.pkl``: ``angle`` (axis-angle) and ``trans``, posing the vertex-mean
  centred template as ``v @ R(angle).T + trans``. The folder is named after the object, or
  after the detector class the toolkit converts it to ('chair' for chairs, 'sports ball' for
  balls).
* ``k<k>.color.json``: OpenPose ``body_joints``, 25 x (u, v, confidence), flattened; an
  all-zero list means no detection.
* Masks ``k<k>.person_mask.{png,jpg}`` and ``k<k>.obj_rend_mask.{png,jpg}`` (older releases:
  ``k<k>.obj_mask.*``). The name says the latter are rendered, presumably from the object
  registration; a protocol that must not see it can name its own segmentation's masks instead.
  ``k<k>.obj_rend_full.{png,jpg}`` is the object's rendering without occlusion; the visible
  fraction of the object is ``|obj_rend_mask| / |obj_rend_full|`` (pixels above mid-grey), the
  ratio the RHOBIN reference calls ``occ_ratios`` and filters at 0.3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hoirecon.data.readers.common import (
    SampleError,
    array_field,
    field,
    first_existing,
    guarded,
    load_json,
    load_pickle,
)
from hoirecon.data.readers.openpose import NUM_BODY25, BodyKeypoints, empty_keypoints, from_body25
from hoirecon.data.readers.records import ObjectPose, nearest_rotation, rotmat

DEFAULT_KINECTS = (0, 1, 2, 3)
PERSON_FIT = Path("person") / "fit02" / "person_fit.pkl"
OBJECT_FIT_FOLDER = "fit01"


@dataclass(frozen=True)
class SequenceInfo:
    """What ``info.json`` says about a sequence, with calibration folders resolved."""

    name: str
    path: Path
    object_name: str
    gender: str
    kinects: tuple[int, ...]
    config_dir: Path
    intrinsics_dir: Path


@dataclass(frozen=True)
class KinectCamera:
    """One colour camera: pinhole intrinsics and its pose in the world (camera k1's frame)."""

    intrinsics: np.ndarray
    """(3, 3)."""
    size: tuple[int, int] | None
    """(width, height) when the calibration gives it."""
    rotation: np.ndarray
    """(3, 3) camera -> world."""
    translation: np.ndarray
    """(3,) camera centre in the world."""

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (P, 3) -> this camera's frame (P, 3)."""
        return (points - self.translation) @ self.rotation


@dataclass(frozen=True)
class PersonFit:
    """An SMPL-H fit in the world frame."""

    path: Path
    pose: np.ndarray
    """(156,) axis-angle: global orientation, 21 body joints, left hand, right hand."""
    betas: np.ndarray
    """(10,)."""
    trans: np.ndarray
    """(3,) model translation (pelvis = trans + rest pelvis)."""


def detector_class(object_name: str) -> str:
    """The detector class the toolkit names object-fit folders after ('chair', 'sports ball')."""
    if "chair" in object_name:
        return "chair"
    if "ball" in object_name:
        return "sports ball"
    return object_name


def _calib_dir(seq: Path, given: object, fallback: Path) -> Path:
    """A calibration folder from info.json (relative to the sequence), else the standard place."""
    if isinstance(given, str) and given:
        candidate = (seq / given).resolve()
        if candidate.is_dir():
            return candidate
    return fallback


@guarded(lambda seq, *_: seq / "info.json")
def read_info(seq: Path, calib_root: Path) -> SequenceInfo:
    """Parse ``<seq>/info.json``; missing calibration paths fall back to ``calib_root``."""
    path = seq / "info.json"
    info = load_json(path)
    name = str(field(info, "cat", path))
    kinects = tuple(int(k) for k in info.get("kinects", DEFAULT_KINECTS))
    date = seq.name.split("_")[0]
    return SequenceInfo(
        name=seq.name, path=seq, object_name=name, gender=str(info.get("gender", "neutral")),
        kinects=kinects, config_dir=_calib_dir(seq, info.get("config"), calib_root / date / "config"),
        intrinsics_dir=_calib_dir(seq, info.get("intrinsic"), calib_root / "intrinsics"),
    )


@guarded(lambda path: path)
def read_intrinsics(path: Path) -> tuple[np.ndarray, tuple[int, int] | None]:
    """``calibration.json`` -> (colour intrinsics (3, 3), (width, height) when given)."""
    color = field(load_json(path), "color", path)
    fx, fy, cx, cy = (float(array_field(color, key, (1,), path)[0]) for key in ("fx", "fy", "cx", "cy"))
    size = (int(color["width"]), int(color["height"])) if "width" in color and "height" in color else None
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]), size


@guarded(lambda path: path)
def read_config(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``config.json`` -> (camera -> world rotation (3, 3), camera centre in the world (3,))."""
    config = load_json(path)
    rotation = nearest_rotation(array_field(config, "rotation", (3, 3), path))
    return rotation, array_field(config, "translation", (3,), path)


def read_kinect(info: SequenceInfo, k: int) -> KinectCamera:
    """Intrinsics and pose of camera ``k`` of a sequence (errors name the file at fault)."""
    K, size = read_intrinsics(info.intrinsics_dir / str(k) / "calibration.json")
    rotation, translation = read_config(info.config_dir / str(k) / "config.json")
    return KinectCamera(K, size, rotation, translation)


@guarded(lambda frame: frame / PERSON_FIT)
def read_person_fit(frame: Path) -> PersonFit:
    """The SMPL-H fit of a frame folder."""
    path = frame / PERSON_FIT
    data = load_pickle(path)
    return PersonFit(path, array_field(data, "pose", (156,), path),
                     array_field(data, "betas", (10,), path), array_field(data, "trans", (3,), path))


def object_fit_file(frame: Path, object_name: str) -> Path:
    """The object fit of a frame, under the object's or the detector class's folder name."""
    names = dict.fromkeys([object_name, detector_class(object_name)])
    candidates = [frame / n / OBJECT_FIT_FOLDER / f"{n}_fit.pkl" for n in names]
    found = first_existing(candidates)
    if found is None:  # any other object folder with a fit (the person's is under person/fit02)
        found = next((p for p in sorted(frame.glob(f"*/{OBJECT_FIT_FOLDER}/*_fit.pkl"))
                      if p.parts[-3] != "person" and p.name == f"{p.parts[-3]}_fit.pkl"), None)
    if found is None:
        raise SampleError(candidates[0], f"object fit not found (also looked for {candidates[-1]})")
    return found


@guarded(lambda frame, name: frame / name)
def read_object_fit(frame: Path, object_name: str) -> tuple[Path, ObjectPose]:
    """The object pose in the world, ``v @ R(angle).T + trans`` of the centred template."""
    path = object_fit_file(frame, object_name)
    data = load_pickle(path)
    return path, ObjectPose(rotmat(array_field(data, "angle", (3,), path)), array_field(data, "trans", (3,), path))


def person_mask_file(frame: Path, k: int) -> Path | None:
    """``k<k>.person_mask.png`` or ``.jpg``, whichever exists."""
    return first_existing([frame / f"k{k}.person_mask.{ext}" for ext in ("png", "jpg")])


OBJECT_MASK_NAMES = ("obj_rend_mask", "obj_mask")
"""Object mask names of the release, in order of preference."""


def object_mask_file(frame: Path, k: int, names: tuple[str, ...] = OBJECT_MASK_NAMES) -> Path | None:
    """``k<k>.<name>.png``, then ``.jpg``, for each of ``names`` in turn (by default
    ``obj_rend_mask``, then the older releases' ``obj_mask``)."""
    return first_existing([frame / f"k{k}.{stem}.{ext}" for stem in names for ext in ("png", "jpg")])


OBJECT_FULL_MASK = "obj_rend_full"
"""The object's rendering without occlusion (the denominator of the visible fraction)."""


def _mask_pixels(path: Path) -> int:
    """Pixels above mid-grey in a mask file (JPEG masks are lossy); SampleError when unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise SampleError(path, "unreadable mask image")
    return int((image > 127).sum())


def object_visible_ratio(frame: Path, k: int) -> float | None:
    """The visible fraction of the object in view ``k``: ``|obj_rend_mask| / |obj_rend_full|``.

    None when either mask is missing; 0 when the full rendering is empty (the object is outside
    the image). Raises SampleError for an unreadable mask.
    """
    visible = object_mask_file(frame, k, ("obj_rend_mask",))
    full = object_mask_file(frame, k, (OBJECT_FULL_MASK,))
    if visible is None or full is None:
        return None
    total = _mask_pixels(full)
    return 0.0 if total == 0 else min(1.0, _mask_pixels(visible) / total)


@guarded(lambda path, *_: path)
def read_openpose(path: Path, min_conf: float = 0.0) -> BodyKeypoints:
    """Body keypoints of ``k<k>.color.json`` (BEHAVE's ``body_joints``, or OpenPose's own
    ``people[0].pose_keypoints_2d``); no person or all zeros gives confidence-0 keypoints."""
    data = load_json(path)
    if isinstance(data, Mapping) and "people" in data and "body_joints" not in data:
        people = data["people"]
        if not people:
            return empty_keypoints()
        data = people[0] if isinstance(people, list) else people
        joints = array_field(data, "pose_keypoints_2d", (NUM_BODY25, 3), path)
    else:
        joints = array_field(data, "body_joints", (NUM_BODY25, 3), path)
    return from_body25(joints, min_conf)


@guarded(lambda path: path)
def read_behave_split(path: Path) -> dict[str, set[str]]:
    """``split.json`` -> ``{'train': sequences, 'test': sequences}``."""
    data = load_json(path)
    if not isinstance(data, Mapping):
        raise SampleError(path, "expected an object {train: [...], test: [...]}")
    return {split: {str(s) for s in data.get(split, [])} for split in ("train", "test")}
