"""Similarity (Umeyama) Procrustes alignment, single point set and batched over frames.

Given source points x and target points y, find the scale s, rotation R (det +1) and translation
t minimising ``sum |s R x + t - y|^2`` (Umeyama 1991). The rotation comes from the SVD of the
cross-covariance with the last singular direction flipped when the best orthogonal map would be a
reflection, so the result is always a proper rotation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hoirecon.eval._validate import array_arg, same_shape


class ProcrustesResult(NamedTuple):
    """Result of :func:`procrustes_align`; unpacks as ``aligned, s, R, t``."""

    aligned: np.ndarray
    """(N, 3) source mapped onto the target: ``s * source @ R.T + t``."""
    s: float
    """Scale (1.0 when alignment was asked without scale)."""
    R: np.ndarray
    """(3, 3) rotation, det +1."""
    t: np.ndarray
    """(3,) translation."""


class Similarities(NamedTuple):
    """Per-frame similarity transforms ``x -> s R x + t``; unpacks as ``s, R, t``."""

    s: np.ndarray
    """(T,) scales."""
    R: np.ndarray
    """(T, 3, 3) rotations, det +1."""
    t: np.ndarray
    """(T, 3) translations."""


def similarity_transforms(
    source: np.ndarray, target: np.ndarray, scale: bool = True
) -> Similarities:
    """Per-frame least-squares similarity mapping ``source`` onto ``target``.

    Args:
        source: (T, N, 3) float64 points (already validated).
        target: (T, N, 3) float64 points.
        scale: estimate the scale; if False it is fixed to 1.

    Returns:
        :class:`Similarities` ``s`` (T,), ``R`` (T, 3, 3) with det +1, ``t`` (T, 3) such that
        ``s[:, None, None] * source @ R.transpose(0, 2, 1) + t[:, None]`` best matches ``target``.
        A frame whose source points all coincide gets ``s = 0`` and ``R = I`` when scaling
        (every point then lands on the target centroid, the least-squares answer).
    """
    mu_src = source.mean(axis=1)
    mu_tgt = target.mean(axis=1)
    src = source - mu_src[:, None]
    tgt = target - mu_tgt[:, None]
    cov = np.einsum("tni,tnj->tij", tgt, src) / source.shape[1]
    u, sing, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    sign[sign == 0] = 1.0
    flip = np.ones((source.shape[0], 3))
    flip[:, 2] = sign
    rot = np.einsum("tij,tj,tjk->tik", u, flip, vt)
    if scale:
        var_src = np.einsum("tni,tni->t", src, src) / source.shape[1]
        degenerate = var_src <= np.finfo(np.float64).tiny
        s = (sing * flip).sum(axis=1) / np.where(degenerate, 1.0, var_src)
        s[degenerate] = 0.0
        rot[degenerate] = np.eye(3)
    else:
        s = np.ones(source.shape[0])
    t = mu_tgt - s[:, None] * np.einsum("tij,tj->ti", rot, mu_src)
    return Similarities(s, rot, t)


def apply_similarity(
    points: np.ndarray, s: np.ndarray, rot: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """``s R x + t`` per frame: points (T, N, 3), s (T,), rot (T, 3, 3), t (T, 3) -> (T, N, 3)."""
    return s[:, None, None] * np.einsum("tij,tnj->tni", rot, points) + t[:, None]


def procrustes_align(source: Any, target: Any, scale: bool = True) -> ProcrustesResult:
    """Align ``source`` onto ``target`` with the least-squares similarity (no reflections).

    Args:
        source: (N, 3) points to move (numpy array or torch tensor).
        target: (N, 3) corresponding points, same N.
        scale: estimate a scale as well; False gives the rigid (Kabsch) alignment.

    Returns:
        :class:`ProcrustesResult` ``(aligned (N, 3), s, R (3, 3), t (3,))`` with
        ``aligned = s * source @ R.T + t``, in the units of the inputs.
    """
    src = array_arg(source, "source", (None, 3))
    tgt = array_arg(target, "target", (None, 3))
    same_shape(src, "source", tgt, "target")
    s, rot, t = similarity_transforms(src[None], tgt[None], scale=scale)
    aligned = apply_similarity(src[None], s, rot, t)[0]
    return ProcrustesResult(aligned, float(s[0]), rot[0], t[0])
