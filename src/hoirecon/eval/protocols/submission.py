"""Reading RHOBIN submission and reference files (``results.pkl`` / ``ref.pkl``).

Layout (RHOBIN 2023)::

    {seq: {"frames": [T names], "gender": "male" | "female" | "neutral",
           "poses": (T, 72) or (T, 156), "betas": (T, 10), "trans": (T, 3),
           "obj_rots": (T, 3, 3) (or (T, 3) axis-angle), "obj_trans": (T, 3),
           "obj_scales": (T,) optional, "visible_ratios": (T,) optional,
           "obj_name": str optional}}

A reference may also use the official wrapped layout ``{"annotations": {seq: ...},
"templates": {obj_name: {"verts": (V, 3), "faces": (F, 3), "symmetries": [...]}}}``, where
the official ``occ_ratios`` is read as ``visible_ratios`` (it is the visible fraction).

Files are unpickled with a restricted unpickler that only rebuilds numpy arrays and builtin
containers: an evaluation file cannot run code. Structural problems (not a dict, missing key,
wrong shape) raise :class:`~hoirecon.eval.protocols.result.EvalInputError` naming the file,
sequence and key; bad values in single frames (NaN, a non-rotation, scale <= 0) only mark
those frames invalid (see :attr:`Sequence.valid`).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.eval.protocols.bodies import POSE_SIZES
from hoirecon.eval.protocols.result import EvalInputError

POSE_SHAPES = tuple((None, width) for width in POSE_SIZES)
BODY_KEYS = ("frames", "gender", "poses", "betas", "trans")
OBJECT_KEYS = ("obj_rots", "obj_trans")
GENDERS = ("male", "female", "neutral")
ROTATION_TOL = 1e-3
"""Largest deviation of ``R^T R`` from identity (and of det from 1) accepted for a frame."""
_RESERVED = ("annotations", "templates")

_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "complex"), ("builtins", "slice"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy arrays, dtypes and builtin containers."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS or module == "numpy.dtypes":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refers to {module}.{name}, which is not an array type")


@dataclass
class Sequence:
    """One sequence of a RHOBIN file, validated, float64."""

    name: str
    frames: list[str]
    """(T,) frame names."""
    gender: str
    poses: np.ndarray | None
    """(T, 72) or (T, 156) axis-angle."""
    betas: np.ndarray | None
    """(T, B) shape coefficients."""
    trans: np.ndarray | None
    """(T, 3) body translations."""
    obj_rots: np.ndarray | None
    """(T, 3, 3) object rotations (rows of NaN where unusable)."""
    obj_trans: np.ndarray | None
    """(T, 3) object translations."""
    obj_scales: np.ndarray | None
    """(T,) object scales, applied as ``(v @ R.T + t) * s``; None means 1."""
    visible_ratios: np.ndarray | None
    """(T,) visible fraction of the object."""
    obj_name: str | None
    """Object name, from ``obj_name`` or the third ``_``-separated part of the sequence name."""
    valid: np.ndarray
    """(T,) bool: the frame's values are finite, rotations proper, scales positive."""


@dataclass
class RhobinFile:
    """A parsed RHOBIN file: its sequences and (reference only) object templates."""

    path: Path
    sequences: dict[str, Sequence]
    templates: dict[str, Any]
    """Raw ``templates`` entries by object name (validated where used)."""

    @property
    def num_frames(self) -> int:
        """Total number of frames over all sequences."""
        return sum(len(s.frames) for s in self.sequences.values())


