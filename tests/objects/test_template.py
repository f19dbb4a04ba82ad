"""ObjectTemplate: validation, derived properties, posing; symmetry helpers."""

import numpy as np
import pytest
import torch
import trimesh
from scipy.spatial.transform import Rotation

from hoirecon.objects import ObjectTemplate
from hoirecon.objects.symmetry import (
    axial_symmetries,
    compose,
    half_turn,
    icosahedral_rotations,
    keypoint_permutations,
)
from hoirecon.objects.template import build_template, max_pairwise_distance


def _box_template(**overrides) -> ObjectTemplate:
    """A 0.4 x 0.2 x 0.1 box with its 8 corners as 2 keypoints (the +x and -x faces)."""
    mesh = trimesh.creation.box(extents=[0.4, 0.2, 0.1])
    verts = np.asarray(mesh.vertices)
    fields = {
        "name": "box",
        "vertices": verts,
        "faces": np.asarray(mesh.faces),
        "keypoint_vertex_ids": (np.flatnonzero(verts[:, 0] > 0), np.flatnonzero(verts[:, 0] < 0)),
        "keypoint_names": ("plus_x", "minus_x"),
        "symmetries": ((np.eye(3), np.zeros(3)), half_turn(np.array([0.0, 0.0, 1.0]))),
        "keypoint_permutations": np.array([[0, 1], [1, 0]]),
        "parts": {"top": np.flatnonzero(verts[:, 1] > 0)},
        "interaction_pairs": (("right_hand", "top"),),
    }
    fields.update(overrides)
    return ObjectTemplate(**fields)


