"""Readers for the files body and keypoint estimators write.

HMR-style SMPL parameters (``.npz`` / ``.pkl``, with the usual key spellings of HMR 2.0, ROMP,
PARE and friends) become a :class:`~hoirecon.fitting.init.BodyInit`; COCO keypoint JSON (a COCO
results list, an ``annotations`` dict or an mmpose 1.x prediction file, as ViTPose and mmpose
write) becomes a ``(17, 3)`` array. Problems raise ``ValueError`` naming the file and key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel
from hoirecon.fitting.init import BodyInit, init_body_from_estimate

BODY_FILE_KEYS: dict[str, tuple[str, ...]] = {
    "betas": ("betas", "shape", "pred_betas"),
    "body_pose": ("body_pose", "pred_body_pose"),
    "pose": ("pose", "poses", "thetas", "full_pose"),
    "global_orient": ("global_orient", "root_orient", "pred_global_orient"),
    "transl": ("transl", "trans", "cam_t", "pred_cam_t"),
}
"""Accepted key spellings of a body estimate file (first match wins)."""


def _load_mapping(path: Path) -> dict[str, Any]:
    """The key -> value contents of an ``.npz`` or ``.pkl`` file, one level of nested dicts
    (e.g. HMR 2.0's ``pred_smpl_params``) merged into the top level."""
    from hoirecon.body.legacy_pickle import load_legacy_pickle  # numpy-only unpickler

    if path.suffix not in (".npz", ".pkl"):
        raise ValueError(f"{path}: expected a .npz or .pkl file")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                data: Any = {k: npz[k] for k in npz.files}
        else:
            data = load_legacy_pickle(path)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported the same way
        raise ValueError(f"{path}: unreadable ({type(err).__name__}: {err})") from err
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of parameter names, got {type(data).__name__}")
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for value in data.values():
        if isinstance(value, dict):
            flat.update({k: v for k, v in value.items() if k not in flat})
    return flat


def _lookup(data: dict[str, Any], name: str) -> Any:
    """The value of the first accepted spelling of ``name`` in ``data``, or None."""
    return next((data[k] for k in BODY_FILE_KEYS[name] if k in data), None)


def _per_person(value: Any, path: Path, name: str, sizes: tuple[int, ...], index: int) -> np.ndarray:
    """Flat axis-angle (or shape) vector of person ``index`` (rotation matrices (..., 3, 3)
    are converted); the person axis is optional when there is one person."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: key {name!r} is not numeric ({err})") from err
    if arr.ndim >= 2 and arr.shape[-2:] == (3, 3) and arr.size % 9 == 0:
        mats = arr.reshape(-1, 3, 3)
        if np.allclose(mats @ mats.transpose(0, 2, 1), np.eye(3), atol=1e-4):
            arr = Rotation.from_matrix(mats).as_rotvec().reshape(arr.shape[:-2] + (3,))
    single = arr.ndim == 1 if not sizes else arr.size in sizes
    if not single:
        if arr.ndim < 2 or index >= arr.shape[0]:
            raise ValueError(f"{path}: key {name!r} has shape {arr.shape}; expected "
                             f"{' or '.join(map(str, sizes)) or 'a vector'} values per person")
        arr = arr[index]
    if (sizes and arr.size not in sizes) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{path}: key {name!r} has a bad value of shape {arr.shape}")
    return arr.ravel()


def read_body_estimate(path: str | Path, body_model: BodyModel, index: int = 0) -> BodyInit:
    """Read SMPL parameters written by an HMR-style estimator (``.npz`` or ``.pkl``).

    Accepted keys (see ``BODY_FILE_KEYS``): ``betas`` (any length; cut or padded to the model's),
    ``body_pose`` (63/69 axis-angle or (21|23, 3, 3) matrices) or else ``pose`` (72 SMPL / 156
    SMPL-H / 165 SMPL-X axis-angle: global orientation then body joints), ``global_orient``
    ((3,) or (1, 3, 3); else taken from ``pose``), and ``transl`` or ``cam_t`` (3,) (HMR 2.0's
    ``pred_cam_t`` is added to the unposed-translation SMPL output, so it is ``transl``).
    A leading person axis is allowed; ``index`` picks the person. Problems raise ValueError
    naming the file and key.
    """
    path = Path(path)
    data = _load_mapping(path)
    get = lambda name: _lookup(data, name)  # noqa: E731
    missing = [n for n in ("betas", "transl") if get(n) is None]
    if get("body_pose") is None and get("pose") is None:
        missing.append("body_pose or pose")
    if get("global_orient") is None and get("pose") is None:
        missing.append("global_orient or pose")
    if missing:
        raise ValueError(f"{path}: missing key(s) {missing}; found {sorted(data)}")
    full = None if get("pose") is None else _per_person(get("pose"), path, "pose", (72, 156, 165), index)
    body_pose = (full[3:66] if get("body_pose") is None
                 else _per_person(get("body_pose"), path, "body_pose", (63, 69), index)[:63])
    orient = (full[:3] if get("global_orient") is None
              else _per_person(get("global_orient"), path, "global_orient", (3,), index))
    fields = {"betas": _per_person(get("betas"), path, "betas", (), index), "body_pose": body_pose,
              "global_orient": orient, "transl": _per_person(get("transl"), path, "transl", (3,), index)}
    return init_body_from_estimate(_Fields(**fields), body_model)


@dataclass(frozen=True)
class _Fields:
    betas: np.ndarray
    body_pose: np.ndarray
    global_orient: np.ndarray
    transl: np.ndarray


def _coco_entries(data: Any, path: Path) -> list[dict[str, Any]]:
    """Person records of a COCO results list, a COCO ``annotations`` dict or an mmpose 1.x
    ``instance_info`` prediction file (whose ``frame_id`` becomes ``image_id``)."""
    if isinstance(data, dict) and "annotations" in data:
        data = data["annotations"]
    elif isinstance(data, dict) and "instance_info" in data:
        data = [dict(inst, image_id=frame.get("frame_id")) for frame in data["instance_info"]
                for inst in frame.get("instances", [])]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ValueError(f"{path}: expected a list of person records with 'keypoints'")
    return data


def _coco_person(entry: dict[str, Any], path: Path, i: int) -> tuple[np.ndarray, float]:
    """Keypoints (17, 3) and person score of record ``i``."""
    try:
        kp = np.asarray(entry["keypoints"], dtype=np.float64)
        if kp.size == 34 or kp.shape == (17, 2):
            kp = np.c_[kp.reshape(17, 2), np.asarray(entry["keypoint_scores"], dtype=np.float64).ravel()]
        kp = kp.reshape(17, 3)
    except KeyError as err:
        raise ValueError(f"{path}: record {i} lacks key {err.args[0]!r}") from err
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: record {i} key 'keypoints' is not 17 x (x, y, score)") from err
    score = entry.get("score", entry.get("bbox_score", kp[:, 2].mean()))
    return kp, float(np.mean(score))


def read_coco_keypoints(path: str | Path, image_id: Any = None) -> np.ndarray:
    """The highest-scoring person's COCO-17 keypoints (17, 3) of (x, y, score) from a JSON file
    written by mmpose/ViTPose (COCO results list ``[{"keypoints": [x, y, s] * 17, "score",
    "image_id", ...}]``, a dict with ``annotations``, or mmpose 1.x ``instance_info``), among the
    records of ``image_id`` when given. Problems raise ValueError naming the file and key."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable JSON file ({err})") from err
    entries = [(i, e) for i, e in enumerate(_coco_entries(data, path))
               if image_id is None or e.get("image_id") == image_id]
    if not entries:
        raise ValueError(f"{path}: no person record" + (f" for image_id {image_id!r}" if image_id is not None else ""))
    people = [_coco_person(e, path, i) for i, e in entries]
    keypoints = max(people, key=lambda p: p[1])[0]
    if not np.all(np.isfinite(keypoints)):
        raise ValueError(f"{path}: key 'keypoints' holds NaN or infinite values")
    return keypoints
