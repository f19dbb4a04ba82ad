"""Stacking per-image samples into the tensors one batched fit needs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hoirecon.data.sample import Sample


def _pad(arrays: Sequence[np.ndarray], width: int, fill: float = 0.0) -> np.ndarray:
    """Stack arrays (Ni, ...) into (B, width, ...), padding with ``fill``."""
    out = np.full((len(arrays), width, *arrays[0].shape[1:]), fill, dtype=np.float64)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a[:width]
    return out


ESTIMATE_FIELDS = ("betas", "body_pose", "global_orient", "transl", "object_keypoints_2d", "object_keypoint_conf",
                   "corr_points", "corr_pixels", "corr_weight")
"""The numbers of an estimate a fit reads."""


def check_sample(sample: Sample, num_object_keypoints: int) -> None:
    """Raise ValueError naming the image and field when a sample cannot be fitted."""
    k = 22 + num_object_keypoints
    if sample.keypoints_2d.shape != (k, 2):
        raise ValueError(f"{sample.image_id}: keypoints_2d has shape {sample.keypoints_2d.shape}, expected {(k, 2)}")
    for name in ("keypoints_2d", "keypoint_conf", "coco_keypoints", "intrinsics", "cam_rotation", "cam_center"):
        if not np.isfinite(getattr(sample, name)).all():
            raise ValueError(f"{sample.image_id}: {name} contains NaN or inf")
    estimate = sample.estimate
    for name in ESTIMATE_FIELDS if estimate is not None else ():
        value = getattr(estimate, name)
        if value is not None and not np.isfinite(np.asarray(value, dtype=np.float64)).all():
            raise ValueError(f"{sample.image_id}: est_{name} contains NaN or inf")
    if sample.coco_keypoints[:, 2].sum() <= 0:
        raise ValueError(f"{sample.image_id}: no detected body keypoint (coco_keypoints) has a positive confidence")


def observation_tensors(samples: Sequence[Sample], dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Keypoints, confidences, intrinsics, image sizes and object correspondences of B samples.

    Images without correspondences get an all-zero-weight row (the object keypoints then
    carry the object reprojection term).
    """
    corr_w = [s.estimate.corr_weight if s.estimate is not None else np.zeros(0) for s in samples]
    width = max(1, max(len(w) for w in corr_w))
    corr_p = [s.estimate.corr_points if s.estimate is not None else np.zeros((0, 3)) for s in samples]
    corr_x = [s.estimate.corr_pixels if s.estimate is not None else np.zeros((0, 2)) for s in samples]
    arrays = {
        "keypoints": np.stack([s.keypoints_2d for s in samples]),
        "keypoint_conf": np.stack([s.keypoint_conf for s in samples]),
        "coco_keypoints": np.stack([s.coco_keypoints[:, :2] for s in samples]),
        "coco_conf": np.stack([s.coco_keypoints[:, 2] for s in samples]),
        "intrinsics": np.stack([s.intrinsics for s in samples]),
        "image_size": np.array([max(s.image_size) for s in samples], dtype=np.float64),
        "corr_points": _pad(corr_p, width),
        "corr_pixels": _pad(corr_x, width),
        "corr_weight": _pad([np.asarray(w, float) for w in corr_w], width),
    }
    return {k: torch.as_tensor(v, dtype=dtype) for k, v in arrays.items()}


def padded_ids(sets: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image vertex-id sets -> ids (B, N) and weights (B, N), zero-weight padded (N >= 0)."""
    width = max((len(s) for s in sets), default=0)
    ids = np.zeros((len(sets), width), dtype=np.int64)
    w = np.zeros((len(sets), width))
    for i, s in enumerate(sets):
        ids[i, : len(s)] = s
        w[i, : len(s)] = 1.0 if weights is None else weights[i]
    return torch.as_tensor(ids), torch.as_tensor(w, dtype=torch.float32)
