"""The stages of the mask search before the ray casting: hypotheses, screening, refinement.

See :mod:`hoirecon.fitting.mask_search` for the method.
"""

from __future__ import annotations

import numpy as np
import torch
import trimesh

from hoirecon.fitting.mask_search_config import MaskSearchConfig
from hoirecon.fitting.mask_search_loss import Hypotheses, refine, silhouette_losses
from hoirecon.fitting.mask_search_target import MaskTarget
from hoirecon.objects import ObjectTemplate

__all__ = ["surface_points", "initial_hypotheses", "keep_best", "screen_and_refine", "pose_losses"]


def surface_points(template: ObjectTemplate, count: int, seed: int) -> torch.Tensor:
    """(count, 3) float32 area-uniform samples of the template's surface (any prefix is uniform too)."""
    mesh = trimesh.Trimesh(template.vertices, template.faces, process=False)
    points, _ = trimesh.sample.sample_surface(mesh, count, seed=seed)
    return torch.from_numpy(np.asarray(points)).float()


def initial_hypotheses(points: torch.Tensor, rotations: np.ndarray, scales: tuple[float, ...],
                       target: MaskTarget, K_work: torch.Tensor) -> Hypotheses:
    """Every rotation (N, 3, 3) at every scale, placed so its projected box matches the mask's.

    Weak perspective: the depth makes the diagonal of the rotated template's xy box, times the
    focal length, equal to the mask box's diagonal; the origin then projects so the box centres agree.
    """
    rot = torch.from_numpy(rotations).float().repeat(len(scales), 1, 1)
    scale = torch.tensor(scales, dtype=torch.float32).repeat_interleave(len(rotations))
    rotated = scale[:, None, None] * points @ rot.transpose(1, 2)
    lo, hi = rotated[..., :2].min(dim=1).values, rotated[..., :2].max(dim=1).values
    focal = torch.stack([K_work[0, 0], K_work[1, 1]])
    mask_diag = float(np.linalg.norm(target.bbox_size))
    depth = (torch.linalg.vector_norm(focal * (hi - lo), dim=1) / mask_diag).clamp_min(1e-3)
    center = torch.from_numpy(target.bbox_center).float() - focal * 0.5 * (lo + hi) / depth[:, None]
    return Hypotheses(rotation=rot, scale=scale, center=center, log_depth=depth.log())


def keep_best(hyp: Hypotheses, terms: dict[str, torch.Tensor], count: int) -> tuple[Hypotheses, dict[str, torch.Tensor]]:
    """The ``count`` hypotheses of lowest total loss, best first, with their loss terms."""
    order = torch.argsort(torch.nan_to_num(sum(terms.values()), nan=float("inf")))[:count]
    return hyp.select(order), {name: value[order] for name, value in terms.items()}


def screen_and_refine(points: torch.Tensor, hyp: Hypotheses, target: MaskTarget, K_work: torch.Tensor,
                       config: MaskSearchConfig, depth_range: tuple[float, float] | None,
                       ) -> tuple[Hypotheses, dict[str, torch.Tensor]]:
    """Score every hypothesis where it starts and keep ``screen_keep``; give those a few coarse
    steps and keep ``num_keep``; refine those on the full loss. Returns the refined hypotheses
    and their loss terms, best first."""
    weights = config.loss_weights()
    coarse = points[: config.screen_points]
    with torch.no_grad():
        terms = silhouette_losses(coarse, hyp, target, K_work, weights, depth_range, config.screen_samples)
    hyp, _ = keep_best(hyp, terms, config.screen_keep)
    hyp, terms = refine(coarse, hyp, target, K_work, weights, depth_range, config.screen_steps, config.screen_lr,
                        sample_limit=config.screen_samples)
    hyp, _ = keep_best(hyp, terms, config.num_keep)
    hyp, terms = refine(points, hyp, target, K_work, weights, depth_range, config.refine_steps, config.refine_lr)
    return keep_best(hyp, terms, len(hyp))


def pose_losses(points: torch.Tensor, rotation: np.ndarray, translation: np.ndarray, scale: float,
                 target: MaskTarget, K_work: torch.Tensor, config: MaskSearchConfig,
                 depth_range: tuple[float, float] | None) -> dict[str, float]:
    """Loss terms of one pose rotation (3, 3), translation (3,) (e.g. after the polish)."""
    homog = K_work.double().numpy() @ translation
    hyp = Hypotheses(rotation=torch.from_numpy(rotation).float()[None], scale=torch.tensor([scale]),
                     center=torch.from_numpy(homog[:2] / homog[2]).float()[None],
                     log_depth=torch.tensor([np.log(translation[2])], dtype=torch.float32))
    with torch.no_grad():
        terms = silhouette_losses(points, hyp, target, K_work, config.loss_weights(), depth_range)
    return {name: float(value[0]) for name, value in terms.items()}
