"""Contract test over every built-in category template."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from hoirecon.objects import (
    BODY_PARTS,
    CATEGORIES,
    KEYPOINT_COUNTS,
    get_category_template,
    load_template,
)

EXPECTED_KEYPOINTS = {
    "barbell": 4,
    "baseball_bat": 2,
    "basketball": 1,
    "bicycle": 10,
    "cello": 14,
    "skateboard": 8,
    "tennis_racket": 7,
    "violin": 14,
    "yoga_ball": 1,
}
NOMINAL_DIAMETER = {  # metres; the size the templates are meant to have
    "barbell": 2.2,
    "baseball_bat": 0.84,
    "basketball": 0.24,
    "bicycle": 1.7,
    "cello": 1.2,
    "skateboard": 0.8,
    "tennis_racket": 0.68,
    "violin": 0.6,
    "yoga_ball": 0.65,
}
EXPECTED_SYMMETRIES = {
    "barbell": 72,
    "baseball_bat": 36,
    "basketball": 60,
    "bicycle": 1,
    "cello": 1,
    "skateboard": 2,
    "tennis_racket": 2,
    "violin": 1,
    "yoga_ball": 60,
}
SYMMETRY_TOLERANCE = 1e-6
"""Metres. Meshes are built with the angular sampling of their symmetries, so images of
vertices land on vertices up to rounding."""


def test_categories_are_the_wildhoi_ones() -> None:
    assert CATEGORIES == (
        "barbell",
        "baseball_bat",
        "basketball",
        "bicycle",
        "cello",
        "skateboard",
        "tennis_racket",
        "violin",
        "yoga_ball",
    )
    assert KEYPOINT_COUNTS == EXPECTED_KEYPOINTS


@pytest.mark.parametrize("name", CATEGORIES)
def test_keypoints(name: str) -> None:
    template = load_template(name)
    assert template is get_category_template(name)
    assert template.num_keypoints == EXPECTED_KEYPOINTS[name]
    assert template.keypoints.shape == (EXPECTED_KEYPOINTS[name], 3)
    assert np.all(np.isfinite(template.keypoints))
    assert len(set(template.keypoint_names)) == template.num_keypoints
    if template.num_keypoints > 1:
        gaps = np.linalg.norm(template.keypoints[:, None] - template.keypoints[None], axis=-1)
        assert gaps[~np.eye(len(gaps), dtype=bool)].min() > 0.005
    # keypoints lie within the object's bounding box
    lo, hi = template.vertices.min(0), template.vertices.max(0)
    assert np.all(template.keypoints >= lo - 1e-9) and np.all(template.keypoints <= hi + 1e-9)


@pytest.mark.parametrize("name", CATEGORIES)
def test_size_and_frame(name: str) -> None:
    template = get_category_template(name)
    nominal = NOMINAL_DIAMETER[name]
    assert 0.75 * nominal <= template.diameter <= 1.25 * nominal
    brute = (
        np.linalg.norm(template.vertices[:, None] - template.vertices[None], axis=-1).max()
        if len(template.vertices) < 2000
        else None
    )
    if brute is not None:
        assert template.diameter == pytest.approx(brute, rel=1e-12)
    centre = 0.5 * (template.vertices.min(0) + template.vertices.max(0))
    np.testing.assert_allclose(centre, 0.0, atol=1e-9)


@pytest.mark.parametrize("name", CATEGORIES)
def test_mesh_is_valid(name: str) -> None:
    template = get_category_template(name)
    assert template.vertices.dtype == np.float64 and template.faces.dtype == np.int64
    assert template.faces.min() >= 0 and template.faces.max() < len(template.vertices)
    # every vertex belongs to a face, and no face is degenerate
    assert np.array_equal(np.unique(template.faces), np.arange(len(template.vertices)))
    tri = template.vertices[template.faces]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    assert np.mean(area > 0) > 0.99


@pytest.mark.parametrize("name", CATEGORIES)
def test_symmetries_map_object_onto_itself(name: str) -> None:
    template = get_category_template(name)
    assert template.num_symmetries == EXPECTED_SYMMETRIES[name]
    rot0, trans0 = template.symmetries[0]
    assert np.array_equal(rot0, np.eye(3)) and np.array_equal(trans0, np.zeros(3))
    np.testing.assert_array_equal(
        template.keypoint_permutations[0], np.arange(template.num_keypoints)
    )
    tree = cKDTree(template.vertices)
    for (rot, trans), perm in zip(template.symmetries, template.keypoint_permutations, strict=True):
        np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rot) == pytest.approx(1.0)
        distance, _ = tree.query(template.vertices @ rot.T + trans)
        assert distance.max() < SYMMETRY_TOLERANCE
        np.testing.assert_allclose(
            template.keypoints @ rot.T + trans, template.keypoints[perm], atol=SYMMETRY_TOLERANCE
        )
    rots = template.symmetry_rotations.reshape(len(template.symmetries), -1)
    assert len(np.unique(np.round(rots, 9), axis=0)) == template.num_symmetries


@pytest.mark.parametrize("name", CATEGORIES)
def test_parts_and_interaction_pairs(name: str) -> None:
    template = get_category_template(name)
    assert template.parts and template.interaction_pairs
    for part, ids in template.parts.items():
        assert ids.ndim == 1 and ids.size > 0, part
        assert ids.min() >= 0 and ids.max() < len(template.vertices)
    for body_part, object_part in template.interaction_pairs:
        assert body_part in BODY_PARTS
        assert object_part in template.parts


def test_symmetry_permutations_swap_the_expected_keypoints() -> None:
    barbell = get_category_template("barbell")
    flipped = {tuple(p) for p in barbell.keypoint_permutations}
    assert flipped == {(0, 1, 2, 3), (3, 2, 1, 0)}
    skateboard = get_category_template("skateboard")
    names = skateboard.keypoint_names
    turned = [names[i] for i in skateboard.keypoint_permutations[1]]
    assert turned[names.index("nose_left")] == "tail_right"
    assert turned[names.index("wheel_front_right")] == "wheel_back_left"
    racket = get_category_template("tennis_racket")
    turned = [racket.keypoint_names[i] for i in racket.keypoint_permutations[1]]
    assert turned[racket.keypoint_names.index("head_left")] == "head_right"


def test_documented_axes() -> None:
    bat = get_category_template("baseball_bat")
    knob, tip = bat.keypoints
    assert knob[1] < 0 < tip[1] and np.allclose(knob[[0, 2]], 0) and np.allclose(tip[[0, 2]], 0)
    bike = get_category_template("bicycle")
    kp = dict(zip(bike.keypoint_names, bike.keypoints, strict=True))
    assert kp["front_hub"][0] > kp["rear_hub"][0]
    assert kp["handlebar_left"][2] < 0 < kp["handlebar_right"][2]
    assert kp["saddle"][1] > kp["bottom_bracket"][1]
    assert np.linalg.norm(kp["front_hub"] - kp["rear_hub"]) == pytest.approx(1.04)
    for name in ("violin", "cello"):
        inst = get_category_template(name)
        kp = dict(zip(inst.keypoint_names, inst.keypoints, strict=True))
        assert kp["scroll"][1] > kp["nut"][1] > kp["bridge"][1] > kp["bottom_edge"][1]
        assert kp["bridge"][2] > kp["waist_left"][2]  # the top plate faces +z
        assert kp["lower_bout_left"][0] < 0 < kp["lower_bout_right"][0]
    ball = get_category_template("basketball")
    np.testing.assert_allclose(ball.keypoints[0], ball.vertices.mean(0), atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(ball.vertices, axis=1), 0.12, rtol=1e-12)
