"""A tiny hand-made dataset folder in the hoirecon format, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hoirecon.data.dataset import write_category
from hoirecon.data.format import FORMAT_VERSION
from hoirecon.io.atomic import atomic_write_json


def make_row(i: int, k: int, rng: np.random.Generator, split: str = "train") -> dict[str, np.ndarray]:
    """One annotation row with a camera 3 m in front of the body, ground truth and estimates."""
    cam_rotation = np.array([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    cam_center = np.array([0.0, 0.0, -3.0])
    joints = rng.normal(0, 0.3, (22, 3))
    obj_kp = rng.normal(0, 0.3, (k, 3))
    K = np.array([[200.0, 0, 63.5], [0, 200.0, 63.5], [0, 0, 1]])
    pts = np.concatenate([joints, obj_kp])
    cam = (pts - cam_center) @ cam_rotation
    uv = (cam @ K.T)[:, :2] / cam[:, 2:3]
    return {
        "image_id": f"img{i:04d}", "split": split,
        "image_file": f"images/cat/img{i:04d}.png", "human_mask_file": "", "object_mask_file": "",
        "image_size": np.array([128, 128]), "keypoints_2d": uv.astype(np.float32),
        "keypoint_conf": np.ones(22 + k, np.float32), "keypoint_visible": np.ones(22 + k, bool),
        "coco_keypoints": np.zeros((17, 3), np.float32), "intrinsics": K.astype(np.float32),
        "cam_rotation": cam_rotation.astype(np.float32), "cam_center": cam_center.astype(np.float32),
        "has_gt": np.array(True), "gt_betas": np.zeros(10, np.float32),
        "gt_body_pose": np.zeros(63, np.float32), "gt_global_orient": np.zeros(3, np.float32),
        "gt_transl": np.zeros(3, np.float32), "gt_joints_3d": joints.astype(np.float32),
        "gt_object_rotation": np.eye(3, dtype=np.float32), "gt_object_translation": np.zeros(3, np.float32),
        "gt_object_scale": np.array(1.0, np.float32), "gt_object_keypoints_3d": obj_kp.astype(np.float32),
    }


def write_tiny_dataset(root: Path, category: str = "baseball_bat", k: int = 2, n: int = 4) -> Path:
    """Write a valid dataset folder with ``n`` images of one category and return its root."""
    rng = np.random.default_rng(0)
    rows = [make_row(i, k, rng, "train" if i < n - 1 else "test") for i in range(n)]
    for row in rows:
        path = root / str(row["image_file"])
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((128, 128, 3), np.uint8)).save(path)
    write_category(root, category, rows)
    atomic_write_json(root / "dataset.json", {
        "format_version": FORMAT_VERSION, "name": "tiny",
        "body_model": {"name": "embedded", "gender": "neutral"},
        "categories": {category: {"template": f"builtin:{category}", "num_object_keypoints": k,
                                  "annotations": f"annotations/{category}.npz"}},
    })
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "ds")
