"""Read and validate SMPL-family body model files (``.pkl`` and ``.npz``).

A body model file is a mapping with at least ``v_template`` (V, 3), ``shapedirs``
(V, 3, S), ``J_regressor`` (J, V) (dense or scipy sparse), ``weights`` (V, J),
``kintree_table`` (2, J) and ``f`` (F, 3); ``posedirs`` (V, 3, 9(J-1)) is optional (a
model without pose correctives). SMPL-X files also carry hand and face keys, which are
not read. Every problem is reported as a ``ValueError`` naming the file and the key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from hoirecon.body.legacy_pickle import LegacyUnpickler, chumpy_to_array, load_legacy_pickle

logger = logging.getLogger(__name__)

REQUIRED_KEYS: tuple[str, ...] = ("v_template", "shapedirs", "J_regressor", "weights",
                                  "kintree_table", "f")
"""Keys every body model file must have."""
OPTIONAL_KEYS: tuple[str, ...] = ("posedirs",)
"""Keys read when present."""
MODEL_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS


def read_model_file(path: str | Path) -> dict[str, np.ndarray]:
    """Read a body model file (``.pkl``, possibly chumpy-pickled, or ``.npz``) and return
    its validated arrays: ``v_template`` (V, 3), ``shapedirs`` (V, 3, S), ``posedirs``
    (V, 3, 9(J-1)) when present, dense ``J_regressor`` (J, V), ``weights`` (V, J),
    ``kintree_table`` (2, J) int64 with root parent -1, and ``f`` (F, 3) int64."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"body model file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        raw = _read_npz(path)
    elif suffix == ".pkl":
        raw = _read_pickle(path)
    else:
        raise ValueError(f"{path}: unsupported body model file type {suffix!r}; "
                         "expected .pkl or .npz")
    return validate_model_arrays(raw, source=str(path))


def _read_pickle(path: Path) -> dict[str, Any]:
    """Unpickle a model file and evaluate the chumpy stand-ins of the keys we use."""
    try:
        data = load_legacy_pickle(path)
    except Exception as err:  # a corrupt pickle can fail in many ways
        raise ValueError(f"{path}: cannot unpickle the body model file "
                         f"(truncated or corrupt?): {err}") from err
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a pickled dict of arrays, got {type(data).__name__}")
    out = {}
    for key in MODEL_KEYS:
        if key in data:
            try:
                out[key] = chumpy_to_array(data[key])
            except ValueError as err:
                raise ValueError(f"{path}: cannot evaluate key {key!r}: {err}") from err
    return out


def _read_npz(path: Path) -> dict[str, Any]:
    """Load the model keys of an npz archive, unpickling object members safely."""
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as err:
        raise ValueError(f"{path}: not a readable .npz archive (truncated or corrupt?): "
                         f"{err}") from err
    with npz:
        return {key: _npz_member(npz, path, key) for key in MODEL_KEYS if key in npz.files}


def _npz_member(npz: Any, path: Path, key: str) -> Any:
    """One array of an open npz; object arrays go through the restricted unpickler."""
    try:
        return npz[key]
    except ValueError as err:
        if "allow_pickle" not in str(err):
            raise ValueError(f"{path}: cannot read key {key!r}: {err}") from err
    except Exception as err:
        raise ValueError(f"{path}: cannot read key {key!r} (truncated or corrupt?): "
                         f"{err}") from err
    try:
        with npz.zip.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            reader(member)
            value = LegacyUnpickler(member).load()
    except Exception as err:
        raise ValueError(f"{path}: cannot unpickle key {key!r}: {err}") from err
    value = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    return chumpy_to_array(value)


