"""Tiny inputs for the protocol tests, built by the tests themselves (fixed seeds).

- a small SMPL-tree body model (24 joints, 150 vertices) saved as official-style files;
- a dataset folder with test ground truth plus a fits folder (perfect or perturbed);
- RHOBIN ``results.pkl`` / ``ref.pkl`` pairs with hand-made sequences.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.data.dataset import write_category
from hoirecon.data.format import FORMAT_VERSION
from hoirecon.io.atomic import atomic_write_json
from hoirecon.io.fits import FIT_COLUMNS, FitResults, save_fits, write_fit_info

SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
CATEGORY = "skateboard"
"""Built-in category with a declared half-turn symmetry and a cheap template."""


def tiny_body_arrays(seed: int = 0, n_verts: int = 150, n_faces: int = 240) -> dict[str, np.ndarray]:
    """A random SMPL-format model: 24 joints on SMPL's tree, smooth skinning weights."""
    rng = np.random.default_rng(seed)
    n_joints = len(SMPL_PARENTS)
    verts = rng.uniform([-0.3, -0.9, -0.15], [0.3, 0.8, 0.15], size=(n_verts, 3))
    regressor = np.zeros((n_joints, n_verts))
    for j in range(n_joints):
        cols = rng.choice(n_verts, size=6, replace=False)
        regressor[j, cols] = rng.dirichlet(np.ones(6))
    joints = regressor @ verts
    d2 = ((verts[:, None] - joints[None]) ** 2).sum(-1)
    weights = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / 0.02)
    parents = np.array(SMPL_PARENTS)
    return {
        "v_template": verts,
        "shapedirs": rng.normal(scale=0.01, size=(n_verts, 3, 10)),
        "posedirs": rng.normal(scale=0.001, size=(n_verts, 3, 9 * (n_joints - 1))),
        "J_regressor": regressor,
        "weights": weights / weights.sum(axis=1, keepdims=True),
        "kintree_table": np.stack([np.where(parents < 0, 4294967295, parents),
                                   np.arange(n_joints)]).astype(np.int64),
        "f": rng.integers(0, n_verts, size=(n_faces, 3)).astype(np.int64),
    }


def write_body_folder(folder: Path) -> Path:
    """``SMPL_{MALE,FEMALE,NEUTRAL}.npz`` with the same topology and different shapes."""
    folder.mkdir(parents=True, exist_ok=True)
    base = tiny_body_arrays(seed=0)
    for k, gender in enumerate(("neutral", "male", "female")):
        arrays = dict(base, v_template=base["v_template"] * (1.0 + 0.1 * k))
        np.savez(folder / f"SMPL_{gender.upper()}.npz", **arrays)
    return folder


def perturbed(params: dict[str, np.ndarray], **changes: np.ndarray) -> dict[str, np.ndarray]:
    """A copy of ``params`` with some entries replaced."""
    out = {k: np.array(v) for k, v in params.items()}
    out.update(changes)
    return out


def random_rotations(n: int, seed: int) -> np.ndarray:
    """(n, 3, 3) random rotations."""
    return Rotation.random(n, random_state=seed).as_matrix()


