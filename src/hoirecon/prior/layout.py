"""Keypoint layout of a prior: 22 SMPL joints followed by the object's keypoints.

A horizontal image flip mirrors the human frame (``x -> -x``) and turns the body's left side
into its right side, so the flipped image's keypoint ``i`` is the original keypoint
``flip[i]``: SMPL joints swap left and right, and object keypoints follow a permutation that the
caller gives for the object (identity when its keypoints are mirror-symmetric as labelled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

SMPL_JOINT_COUNT = 22
"""Body keypoints of the 2.5D representation: SMPL joints 0-21 (no hands)."""

SMPL_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
)
"""Names of SMPL joints 0-21."""

SMPL_FLIP = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20)
"""Left/right swap of SMPL joints 0-21: joint ``i`` of a mirrored body is joint ``SMPL_FLIP[i]``."""


def _check_permutation(values: Sequence[int], size: int, name: str) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a permutation of ``range(size)``."""
    values = tuple(int(v) for v in values)
    if sorted(values) != list(range(size)):
        raise ValueError(f"{name}: expected a permutation of 0..{size - 1}, got {list(values)}")
    return values


@dataclass(frozen=True)
class KeypointLayout:
    """Names and symmetries of the ``K = 22 + t`` keypoints of a prior."""

    object_names: tuple[str, ...] = ()
    """Names of the ``t`` object keypoints, in order."""
    object_flip: tuple[int, ...] | None = None
    """Object keypoint permutation under a horizontal flip (None: identity)."""
    object_symmetries: tuple[tuple[int, ...], ...] = field(default=())
    """Relabellings of the object keypoints that leave the object unchanged (e.g. a barbell
    read from the other end); the identity is implied."""

    def __post_init__(self) -> None:
        t = len(self.object_names)
        if self.object_flip is not None:
            object.__setattr__(self, "object_flip", _check_permutation(self.object_flip, t, "object_flip"))
        symmetries = tuple(_check_permutation(p, t, "object_symmetries") for p in self.object_symmetries)
        object.__setattr__(self, "object_symmetries", symmetries)

    @classmethod
    def for_object(cls, n_object: int, **kwargs: object) -> KeypointLayout:
        """A layout with ``n_object`` object keypoints named ``object_0 ...``."""
        return cls(object_names=tuple(f"object_{i}" for i in range(n_object)), **kwargs)

    @property
    def n_object(self) -> int:
        """Number ``t`` of object keypoints."""
        return len(self.object_names)

    @property
    def n_keypoints(self) -> int:
        """Total number ``K = 22 + t`` of keypoints."""
        return SMPL_JOINT_COUNT + self.n_object

    @property
    def names(self) -> tuple[str, ...]:
        """All ``K`` keypoint names, body first."""
        return SMPL_JOINT_NAMES + self.object_names

    def flip_permutation(self) -> Tensor:
        """``(K,)`` int64: keypoint ``i`` of the flipped image is keypoint ``perm[i]``."""
        obj = self.object_flip if self.object_flip is not None else tuple(range(self.n_object))
        return torch.tensor(SMPL_FLIP + tuple(SMPL_JOINT_COUNT + i for i in obj))

    def symmetry_permutations(self) -> Tensor:
        """``(S, K)`` int64: the identity then each object symmetry, on all keypoints."""
        body = tuple(range(SMPL_JOINT_COUNT))
        perms = [tuple(range(self.n_object))] + list(self.object_symmetries)
        return torch.tensor([body + tuple(SMPL_JOINT_COUNT + i for i in p) for p in perms])

    def to_dict(self) -> dict:
        """Plain-data form for saving."""
        return {"object_names": list(self.object_names),
                "object_flip": None if self.object_flip is None else list(self.object_flip),
                "object_symmetries": [list(p) for p in self.object_symmetries]}

    @classmethod
    def from_dict(cls, data: dict) -> KeypointLayout:
        """Inverse of :meth:`to_dict`."""
        flip = data.get("object_flip")
        return cls(tuple(data.get("object_names", ())), None if flip is None else tuple(flip),
                   tuple(tuple(p) for p in data.get("object_symmetries", ())))
