"""Synthetic renders dressed up as a user's photo folder, for the collection tests and bench.

The synthetic generator makes images with ground truth; this turns one split into what a user
would have: the images alone, a person detector's file per image (COCO results, from the
generator's simulated detector), a body estimator's file (its simulated HMR-style estimate),
the camera, and simulated clicks (the true object keypoints projected, plus a few pixels of
noise). The truth is returned separately, for scoring only; nothing of it is in the folder.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.collect.annotations import VISIBLE, empty_annotations, write_annotations
from hoirecon.data import load_dataset


@dataclass(frozen=True)
class TruePose:
    """The true object pose in the camera (template scaled by ``scale``)."""

    rotation: np.ndarray
    translation: np.ndarray
    scale: float


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:]


def make_photo_folder(data_root: Path, category: str, split: str, out: Path, click_noise_px: float = 2.0,
                      seed: int = 0, annotation_name: str = "annotations.json") -> dict[str, TruePose]:
    """Write ``out/<id>.png`` and its evidence files; returns image id -> true object pose (camera)."""
    rng = np.random.default_rng(seed)
    data = load_dataset(data_root)
    cols = data.columns(category)
    names = list(data.category_info(category)["keypoint_names"])
    doc = empty_annotations(category, names)
    out.mkdir(parents=True, exist_ok=True)
    truth: dict[str, TruePose] = {}
    for i in data.indices(category, split):
        image_id = str(cols["image_id"][i])
        shutil.copyfile(data_root / str(cols["image_file"][i]), out / f"{image_id}.png")
        coco = cols["coco_keypoints"][i].astype(float)
        result = [{"image_id": image_id, "category_id": 1, "keypoints": coco.reshape(-1).tolist(),
                   "score": float(coco[:, 2].mean())}]
        (out / f"{image_id}.keypoints.json").write_text(json.dumps(result))
        np.savez(out / f"{image_id}.body.npz", betas=cols["est_betas"][i], body_pose=cols["est_body_pose"][i],
                 global_orient=cols["est_global_orient"][i], transl=cols["est_transl"][i])
        K = cols["intrinsics"][i].astype(float)
        (out / f"{image_id}.camera.json").write_text(json.dumps({"intrinsics": K.tolist()}))
        cam_R, cam_c = cols["gt_cam_rotation"][i].astype(float), cols["gt_cam_center"][i].astype(float)
        kp_cam = (cols["gt_object_keypoints_3d"][i].astype(float) - cam_c) @ cam_R
        uv = _project(kp_cam, K) + rng.normal(0.0, click_noise_px, (len(kp_cam), 2))
        w, h = cols["image_size"][i]
        inside = (kp_cam[:, 2] > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
        state = np.where(inside, np.where(cols["keypoint_visible"][i][22:], VISIBLE, 1), 0)
        doc["images"][image_id] = {"keypoints": np.c_[np.where(inside[:, None], uv, 0.0), state].tolist(),
                                   "box": None, "swap_left_right": False, "done": True,
                                   "category": category, "num_keypoints": len(names)}
        R = cam_R.T @ cols["gt_object_rotation"][i].astype(float)
        t = cam_R.T @ (cols["gt_object_translation"][i].astype(float) - cam_c)
        truth[image_id] = TruePose(R, t, float(cols["gt_object_scale"][i]))
    write_annotations(out / annotation_name, doc)
    return truth
