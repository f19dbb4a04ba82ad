"""Batched silhouette loss of posed templates against a mask, and its Adam refinement.

A hypothesis is a rotation, a fixed scale, the working-frame position of the projected template
origin and the log of its depth; the refinement perturbs the rotation on the left
(``R = exp([omega]) R0``, a rotation in the camera frame), the position and the log-depth. The
loss of one hypothesis compares surface samples X (P, 3) of the template, projected, with the
:class:`~hoirecon.fitting.mask_search_target.MaskTarget`:

- ``inside``: mean positive signed distance of the projected points to the allowed region
  (plus how far they leave the working crop), i.e. points must fall on the mask;
- ``contour`` and ``interior``: mean distance from mask samples to the nearest projected point,
  i.e. the projection must cover the mask, its contour in particular;
- ``depth`` (only with a reference depth): squared metres by which the origin's depth leaves
  ``reference +- tolerance``.

Together the first three vanish only when the projection fills the mask and nothing else; it is a
cheap stand-in for a rasterised silhouette IoU (distances instead of areas, no faces), whose
result is checked with the ray caster afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import roma
import torch
import torch.nn.functional as F
from torch import Tensor

from hoirecon.fitting.mask_search_target import MaskTarget

__all__ = ["Hypotheses", "LossWeights", "hypothesis_poses", "silhouette_losses", "refine"]

_MIN_DEPTH = 1e-2
_DIST_EPS = 1e-8


@dataclass(frozen=True)
class Hypotheses:
    """B object pose hypotheses in the working frame of a target."""

    rotation: Tensor
    """(B, 3, 3) template -> camera rotations."""
    scale: Tensor
    """(B,) template scales (held fixed)."""
    center: Tensor
    """(B, 2) working coordinates of the projected template origin."""
    log_depth: Tensor
    """(B,) log of the origin's depth, metres."""

    def __len__(self) -> int:
        return len(self.scale)

    def select(self, index: Tensor) -> Hypotheses:
        """The hypotheses at ``index`` (N,) (long or bool)."""
        return Hypotheses(self.rotation[index], self.scale[index], self.center[index], self.log_depth[index])


@dataclass(frozen=True)
class LossWeights:
    """Weights of the named loss terms (see module docstring)."""

    inside: float
    contour: float
    interior: float
    depth: float


def hypothesis_poses(hyp: Hypotheses, K_work: Tensor) -> tuple[Tensor, Tensor]:
    """Rotations (B, 3, 3) and camera-frame translations (B, 3) of ``hyp`` for working intrinsics (3, 3)."""
    depth = hyp.log_depth.exp()
    homog = torch.cat([hyp.center, torch.ones_like(hyp.center[:, :1])], dim=1)
    ray = homog @ torch.linalg.inv(K_work).T
    return hyp.rotation, depth[:, None] * ray / ray[:, 2:3]


def _project(points: Tensor, hyp: Hypotheses, K_work: Tensor) -> tuple[Tensor, Tensor]:
    """Working coordinates (B, P, 2) of template points (P, 3) under ``hyp``, and the translations (B, 3)."""
    rotation, translation = hypothesis_poses(hyp, K_work)
    cam = hyp.scale[:, None, None] * points @ rotation.transpose(1, 2) + translation[:, None]
    homog = cam @ K_work.T
    return homog[..., :2] / homog[..., 2:].clamp_min(_MIN_DEPTH), translation


def _nearest(samples: Tensor, projected: Tensor) -> Tensor:
    """(B, Q) index of the projected point of (B, P, 2) nearest to each mask sample of (Q, 2)."""
    with torch.no_grad():
        sq = torch.baddbmm(projected.square().sum(-1)[:, None, :], samples.expand(len(projected), -1, -1),
                           projected.transpose(1, 2), alpha=-2.0)
        return sq.argmin(dim=2)


