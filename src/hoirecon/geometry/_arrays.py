"""Numpy entry points for the torch geometry functions.

Evaluation code works in float64 numpy. Rather than keep numpy twins of the geometry functions
(which drift apart), a function decorated with :func:`accepts_numpy` turns numpy array arguments
into tensors (sharing memory where torch can), runs the one torch implementation and, when no
argument was a tensor, turns the tensors of its result back into numpy arrays. A result that is
a dataclass (:class:`~hoirecon.geometry.transforms.Similarity`) is converted field by field.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import numpy as np
import torch
from torch import Tensor

P = ParamSpec("P")
R = TypeVar("R")


def _common_dtype(arrays: list[np.ndarray]) -> np.dtype:
    """The dtype numpy would compute the arrays in; float64 when that is not floating."""
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _to_tensor(value: Any, dtype: np.dtype) -> Any:
    """``value`` as a tensor of ``dtype`` when it is a numpy array, else unchanged."""
    if not isinstance(value, np.ndarray):
        return value
    array = np.asarray(value, dtype=dtype)
    # torch cannot share read-only memory or negative strides, so those are copied.
    if not array.flags.writeable or any(stride < 0 for stride in array.strides):
        array = array.copy()
    return torch.from_numpy(array)


def to_numpy(value: Any) -> Any:
    """Tensors in ``value`` (itself, or the fields of a dataclass) as numpy arrays."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_numpy(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **fields)
    return value


def accepts_numpy(func: Callable[P, R]) -> Callable[P, R]:
    """Let a torch function also take numpy arrays, and return numpy when given only numpy.

    Numpy arguments are converted to tensors of one common floating dtype (integers become
    float64); with at least one tensor argument the result stays in torch.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        values = (*args, *kwargs.values())
        arrays = [v for v in values if isinstance(v, np.ndarray)]
        if not arrays:
            return func(*args, **kwargs)
        dtype = _common_dtype(arrays)
        result = func(*(_to_tensor(a, dtype) for a in args),
                      **{k: _to_tensor(v, dtype) for k, v in kwargs.items()})
        return result if any(isinstance(v, Tensor) for v in values) else to_numpy(result)

    return wrapper