def ground_truth(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Human-frame ground truth of ``n`` images (fit column names)."""
    rng = np.random.default_rng(seed)
    return {
        "betas": rng.normal(scale=0.5, size=(n, 10)),
        "body_pose": rng.normal(scale=0.2, size=(n, 63)),
        "object_rotation": random_rotations(n, seed + 1),
        "object_translation": rng.normal(scale=0.3, size=(n, 3)),
        "object_scale": rng.uniform(0.8, 1.2, size=n),
    }


def _dataset_row(i: int, gt: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    k = 0
    return {
        "image_id": f"img{i:04d}", "split": "test", "image_file": "", "human_mask_file": "",
        "object_mask_file": "", "image_size": np.array([64, 64]),
        "keypoints_2d": np.zeros((22 + k, 2), np.float32), "keypoint_conf": np.ones(22 + k, np.float32),
        "keypoint_visible": np.ones(22 + k, bool), "coco_keypoints": np.zeros((17, 3), np.float32),
        "intrinsics": np.eye(3, dtype=np.float32), "cam_rotation": np.eye(3, dtype=np.float32),
        "cam_center": np.array([0, 0, -3], np.float32), "has_gt": np.array(True),
        "gt_betas": gt["betas"][i], "gt_body_pose": gt["body_pose"][i],
        "gt_global_orient": np.zeros(3), "gt_transl": np.zeros(3),
        "gt_joints_3d": np.zeros((22, 3)), "gt_object_rotation": gt["object_rotation"][i],
        "gt_object_translation": gt["object_translation"][i],
        "gt_object_scale": np.array(gt["object_scale"][i]),
        "gt_object_keypoints_3d": np.zeros((k, 3)),
    }


def write_dataset(root: Path, body_file: Path, n: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    """A one-category dataset of ``n`` test images; returns its ground truth."""
    gt = ground_truth(n, seed)
    write_category(root, CATEGORY, [_dataset_row(i, gt) for i in range(n)])
    atomic_write_json(root / "dataset.json", {
        "format_version": FORMAT_VERSION, "name": "tiny-eval",
        "body_model": {"name": str(body_file), "gender": "neutral"},
        "categories": {CATEGORY: {"template": f"builtin:{CATEGORY}", "num_object_keypoints": 0,
                                  "annotations": f"annotations/{CATEGORY}.npz"}},
    })
    return gt


def write_fits(out: Path, params: dict[str, np.ndarray], preset: str = "tiny",
               ids: list[str] | None = None) -> Path:
    """A fits folder whose rows hold ``params`` (fit column names) for ``img0000``..."""
    n = len(params["betas"])
    cols = {c: np.zeros((n,) + shape) for c, shape in (
        ("global_orient", (3,)), ("transl", (3,)), ("joints_3d", (22, 3)),
        ("object_translation_cam", (3,)))}
    cols.update({k: np.asarray(v, dtype=np.float64) for k, v in params.items()})
    cols["object_rotation_cam"] = np.repeat(np.eye(3)[None], n, axis=0)
    cols["image_id"] = np.array(ids or [f"img{i:04d}" for i in range(n)])
    cols["loss_total"] = np.zeros(n)
    assert set(FIT_COLUMNS) <= set(cols)
    save_fits(out, FitResults(CATEGORY, cols))
    write_fit_info(out, {"preset": preset})
    return out


# ----------------------------------------------------------------------- RHOBIN files

def tetra_template() -> dict[str, np.ndarray]:
    """A small tetrahedron-like object (metres) for the reference ``templates``."""
    verts = np.array([[0.2, 0, 0], [-0.1, 0.15, 0], [-0.1, -0.15, 0], [0, 0, 0.25],
                      [0.05, 0.05, -0.1]])
    faces = np.array([[0, 1, 2], [0, 1, 3], [1, 2, 3], [0, 2, 3], [0, 1, 4], [1, 2, 4], [0, 2, 4]])
    return {"verts": verts, "faces": faces}


def make_sequence(t: int, seed: int, pose_width: int = 72, gender: str = "male") -> dict:
    """One RHOBIN sequence of ``t`` frames: body parameters and a camera-frame object pose."""
    rng = np.random.default_rng(seed)
    return {
        "frames": [f"t{i:04d}.000" for i in range(t)],
        "gender": gender,
        "poses": np.concatenate([rng.normal(scale=0.2, size=(t, 72)),
                                 np.zeros((t, pose_width - 72))], axis=1),
        "betas": rng.normal(scale=0.5, size=(t, 10)),
        "trans": rng.normal(scale=0.2, size=(t, 3)) + [0, 0, 2.5],
        "obj_rots": random_rotations(t, seed + 7),
        "obj_trans": rng.normal(scale=0.2, size=(t, 3)) + [0, 0, 2.5],
    }


def make_reference(lengths: tuple[int, ...] = (12, 8), seed: int = 0) -> dict:
    """A wrapped reference: ``annotations`` of sequences ``DateXX_SubXX_tetra_k`` + templates."""
    annotations = {f"Date01_Sub0{k}_tetra_{k}": make_sequence(t, seed + 10 * k,
                                                             gender=("male", "female")[k % 2])
                   for k, t in enumerate(lengths)}
    return {"annotations": annotations, "templates": {"tetra": tetra_template()}}


def submission_from(reference: dict) -> dict:
    """A perfect submission: the reference sequences without the templates (deep copies)."""
    return {name: {k: (np.array(v) if isinstance(v, np.ndarray) else
                       list(v) if isinstance(v, list) else v) for k, v in seq.items()}
            for name, seq in reference["annotations"].items()}


def write_pickle(path: Path, obj: object) -> Path:
    """Pickle ``obj`` to ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(obj, handle)
    return path
