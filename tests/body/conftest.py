"""Random SMPL-family model files with the real topologies (vertex, joint and blend-shape
counts, kinematic trees), built once per session in a temporary folder."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
                20, 21]


def hand_parents(wrist: int, first: int) -> list[int]:
    """Parents of one hand's 15 joints (5 fingers of 3 joints, numbered from `first`)."""
    out = []
    for finger in range(5):
        base = first + 3 * finger
        out += [wrist, base, base + 1]
    return out


SMPLH_PARENTS = SMPL_PARENTS[:22] + hand_parents(20, 22) + hand_parents(21, 37)
SMPLX_PARENTS = SMPL_PARENTS[:22] + [15, 15, 15] + hand_parents(20, 25) + hand_parents(21, 40)

TOPOLOGY = {
    "smpl": {"verts": 6890, "faces": 13776, "shape": 10, "parents": SMPL_PARENTS},
    "smplh": {"verts": 6890, "faces": 13776, "shape": 16, "parents": SMPLH_PARENTS},
    "smplx": {"verts": 10475, "faces": 20908, "shape": 20, "parents": SMPLX_PARENTS},
}
KINDS = tuple(TOPOLOGY)


def random_regressor(rng: np.random.Generator, n_joints: int, n_verts: int,
                     per_joint: int = 8) -> np.ndarray:
    """Dense (J, V) regressor with a few positive entries per row summing to 1."""
    reg = np.zeros((n_joints, n_verts))
    for j in range(n_joints):
        cols = rng.choice(n_verts, size=per_joint, replace=False)
        reg[j, cols] = rng.dirichlet(np.ones(per_joint))
    return reg


def random_weights(rng: np.random.Generator, verts: np.ndarray, joints: np.ndarray,
                   keep: int = 4) -> np.ndarray:
    """Smooth skinning weights (V, J): a softmax of distances to the nearest joints."""
    d2 = ((verts[:, None, :] - joints[None]) ** 2).sum(-1)
    logits = -d2 / 0.05 + rng.normal(scale=0.1, size=d2.shape)
    cut = np.sort(logits, axis=1)[:, -keep][:, None]
    logits = np.where(logits >= cut, logits, -np.inf)
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def make_model_arrays(kind: str, seed: int = 0, n_verts: int | None = None,
                      n_faces: int | None = None) -> dict[str, np.ndarray]:
    """Random body model arrays of the given kind (real topology unless sizes given)."""
    topo = TOPOLOGY[kind]
    rng = np.random.default_rng(seed)
    n_verts = n_verts or topo["verts"]
    parents = np.array(topo["parents"])
    n_joints = len(parents)
    v_template = rng.uniform([-0.3, -0.85, -0.15], [0.3, 0.85, 0.15], size=(n_verts, 3))
    regressor = random_regressor(rng, n_joints, n_verts)
    table = np.stack([np.where(parents < 0, 4294967295, parents), np.arange(n_joints)])
    return {
        "v_template": v_template,
        "shapedirs": rng.normal(scale=0.01, size=(n_verts, 3, topo["shape"])),
        "posedirs": rng.normal(scale=0.01, size=(n_verts, 3, 9 * (n_joints - 1))),
        "J_regressor": regressor,
        "weights": random_weights(rng, v_template, regressor @ v_template),
        "kintree_table": table.astype(np.int64),
        "f": rng.integers(0, n_verts, size=(n_faces or topo["faces"], 3)).astype(np.uint32),
    }


def smplx_extras(arrays: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    """Hand PCA and face landmark keys the `smplx` package needs to build SMPL-H/X."""
    rng = np.random.default_rng(seed)
    extras = {}
    for side in "lr":
        extras[f"hands_components{side}"] = np.linalg.qr(rng.normal(size=(45, 45)))[0]
        extras[f"hands_mean{side}"] = rng.normal(scale=0.1, size=45)
    n_lmk = 51
    extras["lmk_faces_idx"] = rng.integers(0, len(arrays["f"]), size=n_lmk)
    extras["lmk_bary_coords"] = rng.dirichlet(np.ones(3), size=n_lmk)
    return extras


@pytest.fixture(scope="session")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One npz per kind (``smpl``, ``smplh``, ``smplx``, with the smplx package's extra
    keys), plus ``smpl_pkl``: the SMPL arrays pickled with a sparse J_regressor."""
    folder = tmp_path_factory.mktemp("body_models")
    files = {}
    for seed, kind in enumerate(KINDS):
        arrays = make_model_arrays(kind, seed=seed)
        files[kind] = folder / f"{kind}.npz"
        np.savez(files[kind], **arrays, **smplx_extras(arrays, seed))
        if kind == "smpl":
            pkl = dict(arrays, J_regressor=scipy.sparse.csc_matrix(arrays["J_regressor"]))
            files["smpl_pkl"] = folder / "SMPL_NEUTRAL.pkl"
            with open(files["smpl_pkl"], "wb") as handle:
                pickle.dump(pkl, handle, protocol=2)
    return files


@pytest.fixture(scope="session")
def tiny_arrays() -> dict[str, np.ndarray]:
    """A small SMPL-tree model (V=60) for fast gradient and shape checks."""
    return make_model_arrays("smpl", seed=7, n_verts=60, n_faces=40)


@pytest.fixture(scope="session")
def make_arrays():
    """The `make_model_arrays` builder, for tests that need their own variants."""
    return make_model_arrays


@pytest.fixture(scope="session")
def parents_by_kind() -> dict[str, list[int]]:
    """The real SMPL, SMPL-H and SMPL-X parent arrays, written from the known trees."""
    return {"smpl": SMPL_PARENTS, "smplh": SMPLH_PARENTS, "smplx": SMPLX_PARENTS}
