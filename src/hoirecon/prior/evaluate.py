"""Evaluating a prior by best-of-n: how close does the nearest of n samples come to the truth?

A sample is a 2.5D vector: a camera centre and one ray per keypoint. It is consistent with a true
3D configuration when every true keypoint lies on its sampled ray, so the error of a sample
against true 3D keypoints ``x3d (K, 3)`` is the mean distance from each true keypoint to its ray
(a half-line from the sampled centre; points behind the camera are measured to the centre), in
metres. Given a true 2.5D vector instead (one real view), the error is the ray distance of
eq. (11) between the sample and that view, also in metres. The score of an image is the error of
its best sample; the summary is the median over images.

Run the same function on an unconditional prior (trained with the 'none' encoder) to measure
what the condition adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hoirecon.prior.grouping.distances import paired_ray_distance
from hoirecon.prior.prior import Prior


@dataclass
class BestOfN:
    """Best-of-n errors of a prior on a set of images."""

    median: float
    """Median over images of the best sample's error (metres)."""
    per_image: Tensor
    """``(N,)`` best sample's error per image (metres)."""
    n: int
    """Samples drawn per image."""
    distance: str
    """'point-to-ray' (truth given as 3D keypoints) or 'ray' (truth given as a 2.5D vector)."""


def point_to_ray_error(x25d: Tensor, x3d: Tensor) -> Tensor:
    """Mean distance from points ``x3d (..., K, 3)`` to the half-lines of ``x25d (..., K + 1, 3)`` -> ``(...)``."""
    rays = torch.nn.functional.normalize(x25d[..., :-1, :], dim=-1)
    offset = x3d - x25d[..., -1:, :]
    along = (offset * rays).sum(-1, keepdim=True).clamp_min(0.0)
    return torch.linalg.vector_norm(offset - along * rays, dim=-1).mean(-1)


@torch.no_grad()
def best_of_n_error(prior: Prior, observations: Tensor, truth: Tensor, n: int = 16,
                    observed_x25d: Tensor | None = None, batch_size: int = 256,
                    generator: torch.Generator | None = None, features: Tensor | None = None) -> BestOfN:
    """Best-of-``n`` error of ``prior`` on images ``observations (N, K, 3)``.

    ``truth`` is either the true 3D keypoints ``(N, K, 3)`` in the human frame or a true 2.5D
    vector ``(N, K + 1, 3)`` (see the module docstring). ``observed_x25d`` is needed only by
    encoders that use rays, ``features (N, F)`` only by image encoders.
    """
    k = prior.n_keypoints
    if truth.dim() != 3 or truth.shape[0] != observations.shape[0] or truth.shape[2] != 3 \
            or truth.shape[1] not in (k, k + 1):
        raise ValueError(f"truth: expected ({observations.shape[0]}, {k}, 3) 3D keypoints or "
                         f"({observations.shape[0]}, {k + 1}, 3) 2.5D vectors, got {tuple(truth.shape)}")
    if n < 1:
        raise ValueError(f"n: expected >= 1, got {n}")
    kind = "point-to-ray" if truth.shape[1] == k else "ray"
    errors = []
    for start in range(0, len(observations), batch_size):
        part = slice(start, start + batch_size)
        own = None if observed_x25d is None else observed_x25d[part]
        feats = None if features is None else features[part]
        samples = prior.sample(observations[part], n, own, generator=generator, features=feats)
        target = truth[part].unsqueeze(1).to(samples)
        error = point_to_ray_error(samples, target) if kind == "point-to-ray" \
            else paired_ray_distance(samples, target)
        errors.append(error.min(dim=1).values)
    per_image = torch.cat(errors) if errors else torch.empty(0)
    median = float(per_image.median()) if len(per_image) else float("nan")
    return BestOfN(median, per_image, n, kind)
