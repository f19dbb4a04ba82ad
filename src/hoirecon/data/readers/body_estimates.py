"""SMPL-family body estimates from the files public human mesh estimators write.

:func:`read_body_estimate` recognises the layout from the file's suffix and keys. Rotation
matrices become axis-angle; of SMPL's 23 body joints the first 21 are kept (the two hand
joints 22/23 are dropped; SMPL-X has 21). ``person`` picks one of several people, ``frame``
one of several frames.

* HMR 2.0 (4D-Humans) model output saved as a pickle: ``{"pred_smpl_params": {"global_orient"
  (N, 1, 3, 3), "body_pose" (N, 23, 3, 3), "betas" (N, 10)}, "pred_cam" (N, 3), "pred_cam_t",
  ...}``. ``pred_cam`` is relative to the person crop, so it is kept only with the crop, given
  as the demo batch's ``box_center`` (N, 2) and ``box_size`` (N,); ``pred_cam_t`` belongs to
  the crop's virtual camera and is not used.
* 4D-Humans / PHALP tracking (``joblib.dump``): ``{frame_name: {"time", "smpl": [{"global_orient"
  (1, 3, 3), "body_pose" (23, 3, 3), "betas" (10,)} per person], "camera": [(3,)], "size":
  [[height, width]], ...}}``; ``camera`` is the translation for a focal length of 5000 pixels
  on the image padded to a square and resized to 256 pixels, centred.
* ROMP / BEV (``romp ... --save_path``): ``.npz`` with an object ``results`` = ``{"smpl_thetas"
  (N, 72), "smpl_betas" (N, 10) (BEV: 11, the last is age), "cam" (N, 3), "cam_trans", ...}`` or,
  for ``video_results.npz``, ``{frame_file: that dict}``. ``cam`` = (s, tx, ty) places model
  points at ``s X + t`` in [-1, 1] coordinates of the image padded to a square. ``cam_trans``
  depends on the run options (``--calc_smpl`` or not) and is not used.
* PARE image demo (``pare_results/<image>.pkl``, ``joblib.dump``): ``{"pred_pose" (N, 24, 3, 3),
  "pred_shape" (N, 10), "pred_cam" (N, 3), "bboxes" (N, 4) (cx, cy, w, h; the crop side is
  the third value), "orig_cam", ...}``.
* SMPLer-X (``smplx/<frame>_<id>.npz``): ``global_orient`` (1, 3), ``body_pose`` (21, 3), ``betas``
  (1, 10), ``transl`` (1, 3) (= the model's ``cam_trans``), hands, jaw, expression; or the model's
  output keys ``smplx_root_pose``, ``smplx_body_pose``, ``smplx_shape``, ``cam_trans``. The
  translation belongs to a per-person virtual camera: ``focal``/``princpt`` in the file or in
  the demo's ``meta/<frame>_<id>.json``; without them it is not used.
* FrankMocap: BEHAVE's ``k*.mocap.json`` ``{"pose": 72, "betas": 10}`` (no camera), or its own
  ``*_prediction_result.pkl`` ``{"pred_output_list": [{"pred_body_pose" (1, 72), "pred_betas"
  (1, 10), "pred_camera" (3,), "bbox_top_left" (2,), "bbox_scale_ratio"}]}`` whose camera places
  points at ``s X + t`` in a 224-pixel crop scaled by the ratio.
* Ours (``.npz`` / ``.pkl``): ``betas`` (10), ``body_pose`` (63 or 69, axis-angle) and
  ``global_orient`` (3), or ``pose`` (72 SMPL / 156 SMPL-H / 165 SMPL-X), and optionally
  ``transl`` (3) in the image's camera; a leading person axis is allowed.

Problems (unreadable files, missing keys, wrong sizes, non-finite values, matrices that are
not rotations) raise :class:`~hoirecon.data.readers.common.SampleError`, a ``ValueError``
naming the file and key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hoirecon.data.readers.common import SampleError, field, load_json
from hoirecon.data.readers.pickles import load_safe_npz, load_safe_pickle
from hoirecon.geometry import rotmat_to_axis_angle

log = logging.getLogger(__name__)

NUM_BETAS = 10
HMR2_FOCAL_OVER_SIZE = 5000.0 / 256.0
"""HMR 2.0 / PHALP virtual focal length over the side of the (padded, square) image."""
FRANKMOCAP_CROP = 224.0
"""FrankMocap's crop side in network pixels."""


