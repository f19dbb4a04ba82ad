"""Camera conventions: validation, pixel-centre rays, extrinsics and look-at previews."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.geometry import RigidTransform
from hoirecon.render import Camera, look_at_camera

K = np.array([[210.0, 0.5, 40.0], [0.0, 190.0, 30.0], [0.0, 0.0, 1.0]])


def _random_pose(seed: int) -> RigidTransform:
    rng = np.random.default_rng(seed)
    R = Rotation.random(random_state=seed).as_matrix()
    return RigidTransform(rotation=R, translation=rng.normal(size=3))


def _extrinsics(rotation=np.eye(3), translation=np.zeros(3)) -> RigidTransform:
    return RigidTransform(rotation=rotation, translation=translation)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"K": np.eye(2)}, "K"),
        ({"K": np.diag([-1.0, 1.0, 1.0])}, "K"),
        ({"width": 0}, "width"),
        ({"height": 2.5}, "height"),
        ({"extrinsics": _extrinsics(rotation=np.diag([1.0, 1.0, -1.0]))}, r"extrinsics\.rotation"),
        ({"extrinsics": _extrinsics(rotation=2 * np.eye(3))}, r"extrinsics\.rotation"),
        ({"extrinsics": _extrinsics(translation=np.array([0.0, np.nan, 0.0]))}, r"extrinsics\.translation"),
        ({"extrinsics": (np.eye(3), np.zeros(3))}, "extrinsics"),
    ],
)
def test_camera_rejects_bad_arguments_by_name(kwargs, name):
    args = {"K": K, "width": 80, "height": 60} | kwargs
    with pytest.raises(ValueError, match=rf"Camera\.{name}"):
        Camera(**args)


def test_pixel_rays_pass_through_their_pixel_centres():
    cam = Camera(K, 80, 60, _random_pose(0))
    dirs = cam.ray_directions()
    assert dirs.shape == (60 * 80, 3)
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1.0, atol=1e-12)
    rows, cols = np.array([0, 7, 59, 31]), np.array([0, 13, 79, 40])
    points = cam.center + 2.7 * dirs[rows * 80 + cols]
    uv = cam.project(cam.world_to_camera(points))
    np.testing.assert_allclose(uv, np.stack([cols, rows], axis=1), atol=1e-9)


def test_center_maps_to_camera_origin_and_rays_are_cached():
    cam = Camera(K, 80, 60, _random_pose(1))
    np.testing.assert_allclose(cam.world_to_camera(cam.center[None]), 0.0, atol=1e-12)
    assert cam.ray_directions() is cam.ray_directions()
    assert not cam.ray_directions().flags.writeable
    np.testing.assert_allclose(cam.camera_ray_directions()[:, 2], 1.0)


def test_in_image_uses_half_pixel_borders():
    cam = Camera(K, 80, 60)
    uv = np.array([[-0.5, 0.0], [-0.51, 0.0], [79.49, 59.49], [79.5, 10.0], [10.0, 59.5]])
    assert cam.in_image(uv).tolist() == [True, False, True, False, False]


def test_look_at_puts_target_at_centre_and_up_upwards():
    eye, target = np.array([2.0, -1.0, 0.5]), np.array([0.0, 0.3, 3.0])
    up = np.array([0.0, -1.0, 0.0])
    cam = look_at_camera(eye, target, up, focal=150.0, width=101, height=81)
    np.testing.assert_allclose(cam.center, eye, atol=1e-12)
    uv_target = cam.project(cam.world_to_camera(target[None]))[0]
    np.testing.assert_allclose(uv_target, [50.0, 40.0], atol=1e-9)
    uv_above = cam.project(cam.world_to_camera((target + 0.1 * up)[None]))[0]
    assert uv_above[1] < 40.0 - 1.0
    assert abs(uv_above[0] - 50.0) < 1e-6


def test_look_at_rejects_up_parallel_to_view():
    with pytest.raises(ValueError, match="up"):
        look_at_camera([0, 0, 0], [0, 0, 1], [0, 0, 2], focal=100.0, width=10, height=10)