def _as_array(value: Any, source: str, key: str, dtype: type) -> np.ndarray:
    """Convert a file value (array, sparse matrix, nested list) to a numpy array."""
    if scipy.sparse.issparse(value):
        value = value.toarray()
    try:
        array = np.asarray(value)
        if array.dtype == object:
            raise TypeError("holds Python objects")
        array = array.astype(dtype, copy=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: key {key!r} is not a numeric array: {err}") from err
    if dtype is np.float64 and not np.isfinite(array).all():
        raise ValueError(f"{source}: key {key!r} contains NaN or infinite values")
    return array


def _check_shape(array: np.ndarray, expected: tuple[int | None, ...], source: str,
                 key: str, hint: str = "") -> None:
    """Raise a ValueError unless `array` has `expected` shape (None matches any size)."""
    ok = array.ndim == len(expected) and all(
        e is None or e == g for e, g in zip(expected, array.shape))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{source}: key {key!r} has shape {tuple(array.shape)}, "
                         f"expected {want}{hint}")


def _blend_basis(array: np.ndarray, n_verts: int, source: str, key: str,
                 size: int | None = None) -> np.ndarray:
    """Bring a blend-shape basis stored as (V, 3, C) or (V*3, C) to (V, 3, C)."""
    if array.ndim == 2 and array.shape[0] == 3 * n_verts:
        array = array.reshape(n_verts, 3, array.shape[1])
    hint = f" or ({3 * n_verts}, {'*' if size is None else size})"
    _check_shape(array, (n_verts, 3, size), source, key, hint)
    return array


def _parents(table: np.ndarray, source: str) -> np.ndarray:
    """Validate a kinematic tree table (2, J) and return it with the root parent as -1."""
    table = table.astype(np.int64)
    table[0, 0] = -1
    parents = table[0, 1:]
    children = np.arange(1, table.shape[1])
    if ((parents < 0) | (parents >= children)).any():
        bad = int(children[(parents < 0) | (parents >= children)][0])
        raise ValueError(f"{source}: key 'kintree_table' gives joint {bad} the parent "
                         f"{int(table[0, bad])}; every parent must be a lower joint index")
    return table


def validate_model_arrays(raw: Mapping[str, Any], source: str = "<arrays>"
                          ) -> dict[str, np.ndarray]:
    """Check and normalise the arrays of a body model (see `read_model_file` for the
    returned layout); `source` names the file in error messages."""
    for key in REQUIRED_KEYS:
        if key not in raw or raw[key] is None:
            raise ValueError(f"{source}: missing key {key!r} (a body model needs "
                             f"{', '.join(REQUIRED_KEYS)})")
    v_template = _as_array(raw["v_template"], source, "v_template", np.float64)
    _check_shape(v_template, (None, 3), source, "v_template")
    n_verts = v_template.shape[0]
    weights = _as_array(raw["weights"], source, "weights", np.float64)
    _check_shape(weights, (n_verts, None), source, "weights")
    n_joints = weights.shape[1]
    out = {"v_template": v_template, "weights": weights}
    shapedirs = _as_array(raw["shapedirs"], source, "shapedirs", np.float64)
    out["shapedirs"] = _blend_basis(shapedirs, n_verts, source, "shapedirs")
    if raw.get("posedirs") is not None:
        posedirs = _as_array(raw["posedirs"], source, "posedirs", np.float64)
        out["posedirs"] = _blend_basis(posedirs, n_verts, source, "posedirs",
                                       9 * (n_joints - 1))
    regressor = _as_array(raw["J_regressor"], source, "J_regressor", np.float64)
    _check_shape(regressor, (n_joints, n_verts), source, "J_regressor")
    out["J_regressor"] = regressor
    table = _as_array(raw["kintree_table"], source, "kintree_table", np.float64)
    _check_shape(table, (2, n_joints), source, "kintree_table")
    out["kintree_table"] = _parents(table, source)
    out["f"] = _faces(raw["f"], n_verts, source)
    return out


def _faces(value: Any, n_verts: int, source: str) -> np.ndarray:
    """Validate the triangle list (F, 3) and return it as int64."""
    faces = _as_array(value, source, "f", np.float64)
    _check_shape(faces, (None, 3), source, "f")
    if (faces != np.round(faces)).any() or (faces < 0).any() or (faces >= n_verts).any():
        raise ValueError(f"{source}: key 'f' must hold vertex indices in [0, {n_verts})")
    return faces.astype(np.int64)
