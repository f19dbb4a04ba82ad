"""Training data of a prior on plain arrays: each image, its observations and its targets.

Every image ``i`` contributes its own 2.5D vector (weight ``self_weight``) and the 2.5D vectors
of other views of its interaction, all scored under the condition of image ``i`` (eq. 10):

* ``2d-knn`` / ``2d-gt-groups``: the other views are the image's group (a :class:`Grouping`,
  from KNN or from ground-truth multi-view ids), weighted by the grouping's weights;
* ``3d``: the caller passes ``x25d (N, V, K + 1, 3)``: view 0 is the image's own (observed) view
  and views ``1..V-1`` are renderings of the same ground-truth 3D keypoints from virtual cameras
  (e.g. random centres around the person), each with weight 1.

Per training step a random subset of ``per_image`` other views is drawn for each image. Image
encoders also get each image's backbone feature ``(N, F)``, computed once beforehand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from hoirecon.prior.grouping import Grouping

SUPERVISIONS = ("3d", "2d-gt-groups", "2d-knn")
"""Supervision modes (paper Table 2)."""


@dataclass
class Batch:
    """One step's data for ``B`` images and ``M = 1 + per_image`` targets each."""

    observations: Tensor
    """``(B, K, 3)`` observations of the images (the condition input)."""
    own: Tensor
    """``(B, K + 1, 3)`` the images' own 2.5D vectors."""
    targets: Tensor
    """``(B, M, K + 1, 3)``: the own vector first, then other views."""
    weights: Tensor
    """``(B, M)`` loss weights (0 for padding)."""
    features: Tensor | None = None
    """``(B, F)`` backbone features of the images (image encoders only)."""


def _pick(valid: Tensor, count: int, generator: torch.Generator | None) -> Tensor:
    """``count`` random column indices per row of ``valid (B, S)``, valid ones first -> ``(B, count)``."""
    if generator is None:
        order = torch.arange(valid.shape[1], device=valid.device).expand_as(valid).float()
    else:
        order = torch.rand(valid.shape, generator=generator, device=valid.device)
    order = torch.where(valid, order, order + 2.0)
    return order.topk(min(count, valid.shape[1]), dim=1, largest=False).indices


class TrainingSet:
    """Images, observations and other views, indexed by image."""

    def __init__(self, x25d: Tensor, observations: Tensor, grouping: Grouping | None,
                 self_weight: float = 1.0, features: Tensor | None = None) -> None:
        if features is not None and (not isinstance(features, Tensor) or features.dim() != 2
                                     or features.shape[0] != x25d.shape[0]
                                     or not torch.isfinite(features).all()):
            raise ValueError(f"features: expected finite ({x25d.shape[0]}, F) image features, got "
                             f"{tuple(features.shape) if isinstance(features, Tensor) else features}")
        self.views = x25d if x25d.dim() == 4 else None
        self.own = x25d[:, 0] if x25d.dim() == 4 else x25d
        self.observations = observations
        self.grouping = grouping
        self.self_weight = self_weight
        self.features = None if features is None else features.float()
        self._fingerprint: list[float] | None = None

    @property
    def device(self) -> torch.device:
        """Where the data lives (batches are built there)."""
        return self.own.device

    def to(self, device: torch.device) -> TrainingSet:
        """This data on ``device`` (a new set; its fingerprint is the one computed here, so that a
        checkpoint written on one device resumes on another)."""
        moved = TrainingSet.__new__(TrainingSet)
        moved.views = None if self.views is None else self.views.to(device)
        moved.own = moved.views[:, 0] if moved.views is not None else self.own.to(device)
        moved.observations = self.observations.to(device)
        moved.grouping = None if self.grouping is None else replace(
            self.grouping, neighbours=self.grouping.neighbours.to(device), distances=self.grouping.distances.to(device),
            weights=self.grouping.weights.to(device))
        moved.self_weight = self.self_weight
        moved.features = None if self.features is None else self.features.to(device)
        moved._fingerprint = self.fingerprint()
        return moved

    def __len__(self) -> int:
        return self.own.shape[0]

    def _others(self, rows: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """All other views of ``rows``: ``(B, S, K + 1, 3)``, weights ``(B, S)``, valid ``(B, S)``."""
        if self.views is not None:
            others = self.views[rows, 1:]
            valid = torch.ones(others.shape[:2], dtype=torch.bool, device=others.device)
            return others, valid.float(), valid
        neighbours = self.grouping.neighbours[rows]
        valid = neighbours >= 0
        return self.own[neighbours.clamp_min(0)], self.grouping.weights[rows] * valid, valid

    def batch(self, rows: Tensor, per_image: int | None, generator: torch.Generator | None) -> Batch:
        """Data of images ``rows (B,)`` with ``per_image`` other views each (None: all)."""
        others, weights, valid = self._others(rows)
        if per_image is not None and others.shape[1] > 0:
            pick = _pick(valid, per_image, generator)
            others = others.gather(1, pick[..., None, None].expand(-1, -1, *others.shape[2:]))
            weights = weights.gather(1, pick)
        own = self.own[rows]
        targets = torch.cat([own.unsqueeze(1), others], dim=1)
        self_w = torch.full((len(rows), 1), self.self_weight, device=own.device)
        features = None if self.features is None else self.features[rows]
        return Batch(self.observations[rows], own, targets, torch.cat([self_w, weights], dim=1), features)

    def fingerprint(self) -> list[float]:
        """Cheap identity of the data, stored in checkpoints to refuse resuming on other data."""
        if self._fingerprint is not None:
            return self._fingerprint
        parts = [self.own, self.observations] + ([self.views] if self.views is not None else [])
        parts += [self.features] if self.features is not None else []
        if self.grouping is not None:
            parts += [self.grouping.neighbours.double(), self.grouping.weights]
        return [float(len(self))] + [float(p.double().sum()) for p in parts]


def check_training_inputs(x25d: Tensor, observations: Tensor, grouping: Grouping | None,
                          supervision: str) -> None:
    """Raise ``ValueError`` naming the argument that does not fit the supervision mode."""
    if supervision not in SUPERVISIONS:
        raise ValueError(f"supervision: expected one of {SUPERVISIONS}, got {supervision!r}")
    dims = 4 if supervision == "3d" else 3
    shape = "(N, V, K + 1, 3)" if dims == 4 else "(N, K + 1, 3)"
    if not isinstance(x25d, Tensor) or x25d.dim() != dims or x25d.shape[-1] != 3:
        raise ValueError(f"x25d: supervision {supervision!r} expects {shape}, got "
                         f"{tuple(x25d.shape) if isinstance(x25d, Tensor) else type(x25d).__name__}")
    n, k = x25d.shape[0], x25d.shape[-2] - 1
    if not isinstance(observations, Tensor) or observations.shape != (n, k, 3):
        raise ValueError(f"observations: expected shape ({n}, {k}, 3) to match x25d, got "
                         f"{tuple(observations.shape) if isinstance(observations, Tensor) else observations}")
    if not (torch.isfinite(x25d).all() and torch.isfinite(observations).all()):
        raise ValueError("x25d, observations: contain NaN or inf")
    if supervision == "2d-gt-groups" and grouping is None:
        raise ValueError("grouping: supervision '2d-gt-groups' needs the ground-truth groups")
    if supervision == "3d" and grouping is not None:
        raise ValueError("grouping: supervision '3d' takes its views from x25d, not a grouping")
    if grouping is not None and len(grouping) != n:
        raise ValueError(f"grouping: has {len(grouping)} rows for {n} images")
