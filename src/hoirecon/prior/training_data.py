"""Training inputs of the prior from dataset samples: observations, X2.5D vectors, groups.

An image's own 2.5D vector comes from its 2D keypoints and its camera pose in the human frame
(``pixels_to_rays``), as in the paper; that camera pose is the dataset's evidence camera, derived
from a body estimate (never from ground truth; see ``docs/data-format.md``). The conditioning input is the 2D layout:
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


def video_frame_ids(video_ids: Sequence[str | None], frames: Sequence[int | None]) -> tuple[Tensor, Tensor] | None:
    """Video numbers and frame indices ``(N,)`` int64 for adjacent-frame rejection, or None when no
    image names a video. Stills among videos (``None`` / ``""`` video id) each get a video of their own."""
    if len(video_ids) != len(frames):
        raise ValueError(f"video ids and frames: {len(video_ids)} and {len(frames)} entries")
    named = [v is not None and str(v) != "" for v in video_ids]
    if not any(named):
        return None
    missing = [i for i, (ok, f) in enumerate(zip(named, frames)) if ok and f is None]
    if missing:
        raise ValueError(f"frame index missing for images {missing[:5]} that name a video")
    names = sorted({str(v) for v, ok in zip(video_ids, named) if ok})
    number = {name: i for i, name in enumerate(names)}
    video = np.array([number[str(v)] if ok else len(names) + i for i, (v, ok) in enumerate(zip(video_ids, named))],
                     np.int64)
    frame = np.array([int(f) if ok else 0 for f, ok in zip(frames, named)], np.int64)
    return torch.as_tensor(video), torch.as_tensor(frame)


def sample_videos(samples: Sequence[Sample]) -> tuple[Tensor, Tensor] | None:
    """:func:`video_frame_ids` of samples (their ``video_id`` / ``frame_index`` evidence)."""
    return video_frame_ids([s.video_id for s in samples], [s.frame_index for s in samples])
