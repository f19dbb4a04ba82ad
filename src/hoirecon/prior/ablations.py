"""Training inputs that read ground truth: the ablation supervisions ``3d`` (true configurations
seen from random virtual cameras) and ``2d-gt-groups`` (the true multi-view groups: other views and
frames of the same interaction instance; by true 3D distance where a dataset has no instances).

These are ablations by definition; the paper's setting (``2d-knn``) and everything the fit uses
read evidence only (:mod:`hoirecon.prior.training_data`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from hoirecon.data.sample import Sample
from hoirecon.data.truth import has_instances, true_instances, true_x3d
from hoirecon.prior.grouping import Grouping, neighbour_weights
from hoirecon.prior.grouping.distances import paired_ray_distance

log = logging.getLogger(__name__)


def ground_truth_groups(samples: Sequence[Sample], k: int, x25d: Tensor | None = None) -> Grouping:
    """True groups (the ``2d-gt-groups`` ablation).

    When every sample names its ground-truth instance (multi-view data), the group of an image is
    every other image of the same instance (all its cameras and frames), each with weight 1: the
    paper's ground-truth multi-view grouping. Otherwise (unrelated stills) it falls back to an oracle
    of the k nearest images by true 3D configuration (mean keypoint distance, m). ``x25d
    (N, K + 1, 3)``, when given, fills the groups' eq. (11) distances (reported, not used as weights).
    """
    if has_instances(samples):
        return instance_groups(true_instances(samples), x25d)
    log.warning("no ground-truth instance ids: '2d-gt-groups' uses the %d nearest true 3D configurations", k)
    return nearest_truth_groups(samples, k)


def instance_groups(instances: np.ndarray, x25d: Tensor | None = None) -> Grouping:
    """Groups of images sharing an instance number ``instances (N,)``: ``(N, G - 1)`` neighbours for the
    largest instance of G images, ``-1`` padded, weight 1; distances by eq. (11) from ``x25d`` (else 0)."""
    instances = np.asarray(instances)
    order = np.argsort(instances, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(instances[order])) + 1)
    width = max(1, max(len(m) for m in members) - 1)
    idx = torch.full((len(instances), width), -1, dtype=torch.long)
    for group in members:
        for i in group:
            others = group[group != i]
            idx[i, :len(others)] = torch.as_tensor(others)
    valid = idx >= 0
    dist = torch.zeros(idx.shape)
    if x25d is not None:
        dist = paired_ray_distance(x25d.double().unsqueeze(1), x25d.double()[idx.clamp_min(0)]).float()
    dist = torch.where(valid, dist, float("inf"))
    stats = {"method": "ground-truth instances", "k": width, "n_images": len(instances),
             "mean_neighbours": float(valid.sum(1).float().mean()) if len(instances) else 0.0}
    return Grouping(idx, dist, valid.float(), stats)


def nearest_truth_groups(samples: Sequence[Sample], k: int) -> Grouping:
    """Oracle groups by truth without instance ids: each image's k nearest images by true 3D
    configuration (mean keypoint distance, m), weighted by that distance."""
    x3d = torch.as_tensor(true_x3d(samples))
    dist = torch.cdist(x3d.flatten(1), x3d.flatten(1)) / np.sqrt(x3d.shape[1])
    dist.fill_diagonal_(float("inf"))
    k = min(k, len(samples) - 1)
    d, idx = dist.topk(k, dim=1, largest=False)
    return Grouping(idx, d, neighbour_weights(d), {"method": "ground-truth 3D", "k": k})


def virtual_views(samples: Sequence[Sample], views: int, seed: int = 0) -> Tensor:
    """Ground-truth X2.5D (B, views, K+1, 3) of each true configuration from random cameras (the '3d' mode)."""
    x3d = torch.as_tensor(true_x3d(samples)).double()
    gen = torch.Generator().manual_seed(seed)
    dist = torch.stack([torch.as_tensor(np.linalg.norm(s.cam_center)) for s in samples])
    az = torch.rand(len(samples), views, generator=gen) * 2 * np.pi
    el = torch.deg2rad(torch.rand(len(samples), views, generator=gen) * 45 - 10)
    direction = torch.stack([el.cos() * az.sin(), el.sin(), el.cos() * az.cos()], dim=-1).double()
    centers = direction * dist[:, None, None]
    rays = torch.nn.functional.normalize(x3d[:, None] - centers[:, :, None], dim=-1)
    return torch.cat([rays, centers[:, :, None]], dim=2).float()