@dataclass(frozen=True)
class BodyEstimate:
    """One person's body as an estimator gave it, before it is placed in the image's camera."""

    betas: np.ndarray
    """(10,) shape coefficients."""
    body_pose: np.ndarray
    """(63,) axis-angle of the 21 body joints after the pelvis."""
    global_orient: np.ndarray
    """(3,) axis-angle, body -> camera."""
    transl: np.ndarray | None = None
    """(3,) the body model's ``transl`` in ``transl_camera`` (the image's camera when that is None)."""
    weak_camera: np.ndarray | None = None
    """(3,) s, tx, ty: a model point X lands at pixel ``c + size / 2 * s * (X_xy + t)`` of ``crop``."""
    crop: np.ndarray | None = None
    """(3,) cx, cy, size: the square the weak camera spans, in pixels; None = the whole image
    padded to a square (centred, side = the longer image side)."""
    transl_camera: np.ndarray | None = None
    """(4,) fx, fy, cx, cy (pixels) of the virtual camera ``transl`` was solved with; None = the image's."""
    source: str = ""
    """``hmr2``, ``phalp``, ``romp``, ``pare``, ``smpler-x``, ``frankmocap`` or ``npz`` (ours)."""


def _numeric(value: Any, path: Path, key: str) -> np.ndarray:
    """A finite float64 array, else an error naming the key."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise SampleError(path, f"key {key!r}: not a numeric array ({err})") from err
    if not np.all(np.isfinite(arr)):
        raise SampleError(path, f"key {key!r}: contains NaN or infinite values")
    return arr


def _person_slice(arr: np.ndarray, size: int, person: int, path: Path, key: str) -> np.ndarray:
    """Person ``person``'s ``size`` values: all of ``arr`` when it has exactly that many
    (one person), else row ``person`` of a leading person axis."""
    if arr.size == size:
        if person not in (0, -1):
            raise SampleError(path, f"key {key!r}: holds one person, person={person} asked")
        return arr.ravel()
    if arr.ndim < 1 or int(np.prod(arr.shape[1:])) != size:
        raise SampleError(path, f"key {key!r}: expected {size} values per person, got shape {arr.shape}")
    if not -len(arr) <= person < len(arr):
        raise SampleError(path, f"key {key!r}: person {person} out of range ({len(arr)} people)")
    return arr[person].ravel()


def _vector(data: Any, key: str, sizes: tuple[int, ...], person: int, path: Path) -> np.ndarray:
    """``data[key]`` for one person, flat, of one of the lengths ``sizes``."""
    arr = _numeric(field(data, key, path), path, key)
    for size in sizes:
        if arr.size == size or (arr.ndim >= 1 and int(np.prod(arr.shape[1:])) == size):
            return _person_slice(arr, size, person, path, key)
    raise SampleError(path, f"key {key!r}: expected {' or '.join(map(str, sizes))} values per person, "
                            f"got shape {arr.shape}")


def _axis_angles(data: Any, key: str, count: int, person: int, path: Path) -> np.ndarray:
    """``data[key]``: ``count`` rotation matrices of one person -> axis-angle (count, 3)."""
    arr = _numeric(field(data, key, path), path, key)
    if arr.shape[-2:] != (3, 3):
        raise SampleError(path, f"key {key!r}: expected rotation matrices (..., 3, 3), got shape {arr.shape}")
    mats = _person_slice(arr, 9 * count, person, path, key).reshape(count, 3, 3)
    gram_error = np.abs(mats @ mats.transpose(0, 2, 1) - np.eye(3)).max()
    if gram_error > 1e-3 or np.any(np.linalg.det(mats) < 0):
        raise SampleError(path, f"key {key!r}: not rotation matrices (|R R^T - I| = {gram_error:.2g} "
                                "or a reflection)")
    return rotmat_to_axis_angle(torch.as_tensor(mats)).numpy()


def _estimate(path: Path, source: str, betas: np.ndarray, body_pose: np.ndarray, global_orient: np.ndarray,
              **camera: np.ndarray | None) -> BodyEstimate:
    """The record, with the camera parts checked (positive scale and crop, finite)."""
    weak, crop = camera.get("weak_camera"), camera.get("crop")
    if weak is not None and weak[0] <= 0:
        raise SampleError(path, f"weak camera scale must be positive, got {weak[0]:.3g}")
    if crop is not None and crop[2] <= 0:
        raise SampleError(path, f"crop size must be positive, got {crop[2]:.3g}")
    return BodyEstimate(betas[:NUM_BETAS], body_pose[:63], global_orient, source=source, **camera)


def _scaled_first(cam: np.ndarray) -> np.ndarray:
    """A camera that places points at ``s X + t`` -> the (s, t / s) of ``s (X + t)``."""
    return np.array([cam[0], cam[1] / cam[0], cam[2] / cam[0]]) if cam[0] > 0 else cam


def _hmr2(data: Mapping, path: Path, person: int) -> BodyEstimate:
    """HMR 2.0 model output with ``pred_smpl_params`` (rotation matrices)."""
    params = field(data, "pred_smpl_params", path)
    weak = crop = None
    if "pred_cam" in data and "box_center" in data and "box_size" in data:
        weak = _vector(data, "pred_cam", (3,), person, path)
        crop = np.r_[_vector(data, "box_center", (2,), person, path), _vector(data, "box_size", (1,), person, path)]
    return _estimate(path, "hmr2", _vector(params, "betas", (NUM_BETAS,), person, path),
                     _axis_angles(params, "body_pose", 23, person, path)[:21].ravel(),
                     _axis_angles(params, "global_orient", 1, person, path)[0], weak_camera=weak, crop=crop)


def _pick_frame(frames: Mapping, frame: Any, path: Path) -> Any:
    """The entry of ``frame`` (a key, a key's file name, or an index in time order)."""
    keys = sorted(frames, key=lambda k: (frames[k].get("time", 0) if isinstance(frames[k], Mapping) else 0))
    if frame is None:
        if len(keys) != 1:
            raise SampleError(path, f"holds {len(keys)} frames; pass frame= (a frame name or index)")
        return frames[keys[0]]
    if isinstance(frame, int):
        if not -len(keys) <= frame < len(keys):
            raise SampleError(path, f"frame {frame} out of range ({len(keys)} frames)")
        return frames[keys[frame]]
    match = [k for k in keys if k == frame or Path(str(k)).name == str(frame)]
    if not match:
        raise SampleError(path, f"no frame {frame!r} (frames: {keys[:5]}{' ...' if len(keys) > 5 else ''})")
    return frames[match[0]]


def _listed(data: Mapping, key: str, person: int, path: Path) -> Any:
    """Item ``person`` of the per-person list ``data[key]``."""
    items = field(data, key, path)
    if not isinstance(items, (list, tuple)) or not -len(items) <= person < len(items):
        count = len(items) if isinstance(items, (list, tuple)) else "no list of"
        raise SampleError(path, f"key {key!r}: no person {person} ({count} people)")
    return items[person]


def _phalp(data: Mapping, path: Path, person: int, frame: Any) -> BodyEstimate:
    """PHALP / 4D-Humans tracking results ``{frame: {"smpl": [...], "camera": [...], "size": [...]}}``."""
    entry = _pick_frame(data, frame, path)
    smpl = _listed(entry, "smpl", person, path)
    height, width = _vector({"size": _listed(entry, "size", person, path)}, "size", (2,), 0, path)
    focal = HMR2_FOCAL_OVER_SIZE * max(height, width)
    return _estimate(path, "phalp", _vector(smpl, "betas", (NUM_BETAS,), 0, path),
                     _axis_angles(smpl, "body_pose", 23, 0, path)[:21].ravel(),
                     _axis_angles(smpl, "global_orient", 1, 0, path)[0],
                     transl=_vector({"camera": _listed(entry, "camera", person, path)}, "camera", (3,), 0, path),
                     transl_camera=np.array([focal, focal, width / 2, height / 2]))


def _romp(results: Any, path: Path, person: int, frame: Any) -> BodyEstimate:
    """ROMP / BEV ``results`` (one image, or ``{frame_file: results}`` of a video)."""
    if isinstance(results, Mapping) and "smpl_thetas" not in results:
        results = _pick_frame(results, frame, path)
    thetas = _vector(results, "smpl_thetas", (72,), person, path)
    betas = _vector(results, "smpl_betas", (NUM_BETAS, NUM_BETAS + 1), person, path)
    weak = _scaled_first(_vector(results, "cam", (3,), person, path))
    return _estimate(path, "romp", betas, thetas[3:66], thetas[:3], weak_camera=weak)


def _pare(data: Mapping, path: Path, person: int) -> BodyEstimate:
    """PARE image demo output (``pred_pose`` rotation matrices of 24 joints)."""
    pose = _axis_angles(data, "pred_pose", 24, person, path)
    weak = crop = None
    if "pred_cam" in data and "bboxes" in data:
        weak = _vector(data, "pred_cam", (3,), person, path)
        crop = _vector(data, "bboxes", (4,), person, path)[:3]
    return _estimate(path, "pare", _vector(data, "pred_shape", (NUM_BETAS,), person, path), pose[1:22].ravel(),
                     pose[0], weak_camera=weak, crop=crop)


def _frankmocap_pkl(data: Mapping, path: Path, person: int) -> BodyEstimate:
    """FrankMocap ``*_prediction_result.pkl`` (body demo)."""
    output = _listed(data, "pred_output_list", person, path)
    if output is None:
        raise SampleError(path, f"key 'pred_output_list': person {person} has no prediction")
    pose = _vector(output, "pred_body_pose", (72,), 0, path)
    ratio = _vector(output, "bbox_scale_ratio", (1,), 0, path)[0]
    size = FRANKMOCAP_CROP / ratio if ratio > 0 else 0.0
    crop = np.r_[_vector(output, "bbox_top_left", (2,), 0, path) + size / 2, size]
    return _estimate(path, "frankmocap", _vector(output, "pred_betas", (NUM_BETAS,), 0, path), pose[3:66],
                     pose[:3], weak_camera=_scaled_first(_vector(output, "pred_camera", (3,), 0, path)), crop=crop)


def _smplx_camera(data: Mapping, path: Path, person: int) -> np.ndarray | None:
    """fx, fy, cx, cy of a SMPLer-X translation: ``focal``/``princpt`` keys, else the demo's
    ``meta/<stem>.json`` beside the ``smplx/`` folder; None when neither exists."""
    if "focal" in data and "princpt" in data:
        return np.r_[_vector(data, "focal", (2,), person, path), _vector(data, "princpt", (2,), person, path)]
    meta_path = path.parent.parent / "meta" / f"{path.stem}.json"
    if not meta_path.is_file():
        return None
    meta = load_json(meta_path)
    return np.r_[_vector(meta, "focal", (2,), 0, meta_path), _vector(meta, "princpt", (2,), 0, meta_path)]


def _first_key(data: Mapping, keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` present in ``data``."""
    return next((k for k in keys if k in data), None)


def _axis_angle_file(data: Mapping, path: Path, person: int) -> BodyEstimate:
    """Axis-angle parameters: SMPLer-X output or our own ``betas`` / ``body_pose`` / ``global_orient``."""
    smplx = any(k in data for k in ("smplx_root_pose", "jaw_pose", "expression", "cam_trans"))
    orient_key, body_key = _first_key(data, ("global_orient", "smplx_root_pose")), _first_key(
        data, ("body_pose", "smplx_body_pose"))
    if orient_key is None or body_key is None:
        if "pose" not in data:
            raise SampleError(path, f"missing keys 'global_orient' and 'body_pose' (or 'pose'); "
                                    f"found {sorted(map(str, data))}")
        pose = _vector(data, "pose", (72, 156, 165), person, path)
        orient, body = pose[:3], pose[3:66]
    else:
        orient = _vector(data, orient_key, (3,), person, path)
        body = _vector(data, body_key, (63, 69), person, path)
    betas = _vector(data, _first_key(data, ("betas", "smplx_shape")) or "betas", (NUM_BETAS,), person, path)
    transl_key = _first_key(data, ("transl", "cam_trans"))
    transl = None if transl_key is None else _vector(data, transl_key, (3,), person, path)
    camera = _smplx_camera(data, path, person) if smplx else None
    if smplx and camera is None and transl is not None:
        log.info("%s: no focal/princpt for the SMPLer-X translation; it is not used", path)
        transl = None
    return _estimate(path, "smpler-x" if smplx else "npz", betas, body, orient, transl=transl,
                     transl_camera=camera)


def _from_pickle(data: Any, path: Path, person: int, frame: Any) -> BodyEstimate:
    """Dispatch a loaded pickle on its keys."""
    if not isinstance(data, Mapping):
        raise SampleError(path, f"expected a mapping of parameter names, got {type(data).__name__}")
    if "pred_smpl_params" in data:
        return _hmr2(data, path, person)
    if "pred_pose" in data:
        return _pare(data, path, person)
    if "pred_output_list" in data:
        return _frankmocap_pkl(data, path, person)
    if "results" in data:
        return _romp(data["results"], path, person, frame)
    values = list(data.values())
    if values and all(isinstance(v, Mapping) and "smpl" in v and "camera" in v for v in values):
        return _phalp(data, path, person, frame)
    return _axis_angle_file(data, path, person)


def read_body_estimate(path: str | Path, person: int = 0, frame: Any = None) -> BodyEstimate:
    """One person's body estimate from an estimator's file (layouts: see the module docstring).

    Args:
        path: ``.pkl`` (pickle or joblib), ``.npz`` or ``.json`` file.
        person: which person, for files with several (index along their person axis / list).
        frame: which frame, for files with several (PHALP tracks, ROMP ``video_results.npz``):
            a frame name, its file name, or an index in time order.

    Raises:
        ValueError: (a :class:`~hoirecon.data.readers.common.SampleError`) naming the file and key.
    """
    path = Path(path)
    if path.suffix == ".json":
        data = load_json(path)
        pose = _vector(data, "pose", (72,), person, path)
        return _estimate(path, "frankmocap", _vector(data, "betas", (NUM_BETAS,), person, path), pose[3:66], pose[:3])
    if path.suffix == ".npz":
        data = load_safe_npz(path)
        return _romp(data["results"], path, person, frame) if "results" in data else _axis_angle_file(data, path, person)
    if path.suffix == ".pkl":
        return _from_pickle(load_safe_pickle(path), path, person, frame)
    raise SampleError(path, "expected a .pkl, .npz or .json body estimate file")