def _coverage(samples: Tensor, projected: Tensor) -> Tensor:
    """(B,) mean distance from mask samples (Q, 2) to the nearest projected point of (B, P, 2).

    The nearest point is found without gradient, then the distance to it is differentiated: the
    same gradient as through the minimum, without back-propagating a (B, Q, P) matrix.
    """
    if len(samples) == 0:
        return projected.new_zeros(len(projected))
    index = _nearest(samples, projected)
    nearest = projected.gather(1, index[..., None].expand(-1, -1, 2))
    return ((samples - nearest).square().sum(-1) + _DIST_EPS).sqrt().mean(dim=1)


def _inside(target: MaskTarget, projected: Tensor) -> Tensor:
    """(B,) mean distance of projected points (B, P, 2) beyond the allowed region."""
    sdf = F.grid_sample(target.sdf.expand(len(projected), -1, -1, -1), projected[:, :, None, :],
                        mode="bilinear", padding_mode="border", align_corners=False)[:, 0, :, 0]
    beyond_crop = (projected.abs() - 1.0).clamp_min(0.0).sum(-1)
    return (sdf.clamp_min(0.0) + beyond_crop).mean(dim=1)


def silhouette_losses(
    points: Tensor,
    hyp: Hypotheses,
    target: MaskTarget,
    K_work: Tensor,
    weights: LossWeights,
    depth_range: tuple[float, float] | None,
    sample_limit: int | None = None,
) -> dict[str, Tensor]:
    """Named, already weighted loss terms, each (B,), of hypotheses ``hyp`` for template points (P, 3).

    ``depth_range`` (reference, tolerance) in metres switches the depth term on; ``sample_limit``
    uses only that many contour and interior samples (a cheaper, coarser loss).
    """
    projected, translation = _project(points, hyp, K_work)
    contour, interior = target.contour, target.interior
    if sample_limit is not None:
        contour = contour[torch.linspace(0, len(contour) - 1, min(sample_limit, len(contour))).round().long()]
        interior = interior[:sample_limit]
    terms = {
        "inside": weights.inside * _inside(target, projected),
        "contour": weights.contour * _coverage(contour, projected),
        "interior": weights.interior * _coverage(interior, projected),
    }
    if depth_range is not None:
        reference, tolerance = depth_range
        excess = ((translation[:, 2] - reference).abs() - tolerance).clamp_min(0.0)
        terms["depth"] = weights.depth * excess.square()
    return terms


def refine(
    points: Tensor,
    hyp: Hypotheses,
    target: MaskTarget,
    K_work: Tensor,
    weights: LossWeights,
    depth_range: tuple[float, float] | None,
    steps: int,
    lr: float,
    sample_limit: int | None = None,
) -> tuple[Hypotheses, dict[str, Tensor]]:
    """Run ``steps`` Adam steps on every hypothesis at once; return the refined hypotheses and
    their final loss terms (each (B,)).

    ``lr`` is the step size of the rotation (radians) and of the origin position (working
    units); the log-depth gets half of it. The rate decays to zero on a cosine. Hypotheses do not
    interact: the summed loss gives each its own gradient.
    """
    omega = torch.zeros(len(hyp), 3, requires_grad=True)
    shift = torch.zeros(len(hyp), 2, requires_grad=True)
    dlog = torch.zeros(len(hyp), requires_grad=True)
    optimiser = torch.optim.Adam([{"params": [omega, shift], "lr": lr}, {"params": [dlog], "lr": 0.5 * lr}])
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: 0.5 * (1.0 + math.cos(math.pi * i / max(steps, 1))))

    def current() -> Hypotheses:
        rotation = roma.rotvec_to_rotmat(omega) @ hyp.rotation
        return replace(hyp, rotation=rotation, center=hyp.center + shift, log_depth=hyp.log_depth + dlog)

    for _ in range(steps):
        optimiser.zero_grad(set_to_none=True)
        terms = silhouette_losses(points, current(), target, K_work, weights, depth_range, sample_limit)
        sum(terms.values()).sum().backward()
        optimiser.step()
        schedule.step()
    with torch.no_grad():
        final = current()
        final = replace(final, rotation=roma.special_procrustes(final.rotation))
        terms = silhouette_losses(points, final, target, K_work, weights, depth_range, sample_limit)
    return final, terms
