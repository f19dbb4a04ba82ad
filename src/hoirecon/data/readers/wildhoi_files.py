"""Parsers for the files of the WildHOI release (one function per file kind).

Conventions, as established from the release's own preparation and evaluation code:

* ``hoi_kps/<video>/<hoi>_hoi_kps.pkl`` holds, per frame of one tracked person-object pair,
  the 22 SMPL-X body joints and the object keypoints projected to pixels, and the camera of
  that frame: ``cam_R`` (3, 3) maps the human frame (SMPL-X posed with zero global orientation,
  minus its pelvis) into the camera and ``cam_T`` (stored (1, 3)) is the pelvis in the camera,
  ``p_cam = cam_R @ X + cam_T``. ``focal`` and ``princpt`` are ``(fx, fy)`` and ``(cx, cy)``
  in pixels of the original frame.
* ``smpler_x/<video>/<hoi>_smplx.pkl`` is a list of per-frame dicts with the same camera
  meaning for ``cam_R`` / ``cam_T``; the raw SMPLer-X output has ``global_orient`` (axis-angle)
  and ``transl`` (the SMPL-X model's translation) instead, which is accepted too.
* ``object_pose/<video>/<hoi>_obj_RT.pkl``: the object in the camera, ``X = X_hat @ R.T + t``,
  as a list of per-frame ``{rotmat, trans}`` dicts aligned with the hoi_kps frames (or a dict
  of stacked arrays).
* ``test/<video>_<hoi>_<frame>.pkl``: ``obj_rel_rotmat`` / ``obj_rel_trans`` / ``object_scale``
  pose the (vertex-mean centred) template in the human frame, ``X = s * X_hat @ R.T + t``;
  optional ``hoi_rotmat`` / ``hoi_trans`` / ``focal`` / ``princpt`` give that frame's camera.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.data.readers.common import SampleError, array_field, field, guarded, load_json, load_pickle
from hoirecon.data.readers.records import BodyParams, ObjectPose, axis_angle, parse_rotation
from hoirecon.data.sample import NUM_BODY_JOINTS

WILDHOI_FOLDERS: dict[str, str] = {
    "barbell": "barbell", "baseball": "baseball_bat", "basketball": "basketball",
    "bicycle": "bicycle", "cello": "cello", "skateboard": "skateboard",
    "tennis": "tennis_racket", "violin": "violin", "yogaball": "yoga_ball",
}
"""WildHOI folder name -> our category name."""


def wildhoi_folder(name: str) -> str:
    """WildHOI folder of a category given by either naming ('tennis' or 'tennis_racket')."""
    if name in WILDHOI_FOLDERS:
        return name
    for folder, ours in WILDHOI_FOLDERS.items():
        if ours == name:
            return folder
    raise ValueError(f"unknown WildHOI category {name!r}; expected one of "
                     f"{', '.join(WILDHOI_FOLDERS)} (or {', '.join(WILDHOI_FOLDERS.values())})")


@dataclass(frozen=True)
class KeypointTrack:
    """Contents of one ``<hoi>_hoi_kps.pkl`` (n frames, k object keypoints)."""

    path: Path
    frame_ids: list[str]
    body: np.ndarray
    """(n, 22, 2) body joints, pixels (may hold NaN for frames without a fit)."""
    objects: np.ndarray
    """(n, k, 2) object keypoints, pixels."""
    cam_R: np.ndarray
    """(n, 3, 3) human frame -> camera."""
    cam_T: np.ndarray
    """(n, 3) pelvis in the camera."""
    focal: np.ndarray
    """(n, 2)."""
    princpt: np.ndarray
    """(n, 2)."""


@dataclass(frozen=True)
class TestAnnotation:
    """Contents of one ``test/<video>_<hoi>_<frame>.pkl``."""

    path: Path
    betas: np.ndarray
    body_pose: np.ndarray
    object_pose: ObjectPose
    """Object in the human frame."""
    left_hand_pose: np.ndarray | None
    right_hand_pose: np.ndarray | None
    camera: tuple[np.ndarray, np.ndarray] | None
    """``(hoi_rotmat (3, 3), hoi_trans (3,))`` when given."""
    intrinsics: tuple[np.ndarray, np.ndarray] | None
    """``(focal (2,), princpt (2,))`` when given."""
    articulation: float | None


@dataclass(frozen=True)
class RawEstimate:
    """One frame of a ``_smplx.pkl``: the body in the camera, with whichever translation it gives."""

    betas: np.ndarray
    body_pose: np.ndarray
    rotation: np.ndarray
    """(3, 3) human frame -> camera."""
    pelvis_cam: np.ndarray | None
    """(3,) ``cam_T`` when given."""
    transl: np.ndarray | None
    """(3,) the SMPL-X model's ``transl`` when given (raw SMPLer-X output)."""
    left_hand_pose: np.ndarray | None
    right_hand_pose: np.ndarray | None
    bbox: np.ndarray | None

    def placement(self, rest_pelvis: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(pelvis in the camera, model ``transl``) (3,) each; the one the file lacks needs the
        shaped body's rest pelvis (3,) (``pelvis = transl + rest``) and is None without it."""
        pelvis, transl = self.pelvis_cam, self.transl
        if rest_pelvis is not None:
            pelvis = transl + rest_pelvis if pelvis is None else pelvis
            transl = pelvis - rest_pelvis if transl is None else transl
        return pelvis, transl

    def body(self, pelvis_cam: np.ndarray) -> BodyParams:
        """The typed body once its pelvis position (3,) is known."""
        return BodyParams("smplx", "neutral", self.betas, self.body_pose, axis_angle(self.rotation),
                          pelvis_cam, self.left_hand_pose, self.right_hand_pose)


def _stacked(data: Any, key: str, tail: tuple[int, ...], n: int, path: Path) -> np.ndarray:
    """A per-frame array of ``n`` rows reshaped to ``(n, *tail)``, NaN allowed (checked per frame)."""
    try:
        arr = np.asarray(field(data, key, path), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise SampleError(path, f"key {key!r}: not a numeric array ({err})") from err
    if arr.size != n * int(np.prod(tail)):
        raise SampleError(path, f"key {key!r}: expected {n} frames of {tail}, got shape {arr.shape}")
    return arr.reshape((n, *tail))


def _pairs(data: Any, key: str, n: int, path: Path) -> np.ndarray:
    """Per-frame (n, 2) values stored as pairs, or as one value per frame used for both."""
    arr = np.asarray(field(data, key, path), dtype=np.float64)
    if arr.size == n:
        return np.repeat(arr.reshape(n, 1), 2, axis=1)
    return _stacked(data, key, (2,), n, path)


@guarded(lambda path, *_: path)
def read_keypoint_track(path: Path, k: int) -> KeypointTrack:
    """Parse a ``_hoi_kps.pkl``; the first ``k`` object keypoints are kept (as the release does)."""
    data = load_pickle(path)
    frame_ids = [str(f) for f in field(data, "frame_ids", path)]
    n = len(frame_ids)
    body = np.asarray(field(data, "smpl_kps_seq", path), dtype=np.float64)
    objects = np.asarray(field(data, "object_kps_seq", path), dtype=np.float64)
    if body.ndim != 3 or body.shape[0] != n or body.shape[1] < NUM_BODY_JOINTS or body.shape[2] != 2:
        raise SampleError(path, f"key 'smpl_kps_seq': expected ({n}, 22, 2), got {body.shape}")
    if objects.ndim != 3 or objects.shape[0] != n or objects.shape[1] < k or objects.shape[2] != 2:
        raise SampleError(path, f"key 'object_kps_seq': expected ({n}, {k}, 2), got {objects.shape}")
    return KeypointTrack(
        path=path, frame_ids=frame_ids, body=body[:, :NUM_BODY_JOINTS], objects=objects[:, :k],
        cam_R=_stacked(data, "cam_R_seq", (3, 3), n, path),
        cam_T=_stacked(data, "cam_T_seq", (3,), n, path),
        focal=_pairs(data, "focal_seq", n, path), princpt=_pairs(data, "princpt_seq", n, path),
    )


def _optional(data: Mapping, key: str, shape: tuple[int, ...], path: Path) -> np.ndarray | None:
    return array_field(data, key, shape, path) if key in data else None


@guarded(lambda item, path: path)
def parse_estimate(item: Any, path: Path) -> RawEstimate:
    """One SMPLer-X frame dict -> :class:`RawEstimate` (errors name the file and key)."""
    if "cam_R" in item:
        rotation = parse_rotation(item["cam_R"], path, "cam_R")
    else:
        rotation = parse_rotation(field(item, "global_orient", path), path, "global_orient")
    pelvis = _optional(item, "cam_T", (3,), path)
    transl = _optional(item, "transl", (3,), path)
    if pelvis is None and transl is None:
        raise SampleError(path, "frame has neither 'cam_T' nor 'transl'")
    return RawEstimate(
        betas=array_field(item, "betas", (10,), path),
        body_pose=array_field(item, "body_pose", (63,), path), rotation=rotation,
        pelvis_cam=pelvis, transl=transl,
        left_hand_pose=_optional(item, "left_hand_pose", (45,), path),
        right_hand_pose=_optional(item, "right_hand_pose", (45,), path),
        bbox=_optional(item, "bbox", (4,), path),
    )

@guarded(lambda path, *_: path)
def index_estimates(path: Path) -> dict[str, Any]:
    """``frame_id -> raw frame dict`` of a ``_smplx.pkl`` (frames are parsed one by one later)."""
    data = load_pickle(path)
    if not isinstance(data, list):
        raise SampleError(path, f"expected a list of per-frame dicts, got {type(data).__name__}")
    return {str(field(item, "frame_id", path)): item for item in data}


@guarded(lambda path, *_: path)
def read_object_poses(path: Path, frame_ids: list[str]) -> dict[str, ObjectPose]:
    """``frame_id -> camera-frame object pose`` from an ``_obj_RT.pkl``.

    A list is matched to the frames by its items' ``frame_id`` when present, else by position
    (it must then have one item per frame); a dict holds stacked ``rotmat``/``trans`` arrays.
    """
    data = load_pickle(path)
    if isinstance(data, Mapping):
        n = len(frame_ids)
        rot = _stacked(data, "rotmat", (3, 3), n, path)
        trans = _stacked(data, "trans", (3,), n, path)
        items: list[Any] = [{"rotmat": r, "trans": t} for r, t in zip(rot, trans)]
    elif isinstance(data, list):
        items = data
    else:
        raise SampleError(path, f"expected a list of {{rotmat, trans}} or a dict, got {type(data).__name__}")
    keyed = all(isinstance(it, Mapping) and "frame_id" in it for it in items)
    if not keyed and len(items) != len(frame_ids):
        raise SampleError(path, f"{len(items)} poses for {len(frame_ids)} hoi_kps frames and no frame ids")
    ids = [str(it["frame_id"]) for it in items] if keyed else frame_ids
    return {fid: ObjectPose(parse_rotation(field(it, "rotmat", path), path, "rotmat"),
                            array_field(it, "trans", (3,), path)) for fid, it in zip(ids, items)}


@guarded(lambda path, *_: path)
def read_test_annotation(path: Path) -> TestAnnotation:
    """Parse one test annotation pickle (see the module docstring for the keys)."""
    data = load_pickle(path)
    scale = float(array_field(data, "object_scale", (1,), path)[0])
    pose = ObjectPose(parse_rotation(field(data, "obj_rel_rotmat", path), path, "obj_rel_rotmat"),
                      array_field(data, "obj_rel_trans", (3,), path), scale)
    camera = None
    if "hoi_rotmat" in data and "hoi_trans" in data:
        camera = (parse_rotation(data["hoi_rotmat"], path, "hoi_rotmat"), array_field(data, "hoi_trans", (3,), path))
    intrinsics = None
    if "focal" in data and "princpt" in data:
        intrinsics = (array_field(data, "focal", (2,), path), array_field(data, "princpt", (2,), path))
    angle = _optional(data, "object_rot_angle", (1,), path)
    return TestAnnotation(
        path=path, betas=array_field(data, "smplx_betas", (10,), path),
        body_pose=array_field(data, "smplx_body_pose", (63,), path), object_pose=pose,
        left_hand_pose=_optional(data, "smplx_lhand_pose", (45,), path),
        right_hand_pose=_optional(data, "smplx_rhand_pose", (45,), path),
        camera=camera, intrinsics=intrinsics, articulation=None if angle is None else float(angle[0]),
    )


@guarded(lambda path, *_: path)
def read_split_file(path: Path) -> dict[str, dict[str, set[str]]]:
    """``train_test_split.json`` -> ``{folder: {'train': videos, 'test': videos}}``.

    Raises :class:`SampleError` naming the file when it is malformed (the caller decides
    whether that is fatal).
    """
    data = load_json(path)
    if not isinstance(data, Mapping):
        raise SampleError(path, "expected an object {category: {train_videos, test_videos}}")
    out: dict[str, dict[str, set[str]]] = {}
    for folder, entry in data.items():
        if not isinstance(entry, Mapping):
            raise SampleError(path, f"key {folder!r}: expected an object with train_videos/test_videos")
        out[folder] = {split: {str(v) for v in entry.get(f"{split}_videos", [])} for split in ("train", "test")}
    return out
