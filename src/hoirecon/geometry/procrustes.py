"""Similarity Procrustes alignment (Umeyama 1991), the "PA" of PA-MPJPE and of the BEHAVE protocol.

The best rotation for the weighted cross-covariance comes from roma's ``special_procrustes``
(restricted to det = +1, so reflections never come out); around it this module adds what the
metrics need and roma's ``rigid_points_registration`` does not give: a defined answer for a
source whose points all coincide (scale 0, identity rotation: every point lands on the target
centroid, the least-squares solution), numpy entry points, and a typed result that can apply
itself to points.
"""

from __future__ import annotations

import roma
import torch
from torch import Tensor

from hoirecon.geometry._arrays import accepts_numpy
from hoirecon.geometry._checks import check_broadcast, check_tensor
from hoirecon.geometry.transforms import Similarity

_MIN_POINTS = 1


def _check_weights(weights: Tensor, num_points: int) -> None:
    """Raise ``ValueError`` naming ``weights`` unless they are (..., N), finite and >= 0."""
    check_tensor(weights, "weights", (num_points,))
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError("weights: expected finite, non-negative values")
    if bool((weights.sum(dim=-1) <= 0).any()):
        raise ValueError("weights: every batch element needs a positive total weight")


def _normalized_weights(source: Tensor, weights: Tensor | None) -> Tensor:
    """Weights ``(..., N)`` summing to 1: uniform when ``weights`` is None."""
    if weights is None:
        return torch.full_like(source[..., 0], 1.0 / source.shape[-2])
    return weights / weights.sum(dim=-1, keepdim=True)


def _umeyama_scale(rotation: Tensor, cross: Tensor, variance: Tensor) -> Tensor:
    """Optimal scale ``tr(R^T M) / var(source)`` (Umeyama eq. 42), 0 for a collapsed source."""
    collapsed = variance <= torch.finfo(variance.dtype).tiny
    trace = (rotation * cross).sum(dim=(-2, -1))
    return torch.where(collapsed, torch.zeros_like(trace),
                       trace / torch.where(collapsed, torch.ones_like(variance), variance))


def _solve(source: Tensor, target: Tensor, weights: Tensor, scale: bool) -> Similarity:
    """The weighted similarity for validated, batch-aligned inputs (weights summing to 1)."""
    mean_source = (weights[..., None] * source).sum(dim=-2)
    mean_target = (weights[..., None] * target).sum(dim=-2)
    centred_source = source - mean_source[..., None, :]
    centred_target = target - mean_target[..., None, :]
    cross = torch.einsum("...n,...ni,...nj->...ij", weights, centred_target, centred_source)
    rotation = roma.special_procrustes(cross)
    factor = torch.ones_like(mean_source[..., 0])
    if scale:
        variance = torch.einsum("...n,...ni,...ni->...", weights, centred_source, centred_source)
        factor = _umeyama_scale(rotation, cross, variance)
        eye = torch.eye(3, dtype=rotation.dtype, device=rotation.device)
        rotation = torch.where((factor == 0)[..., None, None], eye, rotation)
    rotated_mean = (rotation @ mean_source[..., None])[..., 0]
    translation = mean_target - factor[..., None] * rotated_mean
    return Similarity(rotation=rotation, translation=translation, scale=factor)


@accepts_numpy
def procrustes(
    source: Tensor, target: Tensor, weights: Tensor | None = None, scale: bool = True
) -> Similarity:
    """The similarity (or rigid motion, ``scale=False``) best mapping ``source`` onto ``target``.

    Shapes: ``source (..., N, 3), target (..., N, 3), weights (..., N) | None -> Similarity``
    with leading dims broadcast. Minimises ``sum_i w_i |s R x_i + t - y_i|^2`` over proper
    rotations (reflections are excluded, det R = +1); with ``scale=False`` the scale is fixed
    to 1. Fewer than 3 points, or collinear ones, give a valid but non-unique rotation; a source
    whose points all coincide gives scale 0 and the identity rotation. Takes torch
    tensors or numpy arrays; numpy inputs give a :class:`Similarity` of numpy arrays.
    """
    check_tensor(source, "source", (None, 3))
    check_tensor(target, "target", (source.shape[-2], 3))
    if source.shape[-2] < _MIN_POINTS:
        raise ValueError(f"source: expected at least one point, got {tuple(source.shape)}")
    shapes = {"source": source.shape[:-2], "target": target.shape[:-2]}
    if weights is not None:
        _check_weights(weights, source.shape[-2])
        shapes["weights"] = weights.shape[:-1]
    batch = check_broadcast(shapes)
    source = source.expand(*batch, *source.shape[-2:])
    target = target.expand(*batch, *target.shape[-2:])
    if weights is not None:
        weights = weights.expand(*batch, weights.shape[-1])
    return _solve(source, target, _normalized_weights(source, weights), scale)