def read_pickle(path: str | Path) -> Any:
    """Unpickle an evaluation file (arrays and containers only); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"{path}: file not found")
    try:
        with open(path, "rb") as handle:
            return _ArrayUnpickler(handle).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError,
            TypeError, ValueError, OSError) as error:
        raise EvalInputError(
            f"{path}: not a readable results/reference pickle ({error})") from error


def _where(path: Path, seq: str, key: str | None = None) -> str:
    return f"{path}: sequence {seq!r}" + (f", key {key!r}" if key else "")


def _array(raw: dict, key: str, path: Path, seq: str, shapes: tuple[tuple, ...]) -> np.ndarray:
    """``raw[key]`` as float64 matching one of ``shapes`` (``None`` = any size, T checked later)."""
    try:
        value = np.asarray(raw[key], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise EvalInputError(f"{_where(path, seq, key)}: expected numbers ({error})") from error
    for shape in shapes:
        fits = all(w is None or w == g for w, g in zip(shape, value.shape))
        if value.ndim == len(shape) and fits:
            return value
    wanted = " or ".join(
        "(" + ", ".join("T" if w is None else str(w) for w in s) + ")" for s in shapes)
    raise EvalInputError(f"{_where(path, seq, key)}: expected shape {wanted}, got {value.shape}")


def _rotations(raw: dict, path: Path, seq: str) -> np.ndarray:
    value = _array(raw, "obj_rots", path, seq, ((None, 3, 3), (None, 3)))
    if value.ndim == 3:
        return value
    out = np.full((len(value), 3, 3), np.nan)
    finite = np.isfinite(value).all(axis=1)
    if finite.any():
        out[finite] = Rotation.from_rotvec(value[finite]).as_matrix()
    return out


def _frame_validity(seq: Sequence) -> np.ndarray:
    """(T,) frames whose values are finite, with proper rotations and positive scales."""
    valid = np.ones(len(seq.frames), dtype=bool)
    for value in (seq.poses, seq.betas, seq.trans, seq.obj_rots, seq.obj_trans, seq.obj_scales):
        if value is not None:
            valid &= np.isfinite(value.reshape(len(value), -1)).all(axis=1)
    if seq.obj_rots is not None:
        rots = np.where(valid[:, None, None], seq.obj_rots, np.eye(3))
        gram = np.abs(np.einsum("tji,tjk->tik", rots, rots) - np.eye(3)).max(axis=(1, 2))
        valid &= (gram < ROTATION_TOL) & (np.abs(np.linalg.det(rots) - 1.0) < ROTATION_TOL)
    if seq.obj_scales is not None:
        valid &= np.nan_to_num(seq.obj_scales) > 0
    return valid


def _frames(raw: dict, path: Path, seq: str) -> list[str]:
    value = raw["frames"]
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise EvalInputError(f"{_where(path, seq, 'frames')}: expected a list of frame names")
    return [str(f) for f in value]


def _gender(raw: dict, path: Path, seq: str) -> str:
    gender = str(raw["gender"]).lower()
    if gender not in GENDERS:
        raise EvalInputError(f"{_where(path, seq, 'gender')}: expected one of {GENDERS}, "
                             f"got {raw['gender']!r}")
    return gender


def _per_frame(raw: dict, key: str, path: Path, seq: str, n: int) -> np.ndarray | None:
    """Optional per-frame scalar (T,), (T, 1) or one number for the whole sequence."""
    if key not in raw or raw[key] is None:
        return None
    value = _array(raw, key, path, seq, ((), (None,), (None, 1)))
    return np.broadcast_to(value.reshape(-1) if value.ndim else value, (n,)).copy()


def _betas(raw: dict, path: Path, seq: str, n: int) -> np.ndarray:
    value = _array(raw, "betas", path, seq, ((None, None), (None,)))
    return np.broadcast_to(value, (n, value.shape[0])).copy() if value.ndim == 1 else value


def _check_lengths(seq: Sequence, path: Path) -> None:
    n = len(seq.frames)
    for key in ("poses", "betas", "trans", "obj_rots", "obj_trans", "obj_scales", "visible_ratios"):
        value = getattr(seq, key)
        if value is not None and len(value) != n:
            raise EvalInputError(f"{_where(path, seq.name, key)}: has {len(value)} rows, "
                                 f"but 'frames' lists {n}")


def parse_sequence(raw: Any, path: Path, name: str, need_body: bool,
                   need_object: bool) -> Sequence:
    """Validate one sequence entry; the keys a track needs must be present."""
    if not isinstance(raw, dict):
        raise EvalInputError(f"{_where(path, name)}: expected a dict of arrays, got "
                             f"{type(raw).__name__}")
    needed = ("frames", *(BODY_KEYS[1:] if need_body else ()),
              *(OBJECT_KEYS if need_object else ()))
    missing = [k for k in needed if k not in raw]
    if missing:
        raise EvalInputError(f"{_where(path, name)}: missing key {missing[0]!r}")
    frames = _frames(raw, path, name)
    body = need_body or all(k in raw for k in BODY_KEYS)
    obj = need_object or all(k in raw for k in OBJECT_KEYS)
    ratios_key = "visible_ratios" if "visible_ratios" in raw else "occ_ratios"
    parts = name.split("_")
    seq = Sequence(
        name=name, frames=frames,
        gender=_gender(raw, path, name) if body else "neutral",
        poses=_array(raw, "poses", path, name, POSE_SHAPES) if body else None,
        betas=_betas(raw, path, name, len(frames)) if body else None,
        trans=_array(raw, "trans", path, name, ((None, 3),)) if body else None,
        obj_rots=_rotations(raw, path, name) if obj else None,
        obj_trans=_array(raw, "obj_trans", path, name, ((None, 3),)) if obj else None,
        obj_scales=_per_frame(raw, "obj_scales", path, name, len(frames)) if obj else None,
        visible_ratios=_per_frame(raw, ratios_key, path, name, len(frames)),
        obj_name=str(raw.get("obj_name") or (parts[2] if len(parts) > 2 else "")) or None,
        valid=np.ones(len(frames), dtype=bool),
    )
    _check_lengths(seq, path)
    seq.valid = _frame_validity(seq)
    return seq


def load_rhobin_file(path: str | Path, need_body: bool, need_object: bool) -> RhobinFile:
    """Read and validate a ``results.pkl`` or ``ref.pkl`` for a track.

    Args:
        path: the pickle file.
        need_body: require ``gender``, ``poses``, ``betas``, ``trans`` in every sequence.
        need_object: require ``obj_rots`` and ``obj_trans`` in every sequence.
    """
    path = Path(path)
    data = read_pickle(path)
    if not isinstance(data, dict):
        raise EvalInputError(
            f"{path}: expected a dict {{sequence: {{...}}}}, got {type(data).__name__}")
    templates = data.get("templates", {}) or {}
    entries = data["annotations"] if "annotations" in data else {
        k: v for k, v in data.items() if k not in _RESERVED}
    if not isinstance(entries, dict) or not entries:
        raise EvalInputError(f"{path}: no sequences found")
    if not isinstance(templates, dict):
        raise EvalInputError(f"{path}: key 'templates' must map object names to meshes")
    sequences = {str(name): parse_sequence(raw, path, str(name), need_body, need_object)
                 for name, raw in entries.items()}
    return RhobinFile(path, sequences, templates)
