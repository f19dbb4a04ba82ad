"""RHOBIN 2023 ``results.pkl`` from our fits of BEHAVE images, in the official layout.

``{seq_name: {"frames": [frame times], "gender": "male" | "female", "poses": (T, 72),
"betas": (T, 10), "trans": (T, 3), "obj_rots": (T, 3, 3), "obj_trans": (T, 3), "obj_scales": (T,)}}``
(the README of ``challenges/cvprw23`` in the BEHAVE toolkit). Conventions:

- keys: BEHAVE sequence names and frame times (``t0003.000``), parsed from our image ids
  ``<sequence>_<frame>_k<k>`` (:mod:`hoirecon.tracks.keys`); with a reference, each sequence
  lists its frames in the reference's order (the official human evaluator pairs frames by
  position) and frames or sequences the reference lacks are left out.
- frame: BEHAVE's world, the colour camera k1; a fit of another Kinect is carried over with the
  calibration (:mod:`hoirecon.tracks.world`).
- poses: SMPL's 72 (global orientation, 21 body joints, then SMPL's two hand joints, zero here).
  The official evaluator turns them into SMPL-H by keeping the first 69 values and moving the last
  three to the first right-hand joint (its ``smpl2smplh_pose``).
- object: ``obj_rots`` rotation matrices and ``obj_trans`` such that points are ``(v @ R^T + t) * s``.
- parts: the object track writes the metadata and the object keys only, the human track the
  metadata and the body keys only, the joint track everything.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from hoirecon.body import BodyModel
from hoirecon.io.atomic import atomic_write_bytes
from hoirecon.tracks.keys import FrameKey, parse_image_id
from hoirecon.tracks.world import BehaveCalibration, body_to_world, object_to_world, rest_pelvis

log = logging.getLogger(__name__)

TRACKS = ("object", "human", "joint")
METADATA_KEYS = ("frames", "gender")
BODY_KEYS = ("poses", "betas", "trans")
OBJECT_KEYS = ("obj_rots", "obj_trans", "obj_scales")
TRACK_KEYS = {"object": METADATA_KEYS + OBJECT_KEYS, "human": METADATA_KEYS + BODY_KEYS,
              "joint": METADATA_KEYS + BODY_KEYS + OBJECT_KEYS}
"""The keys each track's ``results.pkl`` carries in every sequence."""
SMPL_POSE = 72


def check_track(track: str) -> str:
    """``track`` if it is one of :data:`TRACKS`, else ValueError naming the choices."""
    if track not in TRACKS:
        raise ValueError(f"track: expected one of {', '.join(TRACKS)}, got {track!r}")
    return track


def _keys(image_ids: Sequence[str]) -> list[FrameKey]:
    keys = []
    for image_id in image_ids:
        key = parse_image_id(str(image_id))
        if key is None:
            raise ValueError(f"image {image_id!r}: not a BEHAVE image id <sequence>_<frame>_k<k>; "
                             "these fits were not made on BEHAVE frames")
        keys.append(key)
    return keys


