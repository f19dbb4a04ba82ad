"""Training inputs of the prior from dataset samples: observations, X2.5D vectors, groups.

An image's own 2.5D vector comes from its 2D keypoints and its camera pose in the human frame
(``pixels_to_rays``), as in the paper; for synthetic data that camera pose is the stored one, for
real data the readers derive it from the body fit. The conditioning input is the 2D layout:
``observations (K, 3)`` = pixel coordinates and confidences (the encoder normalises them), and
for image encoders the backbone feature of the image's crop (``hoirecon.prior.fitting_prior``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from hoirecon.data.sample import Sample
from hoirecon.geometry import pixels_to_rays, to_x25d
from hoirecon.objects import ObjectTemplate
from hoirecon.prior.grouping import Grouping, neighbour_weights
from hoirecon.prior.layout import KeypointLayout

log = logging.getLogger(__name__)


def observations(samples: Sequence[Sample]) -> Tensor:
    """Conditioning inputs (B, K, 3): pixel u, v and confidence of every keypoint."""
    kp = np.stack([s.keypoints_2d for s in samples])
    conf = np.stack([s.keypoint_conf for s in samples])[..., None]
    return torch.as_tensor(np.concatenate([kp, conf], axis=-1), dtype=torch.float32)


def observed_x25d(samples: Sequence[Sample], cam_rotation: np.ndarray | None = None,
                  cam_center: np.ndarray | None = None) -> Tensor:
    """Each image's own X2.5D (B, K+1, 3) from its 2D keypoints and camera (default: the stored one)."""
    rot = np.stack([s.cam_rotation for s in samples]) if cam_rotation is None else cam_rotation
    center = np.stack([s.cam_center for s in samples]) if cam_center is None else cam_center
    f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)  # noqa: E731
    rays = pixels_to_rays(f(np.stack([s.keypoints_2d for s in samples])), f(np.stack([s.focal for s in samples])),
                          f(np.stack([s.principal_point for s in samples])), f(rot))
    return to_x25d(rays, f(center)).float()


def true_x3d(samples: Sequence[Sample]) -> Tensor:
    """Ground-truth 3D keypoints (B, K, 3) in the human frame (samples must have ground truth)."""
    missing = [s.image_id for s in samples if s.gt is None]
    if missing:
        raise ValueError(f"samples without ground truth: {missing[:5]}")
    pts = [np.concatenate([s.gt.joints_3d, s.gt.object_keypoints_3d]) for s in samples]
    return torch.as_tensor(np.stack(pts), dtype=torch.float32)


def _swap_side(name: str) -> str:
    for a, b in (("left", "right"), ("right", "left"), ("neg_x", "pos_x"), ("pos_x", "neg_x")):
        if a in name:
            return name.replace(a, b)
    return name


def layout_for(template: ObjectTemplate) -> KeypointLayout:
    """Keypoint layout of a category: names, the mirror permutation and the symmetry relabellings."""
    names = list(template.keypoint_names)
    flip = [names.index(_swap_side(n)) if _swap_side(n) in names else i for i, n in enumerate(names)]
    if sorted(flip) != list(range(len(names))):
        flip = list(range(len(names)))
    perms = {tuple(int(v) for v in p) for p in np.asarray(template.keypoint_permutations)}
    perms.discard(tuple(range(len(names))))
    return KeypointLayout(tuple(names), tuple(flip), tuple(sorted(perms)))


def ground_truth_groups(samples: Sequence[Sample], k: int) -> Grouping:
    """Oracle groups: each image's k nearest images by true 3D configuration (mean keypoint distance, m)."""
    x3d = true_x3d(samples)
    dist = torch.cdist(x3d.flatten(1), x3d.flatten(1)) / np.sqrt(x3d.shape[1])
    dist.fill_diagonal_(float("inf"))
    k = min(k, len(samples) - 1)
    d, idx = dist.topk(k, dim=1, largest=False)
    return Grouping(idx, d, neighbour_weights(d), {"method": "ground-truth 3D", "k": k})


def virtual_views(samples: Sequence[Sample], views: int, seed: int = 0) -> Tensor:
    """Ground-truth X2.5D (B, views, K+1, 3) of each true configuration from random cameras (the '3d' mode)."""
    x3d = true_x3d(samples).double()
    gen = torch.Generator().manual_seed(seed)
    dist = torch.stack([torch.as_tensor(np.linalg.norm(s.cam_center)) for s in samples])
    az = torch.rand(len(samples), views, generator=gen) * 2 * np.pi
    el = torch.deg2rad(torch.rand(len(samples), views, generator=gen) * 45 - 10)
    direction = torch.stack([el.cos() * az.sin(), el.sin(), el.cos() * az.cos()], dim=-1).double()
    centers = direction * dist[:, None, None]
    rays = torch.nn.functional.normalize(x3d[:, None] - centers[:, :, None], dim=-1)
    return torch.cat([rays, centers[:, :, None]], dim=2).float()
