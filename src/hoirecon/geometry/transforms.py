"""Rigid and similarity transforms of 3D points: the one pose vocabulary of the package.

A :class:`RigidTransform` maps ``p -> rotation @ p + translation`` and a :class:`Similarity`
maps ``p -> scale * rotation @ p + translation``. Both are frozen dataclasses whose fields are
all torch tensors or all numpy arrays (the methods return the same kind), with any leading
batch dims: ``rotation (..., 3, 3)``, ``translation (..., 3)``, ``scale (...)``. Batch dims of the
fields broadcast and are expanded to one common shape on construction, so ``transform[i]``
indexes every field alike. Rotations are taken as given (proper rotations, ``det = +1``); the
inverse uses the transpose.

Composition reads like function composition: ``a.compose(b).apply(p) == a.apply(b.apply(p))``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hoirecon.geometry._checks import check_array, check_broadcast

Array = Tensor | np.ndarray
"""A torch tensor or a numpy array; one transform never mixes the two."""


def _transpose(matrices: Array) -> Array:
    """Swap the last two dims: ``(..., 3, 3) -> (..., 3, 3)``."""
    return matrices.swapaxes(-1, -2)


def _rotate(rotation: Array, vectors: Array) -> Array:
    """``rotation @ v`` for vectors: ``(..., 3, 3), (..., 3) -> (..., 3)``, leading dims broadcast."""
    return (vectors[..., None, :] @ _transpose(rotation))[..., 0, :]


def _expand(value: Array, shape: tuple[int, ...]) -> Array:
    """``value`` broadcast to ``shape`` (a view; the value itself when it already has it)."""
    if tuple(value.shape) == shape:
        return value
    return value.expand(shape) if isinstance(value, Tensor) else np.broadcast_to(value, shape)


def _ones_like(value: Array) -> Array:
    return torch.ones_like(value) if isinstance(value, Tensor) else np.ones_like(value)


def _check_kind(value: Array, name: str, like: Array, like_name: str) -> None:
    """Raise ``ValueError`` naming ``name`` unless it is the same array kind and dtype as ``like``."""
    if isinstance(value, Tensor) != isinstance(like, Tensor) or value.dtype != like.dtype:
        raise ValueError(f"{name}: expected a {type(like).__name__} of dtype {like.dtype} like "
                         f"{like_name}, got a {type(value).__name__} of dtype {value.dtype}")


def _validated(transform: Any, trailing: dict[str, tuple[int, ...]]) -> None:
    """Check every field's type and trailing dims, then expand all to their common batch shape."""
    values = {name: check_array(getattr(transform, name), name, dims) for name, dims in trailing.items()}
    for name, value in values.items():
        _check_kind(value, name, values["rotation"], "rotation")
    shapes = {name: tuple(value.shape[: value.ndim - len(trailing[name])]) for name, value in values.items()}
    batch = tuple(check_broadcast(shapes))
    for name, value in values.items():
        object.__setattr__(transform, name, _expand(value, batch + trailing[name]))


def _indexed(transform: Any, index: Any) -> Any:
    """A transform of the same type holding ``field[index]`` of every field."""
    return type(transform)(**{f.name: getattr(transform, f.name)[index] for f in fields(transform)})


def _points(transform: Any, points: Array) -> Array:
    """Validate ``points (..., P, 3)`` against the transform's array kind and dtype."""
    check_array(points, "points", (None, 3))
    _check_kind(points, "points", transform.rotation, "the transform's rotation")
    return points


@dataclass(frozen=True, eq=False)
class RigidTransform:
    """A rigid motion ``p -> rotation @ p + translation`` (see the module docstring)."""

    rotation: Array
    """(..., 3, 3) proper rotation."""
    translation: Array
    """(..., 3) translation, applied after the rotation."""

    def __post_init__(self) -> None:
        """Validate the fields and expand them to one batch shape (``ValueError`` names the field)."""
        _validated(self, {"rotation": (3, 3), "translation": (3,)})

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading dims shared by the fields."""
        return tuple(self.translation.shape[:-1])

    def __getitem__(self, index: Any) -> RigidTransform:
        """The transforms at ``index`` of the batch dims (basic or advanced indexing)."""
        return _indexed(self, index)

    def apply(self, points: Array) -> Array:
        """Transform points: ``(..., P, 3) -> (..., P, 3)``, leading dims broadcasting."""
        rotated = _points(self, points) @ _transpose(self.rotation)
        return rotated + self.translation[..., None, :]

    def inverse(self) -> RigidTransform:
        """The inverse motion ``p -> rotation^T @ (p - translation)``."""
        rotation = _transpose(self.rotation)
        return RigidTransform(rotation=rotation, translation=-_rotate(rotation, self.translation))

    def compose(self, other: RigidTransform) -> RigidTransform:
        """``self`` after ``other``: ``p -> self.apply(other.apply(p))``; batch dims broadcast."""
        return RigidTransform(rotation=self.rotation @ other.rotation,
                              translation=_rotate(self.rotation, other.translation) + self.translation)


@dataclass(frozen=True, eq=False)
class Similarity:
    """A similarity ``p -> scale * rotation @ p + translation`` (see the module docstring)."""

    rotation: Array
    """(..., 3, 3) proper rotation."""
    translation: Array
    """(..., 3) translation, applied after rotation and scale."""
    scale: Array
    """(...) scale factor (0 collapses every point onto ``translation``)."""

    def __post_init__(self) -> None:
        """Validate the fields and expand them to one batch shape (``ValueError`` names the field)."""
        _validated(self, {"rotation": (3, 3), "translation": (3,), "scale": ()})

    @classmethod
    def from_rigid(cls, transform: RigidTransform) -> Similarity:
        """The rigid motion ``transform`` as a similarity of scale 1."""
        return cls(rotation=transform.rotation, translation=transform.translation,
                   scale=_ones_like(transform.translation[..., 0]))

    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading dims shared by the fields."""
        return tuple(self.scale.shape)

    def __getitem__(self, index: Any) -> Similarity:
        """The similarities at ``index`` of the batch dims (basic or advanced indexing)."""
        return _indexed(self, index)

    def apply(self, points: Array) -> Array:
        """Transform points: ``(..., P, 3) -> (..., P, 3)``, leading dims broadcasting."""
        rotated = _points(self, points) @ _transpose(self.rotation)
        return self.scale[..., None, None] * rotated + self.translation[..., None, :]

    def inverse(self) -> Similarity:
        """The inverse ``p -> rotation^T @ (p - translation) / scale`` (needs ``scale != 0``)."""
        rotation, scale = _transpose(self.rotation), 1.0 / self.scale
        translation = -scale[..., None] * _rotate(rotation, self.translation)
        return Similarity(rotation=rotation, translation=translation, scale=scale)

    def compose(self, other: Similarity) -> Similarity:
        """``self`` after ``other``: ``p -> self.apply(other.apply(p))``; batch dims broadcast."""
        moved = self.scale[..., None] * _rotate(self.rotation, other.translation)
        return Similarity(rotation=self.rotation @ other.rotation, translation=moved + self.translation,
                          scale=self.scale * other.scale)
