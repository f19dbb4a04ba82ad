"""Object evidence from files: 2D-3D correspondences and 2D keypoints in template order.

Layouts:

* EPro-PnP / StackFLOW correspondence pickle (``*.object_coor.<object>.pkl``):
  ``{"x3d": (P, 3) float32 object coordinates, "x2d": (P, 2) pixels, "w2d": (P, 2) per-axis
  weights}``, P = 64 x 64 for StackFLOW; its inference script may add ``pose_opt`` (7,):
  translation then quaternion w, x, y, z, the pose EPro-PnP solved (template -> camera).
* Our correspondence JSON ``{"points": [[x, y, z], ...], "pixels": [[u, v], ...],
  "weights"?: [w, ...]}``, points in the template frame (weights default to 1).
* Our object keypoint JSON ``{"keypoints": [[u, v, confidence], ...]}`` (or the bare list),
  one row per template keypoint in template order; confidence 0 = not visible.

Problems raise :class:`~hoirecon.data.readers.common.SampleError` (a ``ValueError``)
naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.data.readers.common import SampleError, as_array, field, load_json
from hoirecon.data.readers.pickles import load_safe_pickle


@dataclass(frozen=True)
class Correspondences:
    """P 2D-3D correspondences between template points and image pixels."""

    points: np.ndarray
    """(P, 3) points in the template (object) frame."""
    pixels: np.ndarray
    """(P, 2) pixels u, v."""
    weights: np.ndarray
    """(P,) non-negative weight of each correspondence (EPro-PnP: the mean of its two axes)."""
    axis_weights: np.ndarray | None = None
    """(P, 2) EPro-PnP's per-axis weights ``w2d``; None for files with one weight per point."""
    rotation: np.ndarray | None = None
    """(3, 3) template -> camera rotation the estimator solved, when the file has one."""
    translation: np.ndarray | None = None
    """(3,) template origin in the camera, with ``rotation``."""
    source: str = ""
    """``epro-pnp`` or ``json``."""


@dataclass(frozen=True)
class ObjectKeypoints:
    """The object's K template keypoints as seen in the image."""

    keypoints: np.ndarray
    """(K, 3) u, v pixels and confidence (>= 0), in template keypoint order; 0 = not visible."""

    @property
    def pixels(self) -> np.ndarray:
        """(K, 2) u, v."""
        return self.keypoints[:, :2]

    @property
    def confidence(self) -> np.ndarray:
        """(K,) confidence; 0 = not visible."""
        return self.keypoints[:, 2]


def _rows(data: Any, key: str, cols: int, path: Path) -> np.ndarray:
    """``data[key]`` as finite rows (N, cols), else an error naming the file and key."""
    value = field(data, key, path)
    try:
        arr = np.asarray(value, dtype=np.float64) if isinstance(value, (list, np.ndarray)) else None
    except (TypeError, ValueError) as err:
        raise SampleError(path, f"key {key!r}: not a numeric array ({err})") from err
    if arr is None or arr.size % cols or arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != cols):
        shape = None if arr is None else arr.shape
        raise SampleError(path, f"key {key!r}: expected rows of {cols} numbers, got {type(value).__name__} "
                                f"of shape {shape}")
    return as_array(arr, (arr.size // cols, cols), path, key)


def _non_negative(values: np.ndarray, path: Path, key: str) -> np.ndarray:
    """``values`` unchanged, or an error naming the key when one is negative."""
    if np.any(values < 0):
        raise SampleError(path, f"key {key!r}: weights must be non-negative")
    return values


def _same_length(path: Path, **arrays: np.ndarray) -> None:
    """An error naming the keys when the arrays' first dimensions differ."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise SampleError(path, f"keys {sorted(lengths)} must have the same length, got {lengths}")


def _pose(value: Any, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """EPro-PnP ``pose_opt`` (7,) t then quaternion w, x, y, z -> rotation (3, 3), translation (3,)."""
    pose = as_array(value, (7,), path, "pose_opt")
    if np.linalg.norm(pose[3:]) < 1e-9:
        raise SampleError(path, "key 'pose_opt': the quaternion is zero")
    return Rotation.from_quat(pose[[4, 5, 6, 3]]).as_matrix(), pose[:3]


def read_epro_pnp(path: str | Path) -> Correspondences:
    """An EPro-PnP / StackFLOW correspondence pickle ``{"x3d", "x2d", "w2d", "pose_opt"?}``."""
    path = Path(path)
    data = load_safe_pickle(path)
    points, pixels = _rows(data, "x3d", 3, path), _rows(data, "x2d", 2, path)
    axis_weights = _non_negative(_rows(data, "w2d", 2, path), path, "w2d")
    _same_length(path, x3d=points, x2d=pixels, w2d=axis_weights)
    rotation, translation = _pose(data["pose_opt"], path) if "pose_opt" in data else (None, None)
    return Correspondences(points, pixels, axis_weights.mean(1), axis_weights, rotation, translation, "epro-pnp")


def read_correspondence_json(path: str | Path) -> Correspondences:
    """Our correspondence JSON ``{"points": (P, 3), "pixels": (P, 2), "weights"?: (P,)}``."""
    path = Path(path)
    data = load_json(path)
    if not isinstance(data, Mapping):
        raise SampleError(path, f"expected a JSON object with 'points' and 'pixels', got {type(data).__name__}")
    points, pixels = _rows(data, "points", 3, path), _rows(data, "pixels", 2, path)
    weights = _rows(data, "weights", 1, path)[:, 0] if "weights" in data else np.ones(len(points))
    _same_length(path, points=points, pixels=pixels, weights=weights)
    return Correspondences(points, pixels, _non_negative(weights, path, "weights"), source="json")


def read_correspondences(path: str | Path) -> Correspondences:
    """Correspondences from a ``.pkl`` (EPro-PnP / StackFLOW) or ``.json`` (ours) file."""
    path = Path(path)
    if path.suffix == ".pkl":
        return read_epro_pnp(path)
    if path.suffix == ".json":
        return read_correspondence_json(path)
    raise SampleError(path, "expected a .pkl (EPro-PnP / StackFLOW) or .json correspondence file")


def read_object_keypoints(path: str | Path, num_keypoints: int | None = None) -> ObjectKeypoints:
    """Object keypoints ``{"keypoints": [[u, v, confidence], ...]}`` (or the bare list) in
    template order; ``num_keypoints`` (the template's K) is checked when given."""
    path = Path(path)
    data = load_json(path)
    rows = _rows({"keypoints": data} if isinstance(data, list) else data, "keypoints", 3, path)
    if num_keypoints is not None and len(rows) != num_keypoints:
        raise SampleError(path, f"key 'keypoints': {len(rows)} object keypoints, the template has {num_keypoints}")
    if np.any(rows[:, 2] < 0):
        raise SampleError(path, "key 'keypoints': confidences must be non-negative")
    return ObjectKeypoints(rows)
