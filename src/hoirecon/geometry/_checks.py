"""Input validation shared by the geometry functions.

Every public geometry function checks its tensor arguments here so that a wrong shape fails
at the boundary with a ``ValueError`` naming the argument, instead of deep inside a matmul.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor


def check_tensor(value: object, name: str, trailing: Sequence[int | None] = ()) -> Tensor:
    """Return ``value`` if it is a floating tensor whose last dims match ``trailing``.

    ``trailing`` lists the expected sizes of the last ``len(trailing)`` dimensions, ``None``
    meaning any size; the tensor may have any number of leading dims. Raises ``ValueError``
    naming ``name`` when ``value`` is not a floating-point tensor or has the wrong shape.
    """
    if not isinstance(value, Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got dtype {value.dtype}")
    _check_trailing(tuple(value.shape), name, trailing)
    return value


def _check_trailing(shape: tuple[int, ...], name: str, trailing: Sequence[int | None]) -> None:
    """Raise ``ValueError`` naming ``name`` unless the last dims of ``shape`` match ``trailing``."""
    expected = "(...," + ",".join("*" if s is None else str(s) for s in trailing) + ")"
    if len(shape) < len(trailing):
        raise ValueError(f"{name}: expected shape {expected}, got {shape}")
    tail = shape[len(shape) - len(trailing):]
    if any(s is not None and s != t for s, t in zip(trailing, tail)):
        raise ValueError(f"{name}: expected shape {expected}, got {shape}")


def check_same_size(a: Tensor, name_a: str, b: Tensor, name_b: str, dim: int) -> None:
    """Raise ``ValueError`` naming both arguments when ``a.shape[dim] != b.shape[dim]``."""
    if a.shape[dim] != b.shape[dim]:
        raise ValueError(
            f"{name_b}: expected size {a.shape[dim]} in dim {dim} to match {name_a} "
            f"{tuple(a.shape)}, got {tuple(b.shape)}"
        )


def check_broadcast(shapes: dict[str, Sequence[int]]) -> torch.Size:
    """Return the broadcast of the given batch shapes, or raise ``ValueError`` naming them."""
    try:
        return torch.broadcast_shapes(*shapes.values())
    except RuntimeError as error:
        described = ", ".join(f"{k} {tuple(v)}" for k, v in shapes.items())
        raise ValueError(f"{', '.join(shapes)}: batch dims do not broadcast ({described})") from error


def check_array(value: object, name: str, trailing: Sequence[int | None] = ()) -> Tensor | np.ndarray:
    """As :func:`check_tensor`, but also accepts a floating-point numpy array."""
    if isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.floating):
            raise ValueError(f"{name}: expected a floating-point array, got dtype {value.dtype}")
        _check_trailing(tuple(value.shape), name, trailing)
        return value
    if not isinstance(value, Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor or numpy array, got {type(value).__name__}")
    return check_tensor(value, name, trailing)
