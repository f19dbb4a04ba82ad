"""Similarity Procrustes alignment (Umeyama 1991), the "PA" of PA-MPJPE and of the BEHAVE protocol.

The least-squares solution is roma's ``rigid_points_registration`` (Kabsch/Umeyama with optional
weights and scale, rotation restricted to det = +1); this module wraps it in a typed result
that can apply itself to points.
"""

from __future__ import annotations

from dataclasses import dataclass

import roma
import torch
from torch import Tensor

from hoirecon.geometry._checks import check_broadcast, check_tensor

_MIN_POINTS = 3


@dataclass(frozen=True)
class Similarity:
    """A similarity transform ``x -> scale * rotation @ x + translation``.

    Shapes: ``scale (...)``, ``rotation (..., 3, 3)`` (a proper rotation, det = +1) and
    ``translation (..., 3)``, with the same leading dims.
    """

    scale: Tensor
    rotation: Tensor
    translation: Tensor

    def apply(self, points: Tensor) -> Tensor:
        """Transform points: ``(..., P, 3) -> (..., P, 3)``, leading dims broadcasting."""
        check_tensor(points, "points", (None, 3))
        rotated = points @ self.rotation.transpose(-1, -2)
        return self.scale[..., None, None] * rotated + self.translation.unsqueeze(-2)


def _check_weights(weights: Tensor, num_points: int) -> None:
    """Raise ``ValueError`` naming ``weights`` unless they are (..., N), finite and >= 0."""
    check_tensor(weights, "weights", (num_points,))
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError("weights: expected finite, non-negative values")
    if bool((weights.sum(dim=-1) <= 0).any()):
        raise ValueError("weights: every batch element needs a positive total weight")


def procrustes(
    source: Tensor, target: Tensor, weights: Tensor | None = None, scale: bool = True
) -> Similarity:
    """The similarity (or rigid motion, ``scale=False``) best mapping ``source`` onto ``target``.

    Shapes: ``source (..., N, 3), target (..., N, 3), weights (..., N) | None -> Similarity``
    with leading dims broadcast. Minimises ``sum_i w_i |s R x_i + t - y_i|^2`` over proper
    rotations (reflections are excluded, det R = +1); with ``scale=False`` the scale is fixed
    to 1. Needs N >= 3 points; degenerate (collinear) sets give a valid but non-unique rotation.
    """
    check_tensor(source, "source", (None, 3))
    check_tensor(target, "target", (source.shape[-2], 3))
    if source.shape[-2] < _MIN_POINTS:
        raise ValueError(f"source: expected at least {_MIN_POINTS} points, got {tuple(source.shape)}")
    shapes = {"source": source.shape[:-2], "target": target.shape[:-2]}
    if weights is not None:
        _check_weights(weights, source.shape[-2])
        shapes["weights"] = weights.shape[:-1]
    batch = check_broadcast(shapes)
    source = source.expand(*batch, *source.shape[-2:])
    target = target.expand(*batch, *target.shape[-2:])
    if weights is not None:
        weights = weights.expand(*batch, weights.shape[-1])
    result = roma.rigid_points_registration(source, target, weights, compute_scaling=scale)
    rotation, translation = result[0], result[1]
    factor = result[2] if scale else torch.ones_like(translation[..., 0])
    return Similarity(scale=factor, rotation=rotation, translation=translation)
