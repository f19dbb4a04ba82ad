"""How good a grouping is, judged with the true 3D keypoints (synthetic data or captured sets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hoirecon.prior.grouping.chunked import _tensor
from hoirecon.prior.grouping.knn import Grouping
from hoirecon.prior.grouping.search import block_ranges


@dataclass(frozen=True)
class GroupingQuality:
    """How close grouped images' true 3D configurations are (needs ground truth)."""

    neighbour_median_m: float
    """Median mean-keypoint distance between an image's true configuration and its neighbours'."""
    random_median_m: float
    """The same for random pairs of images (the chance level)."""
    images_with_neighbours: float
    """Fraction of images that kept at least one neighbour."""


def streamed_quality(x3d: np.ndarray, grouping: Grouping, block: int, seed: int = 0) -> GroupingQuality:
    """Grouping quality (see :func:`hoirecon.prior.category.grouping_quality`, which calls this with
    one block) from true keypoints ``x3d (N, K, 3)``, read ``block`` rows at a time."""
    n, keypoints = x3d.shape[:2]
    valid, found = grouping.valid, []
    for start, stop in block_ranges(n, block):
        ok = valid[start:stop]
        mine = _tensor(x3d[start:stop]).flatten(1)
        local = torch.arange(stop - start)[:, None].expand_as(ok)[ok]
        theirs = _tensor(x3d[grouping.neighbours[start:stop][ok].numpy()]).flatten(1)
        found.append((mine[local] - theirs).view(-1, keypoints, 3).norm(dim=-1).mean(-1))
    neigh = torch.cat(found)
    a, b = torch.randint(n, (2, 4096), generator=torch.Generator().manual_seed(seed))
    pairs = _tensor(x3d[a.numpy()]).flatten(1) - _tensor(x3d[b.numpy()]).flatten(1)
    rand = pairs.view(-1, keypoints, 3).norm(dim=-1).mean(-1)[a != b]
    return GroupingQuality(float(neigh.median()) if len(neigh) else float("nan"), float(rand.median()),
                           float(valid.any(dim=1).float().mean()))
