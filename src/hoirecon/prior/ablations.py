"""Training inputs that read ground truth: the ablation supervisions ``3d`` (true configurations
seen from random virtual cameras) and ``2d-gt-groups`` (oracle groups by true 3D distance).

These are ablations by definition; the paper's setting (``2d-knn``) and everything the fit uses
read evidence only (:mod:`hoirecon.prior.training_data`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from hoirecon.data.sample import Sample
from hoirecon.data.truth import true_x3d
from hoirecon.prior.grouping import Grouping, neighbour_weights


def ground_truth_groups(samples: Sequence[Sample], k: int) -> Grouping:
    """Oracle groups (the ``2d-gt-groups`` ablation): each image's k nearest images by true 3D
    configuration (mean keypoint distance, m)."""
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
