"""Training augmentations of 2.5D targets and their 2D observations.

* Horizontal flip: ``u -> -u`` in the observations; in the human frame ``x -> -x`` for rays and
  camera centre; keypoints re-indexed by the layout's flip permutation (left/right swap).
* Object symmetry: re-label the object keypoints by one of the layout's symmetries.
* Dequantisation: Gaussian noise on the targets, which gives the unit-ray shell a thickness.

An image and all its neighbours are transformed together, so the group stays consistent with
the condition computed from the (transformed) observations.
"""

from __future__ import annotations

import torch
from torch import Tensor

_MIRROR = torch.tensor([-1.0, 1.0, 1.0])


def permute_keypoints(x: Tensor, perm: Tensor) -> Tensor:
    """Re-index keypoints of ``x (B, ..., K, C)`` by ``perm (B, K)`` (row ``i`` takes ``perm[i]``)."""
    index = perm.view(perm.shape[0], *([1] * (x.dim() - 3)), perm.shape[1], 1)
    return x.gather(-2, index.expand(*x.shape[:-2], perm.shape[1], x.shape[-1]))


def flip_x25d(x25d: Tensor, perm: Tensor) -> Tensor:
    """Mirror ``x25d (..., K + 1, 3)`` (``x -> -x``) and re-index rays by ``perm (K,)``."""
    order = torch.cat([perm.to(x25d.device), torch.tensor([len(perm)], device=x25d.device)])
    return x25d[..., order, :] * _MIRROR.to(x25d)


def flip_observations(observations: Tensor, perm: Tensor) -> Tensor:
    """Mirror ``observations (..., K, 3)`` (``u -> -u``) and re-index them by ``perm (K,)``."""
    return observations[..., perm.to(observations.device), :] * _MIRROR.to(observations)


def augment_group(observations: Tensor, own: Tensor, targets: Tensor, flip_perm: Tensor,
                  symmetries: Tensor, flip_probability: float, generator: torch.Generator
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """Randomly flip / re-label each image with its targets.

    Shapes: ``observations (B, K, 3)``, ``own (B, K + 1, 3)``, ``targets (B, M, K + 1, 3)``,
    ``flip_perm (K,)``, ``symmetries (S, K)``; returns the three arrays transformed.
    """
    b, k, device = observations.shape[0], observations.shape[1], observations.device
    symmetries, flip_perm = symmetries.to(device), flip_perm.to(device)
    choice = torch.randint(0, symmetries.shape[0], (b,), generator=generator, device=device)
    perm = symmetries[choice]
    flip = torch.rand(b, generator=generator, device=device) < flip_probability
    perm = torch.where(flip[:, None], perm.gather(1, flip_perm.expand(b, k)), perm)
    sign = torch.where(flip, -1.0, 1.0).to(observations)
    centre_index = torch.full((b, 1), k, device=device)
    perm_x = torch.cat([perm, centre_index], 1)
    observations = permute_keypoints(observations, perm)
    observations = torch.cat([observations[..., :1] * sign[:, None, None], observations[..., 1:]], -1)
    own = permute_keypoints(own, perm_x)
    own = torch.cat([own[..., :1] * sign[:, None, None], own[..., 1:]], -1)
    targets = permute_keypoints(targets, perm_x)
    targets = torch.cat([targets[..., :1] * sign[:, None, None, None], targets[..., 1:]], -1)
    return observations, own, targets


def dequantize(x: Tensor, scale: float, generator: torch.Generator) -> Tensor:
    """``x + scale * N(0, 1)`` (no-op for ``scale == 0``)."""
    if scale == 0:
        return x
    return x + scale * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
