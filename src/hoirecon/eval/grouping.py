"""Grouping recall and precision against the true multi-view groups.

A grouping (:class:`~hoirecon.prior.grouping.Grouping`) is made from evidence only; this module
reads the truth (which images show the same interaction instance) to say how well it did:

* ``recall_at_k``: per image, the share of its true group it found, out of as many as it could
  (``min(k, true group size)``), averaged over images with a true group;
* ``precision``: the share of found neighbours that show the same instance;
* ``other_view_share``: the share of found neighbours that show the same instance from ANOTHER
  video: true multi-view neighbours rather than near-duplicate frames of the image's own clip
  (needs video ids; otherwise every same-instance neighbour counts as another view).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hoirecon.data import load_dataset
from hoirecon.data.sample import Sample
from hoirecon.data.truth import has_instances, true_instances
from hoirecon.prior.grouping import Grouping
from hoirecon.prior.training_data import sample_videos, video_frame_ids


@dataclass(frozen=True)
class GroupingScore:
    """How a grouping matches the true groups."""

    recall_at_k: float
    """Mean over images with a true group of found true neighbours / min(k, true group size)."""
    precision: float
    """Found neighbours of the same instance / all found neighbours (nan when none was found)."""
    other_view_share: float
    """Found neighbours of the same instance from another video / all found neighbours."""
    k: int
    """Width of the grouping (neighbours per image at most)."""
    images: int
    """Images scored (those with a true group of at least one other image)."""


def _check(grouping: Grouping, instances: Tensor, video: Tensor | None) -> None:
    n = len(grouping)
    if instances.shape != (n,):
        raise ValueError(f"instances: expected shape ({n},) for a grouping of {n} images, got {tuple(instances.shape)}")
    if video is not None and video.shape != (n,):
        raise ValueError(f"video: expected shape ({n},), got {tuple(video.shape)}")
    if bool((grouping.neighbours >= n).any()):
        raise ValueError(f"grouping: neighbour indices beyond its {n} images")


def score_grouping(grouping: Grouping, instances: np.ndarray | Tensor, video: np.ndarray | Tensor | None = None
                   ) -> GroupingScore:
    """Recall@k and precision of ``grouping`` against true instance numbers ``instances (N,)``;
    ``video (N,)`` (optional) tells neighbours from the image's own clip apart."""
    instances = torch.as_tensor(np.asarray(instances)).long()
    video = None if video is None else torch.as_tensor(np.asarray(video)).long()
    _check(grouping, instances, video)
    found = grouping.valid
    same = (instances[grouping.neighbours.clamp_min(0)] == instances[:, None]) & found
    other = same if video is None else same & (video[grouping.neighbours.clamp_min(0)] != video[:, None])
    sizes = torch.bincount(instances)[instances] - 1
    k = grouping.neighbours.shape[1]
    scored = sizes > 0
    recall = same.sum(1)[scored].double() / sizes[scored].clamp(max=k).double()
    links = int(found.sum())
    return GroupingScore(
        recall_at_k=float(recall.mean()) if bool(scored.any()) else float("nan"),
        precision=float(same.sum()) / links if links else float("nan"),
        other_view_share=float(other.sum()) / links if links else float("nan"),
        k=k, images=int(scored.sum()))


def score_samples(samples: Sequence[Sample], grouping: Grouping) -> GroupingScore | None:
    """:func:`score_grouping` of the grouping of ``samples`` (same order), or None when they do not
    all name a true instance (unrelated stills have no true groups)."""
    if not has_instances(samples):
        return None
    videos = sample_videos(samples)
    return score_grouping(grouping, true_instances(samples), None if videos is None else videos[0])


def score_category(data_dir: str | Path, category: str, grouping: Grouping, split: str = "train") -> GroupingScore | None:
    """Score the grouping of a category's ``split`` images (what ``hoirecon group`` groups, in file
    order) against their ``gt_instance_id`` column; None when the dataset has no instance ids.
    Reads the columns, not samples, so it stays light on large sets."""
    data = load_dataset(data_dir)
    cols, rows = data.columns(category), data.indices(category, split)
    if "gt_instance_id" not in cols:
        return None
    if len(rows) != len(grouping):
        raise ValueError(f"grouping: {len(grouping)} rows for the {len(rows)} {split!r} images of {category!r}")
    _, instances = np.unique(np.asarray(cols["gt_instance_id"])[rows].astype(str), return_inverse=True)
    videos = None
    if "video_id" in cols:
        videos = video_frame_ids([str(v) for v in cols["video_id"][rows]], [int(f) for f in cols["frame_index"][rows]])
    return score_grouping(grouping, instances.reshape(len(rows)), None if videos is None else videos[0])
