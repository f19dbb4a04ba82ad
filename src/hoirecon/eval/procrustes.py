"""Procrustes alignment of one point set, at the numpy boundary of the metrics.

The solver is :func:`hoirecon.geometry.procrustes` (least-squares similarity, no reflections);
this module validates metric inputs and returns the aligned points with the similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hoirecon.eval._validate import array_arg, same_shape
from hoirecon.geometry import Similarity, procrustes


@dataclass(frozen=True, eq=False)
class ProcrustesResult:
    """Result of :func:`procrustes_align`."""

    aligned: np.ndarray
    """(N, 3) source mapped onto the target: ``similarity.apply(source)``."""
    similarity: Similarity
    """The similarity (numpy fields, no batch dims); scale 1 when aligned without scale."""


def procrustes_align(source: Any, target: Any, scale: bool = True) -> ProcrustesResult:
    """Align ``source`` onto ``target`` with the least-squares similarity (no reflections).

    Args:
        source: (N, 3) points to move (numpy array or torch tensor).
        target: (N, 3) corresponding points, same N.
        scale: estimate a scale as well; False gives the rigid (Kabsch) alignment.

    Returns:
        :class:`ProcrustesResult` with ``aligned (N, 3) = s * source @ R.T + t`` in the units of
        the inputs and the similarity ``(R, t, s)``. A source whose points all coincide gets
        scale 0, so every point lands on the target centroid.
    """
    src = array_arg(source, "source", (None, 3))
    tgt = array_arg(target, "target", (None, 3))
    same_shape(src, "source", tgt, "target")
    similarity = procrustes(src, tgt, scale=scale)
    return ProcrustesResult(aligned=similarity.apply(src), similarity=similarity)
