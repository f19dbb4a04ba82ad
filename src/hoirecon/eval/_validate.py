"""Input checks shared by the evaluation metrics.

Every public metric converts its inputs here, once, at the boundary: torch tensors and
array-likes become float64 numpy arrays, and anything of the wrong shape, empty or not finite
raises a ``ValueError`` that names the argument and what was expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ROTATION_ATOL = 1e-4
"""Largest tolerated deviation of ``R^T R`` from identity and of ``det R`` from 1."""


def as_float_array(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a float64 numpy array (torch tensors are detached and moved to CPU)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected a numeric array, got {type(value).__name__}") from error


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("*" if d is None else str(d) for d in shape) + ")"


def check_shape(array: np.ndarray, name: str, shape: tuple[int | None, ...]) -> None:
    """Raise ``ValueError`` unless ``array.shape`` matches ``shape`` (``None`` = any size)."""
    ok = array.ndim == len(shape) and all(
        want is None or want == got for want, got in zip(shape, array.shape)
    )
    if not ok:
        raise ValueError(f"{name}: expected shape {_shape_text(shape)}, got {array.shape}")


def array_arg(
    value: Any, name: str, shape: tuple[int | None, ...], allow_empty: bool = False
) -> np.ndarray:
    """Convert, then check shape, non-emptiness and finiteness of one array argument."""
    array = as_float_array(value, name)
    check_shape(array, name, shape)
    if not allow_empty and array.size == 0:
        raise ValueError(f"{name}: expected a non-empty array of shape {_shape_text(shape)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")
    return array


def points_arg(value: Any, name: str) -> np.ndarray:
    """A non-empty finite point set of shape (P, 3)."""
    return array_arg(value, name, (None, 3))


def rotations_arg(value: Any, name: str, lead: tuple[int | None, ...] = ()) -> np.ndarray:
    """Rotation matrices of shape ``(*lead, 3, 3)``: orthonormal with determinant +1."""
    rots = array_arg(value, name, (*lead, 3, 3))
    gram = np.einsum("...ji,...jk->...ik", rots, rots)
    off = np.max(np.abs(gram - np.eye(3)), initial=0.0)
    dets = np.linalg.det(rots) if rots.size else np.ones(0)
    if off > ROTATION_ATOL or np.any(np.abs(dets - 1.0) > ROTATION_ATOL):
        raise ValueError(f"{name}: expected rotation matrices (R^T R = I, det R = +1)")
    return rots


def scalar_arg(value: Any, name: str, positive: bool = False) -> float:
    """A finite real number, optionally required to be > 0."""
    array = as_float_array(value, name)
    if array.size != 1 or not np.isfinite(array).all():
        raise ValueError(f"{name}: expected one finite number, got {value!r}")
    number = float(array.reshape(()))
    if positive and number <= 0:
        raise ValueError(f"{name}: expected a positive number, got {number}")
    return number


def same_shape(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    """Raise ``ValueError`` unless two arrays have the same shape (same T, J, ...)."""
    if a.shape != b.shape:
        raise ValueError(f"{b_name}: expected the same shape as {a_name} {a.shape}, got {b.shape}")
