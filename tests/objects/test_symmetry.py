"""A sphere's rotation group is all of SO(3); rotation errors modulo a symmetry list."""

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from hoirecon.objects import get_category_template
from hoirecon.objects.symmetry import axial_symmetries, icosahedral_rotations, is_sphere, rotation_error


def test_ball_templates_are_spheres_and_the_others_are_not() -> None:
    for name in ("basketball", "yoga_ball"):
        ball = get_category_template(name)
        assert is_sphere(ball.vertices, ball.faces)
    for name in ("baseball_bat", "tennis_racket", "barbell"):
        other = get_category_template(name)
        assert not is_sphere(other.vertices, other.faces)
    cube = trimesh.creation.box((0.2, 0.2, 0.2))
    assert not is_sphere(cube.vertices, cube.faces)  # its corners are equidistant, its faces are not
    ball = trimesh.creation.icosphere(3)
    assert is_sphere(ball.vertices + 5.0, ball.faces)
    assert not is_sphere(ball.vertices * [1.0, 1.0, 1.01], ball.faces)
    assert not is_sphere(trimesh.creation.icosphere(0).vertices, trimesh.creation.icosphere(0).faces)  # too coarse
    assert not is_sphere(np.zeros((3, 3)), np.zeros((1, 3)))


def test_rotation_error_is_the_least_angle_over_the_symmetries() -> None:
    about_y = axial_symmetries(np.array([0.0, 1.0, 0.0]), 36)
    rots = np.stack([r for r, _ in about_y])
    truth = Rotation.from_rotvec([0.3, -0.2, 0.5]).as_matrix()
    spun = truth @ Rotation.from_rotvec([0.0, np.radians(123.0), 0.0]).as_matrix()  # a spin about the axis
    tilted = truth @ Rotation.from_rotvec([np.radians(20.0), 0.0, 0.0]).as_matrix()
    assert np.degrees(rotation_error(spun, truth, rots)) < 5.0 + 1e-9  # 10-degree steps: at most 5 off
    np.testing.assert_allclose(np.degrees(rotation_error(tilted, truth, rots[:1])), 20.0, atol=1e-6)
    batch = rotation_error(np.stack([spun, tilted]), np.stack([truth, truth]), rots[:1])
    assert batch.shape == (2,) and batch[1] > 0.3


def test_a_sphere_has_no_rotation_error_where_the_icosahedral_group_leaves_up_to_37_degrees() -> None:
    ico = np.stack([r for r, _ in icosahedral_rotations()])
    a, b = Rotation.random(200, random_state=1).as_matrix(), Rotation.random(200, random_state=2).as_matrix()
    modulo_group = np.degrees(rotation_error(a, b, ico))
    assert modulo_group.max() > 25.0  # what the finite group alone would call an error
    assert np.all(rotation_error(a, b, ico, sphere=True) == 0.0)