def world_rows(columns: Mapping[str, np.ndarray], calib: BehaveCalibration, model: BodyModel,
               scoring: Callable[[str], BodyModel] | None = None) -> dict[FrameKey, dict]:
    """Each fitted image's body and object in the world frame, in the RHOBIN conventions.

    Args:
        columns: fit columns (:mod:`hoirecon.io.fits`) of BEHAVE images.
        calib: the BEHAVE tree's calibrations.
        model: the body model the fits were made with (its rest pelvis moves the body).
        scoring: gender -> the model that will pose the written bodies (e.g. the evaluator's
            SMPL-H), whose rest pelvis sets the written translation; None = ``model``.
    """
    keys = _keys(columns["image_id"])
    betas = np.asarray(columns["betas"], dtype=np.float64)
    pelvis = rest_pelvis(model, betas) if len(keys) else np.zeros((0, 3))
    rows = {}
    for i, key in enumerate(keys):
        camera = calib.camera(key.sequence, key.kinect)
        target = None if scoring is None else rest_pelvis(scoring(calib.info(key.sequence).gender), betas[i:i + 1])
        body = body_to_world(np.asarray(columns["global_orient"][i:i + 1], np.float64),
                             np.asarray(columns["transl"][i:i + 1], np.float64), pelvis[i:i + 1], camera, target)
        obj = object_to_world(np.asarray(columns["object_rotation_cam"][i:i + 1], np.float64),
                              np.asarray(columns["object_translation_cam"][i:i + 1], np.float64),
                              np.asarray(columns["object_scale"][i:i + 1], np.float64), camera)
        pose = np.zeros(SMPL_POSE)
        pose[:3], pose[3:66] = body.global_orient[0], np.asarray(columns["body_pose"][i], np.float64)
        rows[key] = {"poses": pose, "betas": betas[i], "trans": body.transl[0],
                     "obj_rots": obj.rotation[0], "obj_trans": obj.translation[0], "obj_scales": obj.scale[0]}
    return rows


def _frame_order(rows: Mapping[FrameKey, dict], order: Mapping[str, Sequence[str]] | None) -> dict[str, list[FrameKey]]:
    """Sequence -> its keys, in the reference's frame order (else by time); one Kinect per frame."""
    by_frame: dict[tuple[str, str], FrameKey] = {}
    for key in sorted(rows, key=lambda k: (k.sequence, k.frame, k.kinect != 1, k.kinect)):
        by_frame.setdefault((key.sequence, key.frame), key)
    if order is None:
        out: dict[str, list[FrameKey]] = {}
        for (seq, _), key in sorted(by_frame.items()):
            out.setdefault(seq, []).append(key)
        return out
    out = {seq: [by_frame[(seq, f)] for f in frames if (seq, f) in by_frame] for seq, frames in order.items()}
    dropped = len(by_frame) - sum(len(v) for v in out.values())
    if dropped:
        log.info("%d fitted frame(s) are not in the reference and are left out", dropped)
    return {seq: keys for seq, keys in out.items() if keys}


def build_results(rows: Mapping[FrameKey, dict], genders: Mapping[str, str], track: str,
                  order: Mapping[str, Sequence[str]] | None = None) -> dict[str, dict]:
    """The ``results.pkl`` dict of ``track`` from world rows (:func:`world_rows`).

    Args:
        rows: per image key, the world-frame values.
        genders: sequence -> the subject's gender (``info.json``).
        track: 'object', 'human' or 'joint' (which keys are written, :data:`TRACK_KEYS`).
        order: sequence -> frame times of the reference, or None (sequences and frames sorted).
    """
    keys = TRACK_KEYS[check_track(track)]
    results = {}
    for seq, frame_keys in _frame_order(rows, order).items():
        entry: dict[str, object] = {"frames": [k.frame for k in frame_keys], "gender": genders[seq]}
        for name in keys[len(METADATA_KEYS):]:
            entry[name] = np.stack([rows[k][name] for k in frame_keys]).astype(np.float64)
        results[seq] = entry
    return results


def write_results(results: Mapping[str, dict], path: str | Path) -> Path:
    """Pickle ``results`` (plain dicts, lists and numpy arrays) to ``path`` atomically."""
    if not results:
        raise ValueError(f"{path}: no sequence to write (no fitted frame of the reference's sequences)")
    return atomic_write_bytes(Path(path), pickle.dumps({k: dict(v) for k, v in results.items()}, protocol=4))


def reference_order(ref: Mapping) -> dict[str, list[str]]:
    """Sequence -> frame times of a reference dict (official wrapped layout or flat)."""
    entries = ref.get("annotations", ref)
    return {str(seq): [str(f) for f in value["frames"]] for seq, value in entries.items()
            if isinstance(value, Mapping) and "frames" in value}