def test_box_template_properties() -> None:
    box = _box_template()
    np.testing.assert_allclose(box.keypoints, [[0.2, 0, 0], [-0.2, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(box.extents, [0.4, 0.2, 0.1])
    assert box.diameter == pytest.approx(np.sqrt(0.4**2 + 0.2**2 + 0.1**2))
    assert box.num_keypoints == 2 and box.num_symmetries == 2 and box.category == "box"
    assert box.symmetry_rotations.shape == (2, 3, 3) and box.symmetry_translations.shape == (2, 3)
    assert not box.vertices.flags.writeable and not box.keypoints.flags.writeable
    with pytest.raises(ValueError):
        box.vertices[0, 0] = 1.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vertices": np.zeros((4, 2))}, "vertices"),
        ({"vertices": np.full((8, 3), np.nan)}, "vertices"),
        ({"faces": np.array([[0, 1, 99]])}, "faces"),
        ({"keypoint_vertex_ids": (np.array([0, 8]), np.array([1]))}, "keypoint_vertex_ids[0]"),
        (
            {"keypoint_vertex_ids": (np.array([], dtype=int), np.array([1]))},
            "keypoint_vertex_ids[0]",
        ),
        ({"keypoint_names": ("a",)}, "keypoint_names"),
        ({"keypoint_names": ("a", "a")}, "keypoint_names"),
        (
            {
                "symmetries": ((np.diag([-1.0, 1, 1]), np.zeros(3)),),
                "keypoint_permutations": np.array([[0, 1]]),
            },
            "symmetries[0]",
        ),
        ({"symmetries": (half_turn(np.array([0.0, 0, 1])), (np.eye(3), np.zeros(3)))}, "identity"),
        ({"symmetries": ()}, "symmetries"),
        ({"symmetries": ((np.eye(3), np.zeros(3)), (np.eye(3) * 2, np.zeros(3)))}, "symmetries[1]"),
        ({"keypoint_permutations": np.array([[0, 1], [1, 1]])}, "keypoint_permutations[1]"),
        ({"keypoint_permutations": np.array([[1, 0], [0, 1]])}, "keypoint_permutations[0]"),
        ({"keypoint_permutations": np.array([[0, 1]])}, "keypoint_permutations"),
        ({"parts": {"top": np.array([100])}}, "parts['top']"),
        ({"interaction_pairs": (("left_knee", "top"),)}, "left_knee"),
        ({"interaction_pairs": (("right_hand", "handle"),)}, "handle"),
        ({"name": ""}, "name"),
    ],
)
def test_validation_names_the_field(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _box_template(**overrides)


def test_transformed_follows_eq3() -> None:
    box = _box_template()
    rng = np.random.default_rng(0)
    R = Rotation.random(random_state=1).as_matrix()
    t = rng.normal(size=3)
    s = 1.7
    expected = np.array([s * (R @ v) + t for v in box.vertices])
    np.testing.assert_allclose(box.transformed(R, t, s), expected, atol=1e-12)
    np.testing.assert_allclose(
        box.posed_keypoints(R, t, s), s * box.keypoints @ R.T + t, atol=1e-12
    )
    # posed keypoints are the keypoints of the posed vertices
    posed = box.transformed(R, t, s)
    np.testing.assert_allclose(
        box.posed_keypoints(R, t, s)[0], posed[box.keypoint_vertex_ids[0]].mean(0)
    )


def test_transformed_batches_and_torch() -> None:
    box = _box_template()
    Rs = Rotation.random(4, random_state=2).as_matrix()
    ts = np.random.default_rng(3).normal(size=(4, 3))
    ss = np.array([0.5, 1.0, 2.0, 3.0])
    batched = box.transformed(Rs, ts, ss)
    assert batched.shape == (4, len(box.vertices), 3)
    np.testing.assert_allclose(batched[2], box.transformed(Rs[2], ts[2], ss[2]))
    R = torch.tensor(Rs, requires_grad=True)
    s = torch.tensor(ss, requires_grad=True)
    out = box.posed_keypoints(R, torch.tensor(ts), s)
    np.testing.assert_allclose(out.detach().numpy(), box.posed_keypoints(Rs, ts, ss), atol=1e-12)
    out.sum().backward()
    assert torch.isfinite(R.grad).all() and torch.isfinite(s.grad).all()
    with pytest.raises(ValueError, match="R must be"):
        box.transformed(np.eye(2), np.zeros(3))


def test_max_pairwise_distance_matches_brute_force() -> None:
    rng = np.random.default_rng(4)
    points = rng.normal(size=(300, 3))
    brute = np.linalg.norm(points[:, None] - points[None], axis=-1).max()
    assert max_pairwise_distance(points) == pytest.approx(brute)
    planar = np.column_stack([rng.normal(size=(50, 2)), np.zeros(50)])  # no 3-D hull
    brute = np.linalg.norm(planar[:, None] - planar[None], axis=-1).max()
    assert max_pairwise_distance(planar) == pytest.approx(brute)


def test_build_template_derives_permutations() -> None:
    square = np.array([[1.0, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0], [0, 0, 0.1]])
    faces = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    kps = {f"c{i}": [i] for i in range(4)}
    template = build_template(
        "square", square, faces, kps, axial_symmetries(np.array([0, 0, 1.0]), 4)
    )
    np.testing.assert_array_equal(
        template.keypoint_permutations, [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]]
    )
    with pytest.raises(ValueError, match=r"symmetries\[1\]"):
        build_template("square", square, faces, kps, axial_symmetries(np.array([0, 0, 1.0]), 8))
    plain = build_template("square", square, faces, kps)  # identity added
    assert plain.num_symmetries == 1


def test_keypoint_permutations_keep_coincident_keypoints_in_place() -> None:
    kps = np.zeros((3, 3))
    perms = keypoint_permutations(kps, [(np.eye(3), np.zeros(3))] * 2, 1e-6)
    np.testing.assert_array_equal(perms, [[0, 1, 2], [0, 1, 2]])


def test_icosahedral_group_is_a_group_of_60_rotations() -> None:
    rots = np.stack([r for r, _ in icosahedral_rotations()])
    assert rots.shape == (60, 3, 3)
    np.testing.assert_array_equal(rots[0], np.eye(3))
    np.testing.assert_allclose(
        np.einsum("sij,skj->sik", rots, rots), np.broadcast_to(np.eye(3), rots.shape), atol=1e-12
    )
    flat = rots.reshape(60, 9)
    assert len(np.unique(np.round(flat, 8), axis=0)) == 60
    products = np.einsum("aij,bjk->abik", rots, rots).reshape(-1, 9)
    nearest = np.min(np.linalg.norm(products[:, None] - flat[None], axis=-1), axis=1)
    assert nearest.max() < 1e-9  # closed under composition


def test_axial_and_compose() -> None:
    axial = axial_symmetries(np.array([1.0, 0, 0]), 36)
    assert len(axial) == 36 and np.array_equal(axial[0][0], np.eye(3))
    np.testing.assert_allclose(axial[9][0] @ [0, 1.0, 0], [0, 0, 1.0], atol=1e-15)
    both = compose(axial, [(np.eye(3), np.zeros(3)), half_turn(np.array([0, 1.0, 0]))])
    assert len(both) == 72 and np.array_equal(both[0][0], np.eye(3))
    np.testing.assert_allclose(both[36][0], np.diag([-1.0, 1, -1]))
