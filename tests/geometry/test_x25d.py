import math

import pytest
import roma
import torch

from hoirecon.geometry import (
    camera_from_human_pose,
    from_x25d,
    human_to_camera,
    intrinsics_matrix,
    pixels_to_rays,
    points_to_rays,
    project_points,
    to_x25d,
)

F64 = torch.float64
B, K = 4, 9


def _scene() -> dict[str, torch.Tensor]:
    """B cameras looking at K human-frame keypoints from about 4 m, with distinct intrinsics."""
    points = 0.5 * torch.randn(B, K, 3, dtype=F64)
    orient = roma.random_rotmat(B, dtype=F64)
    pelvis_cam = torch.tensor([0.0, 0.0, 4.0], dtype=F64) + 0.3 * torch.randn(B, 3, dtype=F64)
    focal = 500.0 + 500.0 * torch.rand(B, 2, dtype=F64)
    principal_point = 200.0 + 100.0 * torch.rand(B, 2, dtype=F64)
    return {"points": points, "orient": orient, "pelvis_cam": pelvis_cam,
            "focal": focal, "pp": principal_point}


def _project(points, cam_rotation, cam_center, focal, pp) -> torch.Tensor:
    uv = project_points(human_to_camera(cam_rotation, cam_center).apply(points), intrinsics_matrix(focal, pp))
    assert uv.shape == (*points.shape[:-1], 2)
    return uv


def _rot_z(angles: torch.Tensor) -> torch.Tensor:
    return roma.rotvec_to_rotmat(angles[:, None] * torch.tensor([0.0, 0.0, 1.0], dtype=F64))


def test_camera_from_human_pose_matches_body_pose_in_camera() -> None:
    s = _scene()
    camera = camera_from_human_pose(s["orient"], s["pelvis_cam"])
    body_in_camera = s["points"] @ s["orient"].mT + s["pelvis_cam"][:, None]
    via_camera = (s["points"] - camera.translation[:, None]) @ camera.rotation
    assert torch.allclose(via_camera, body_in_camera, atol=1e-12)
    assert torch.allclose(camera.inverse().apply(s["points"]), body_in_camera, atol=1e-12)
    body_pose = human_to_camera(camera.rotation, camera.translation)
    assert torch.allclose(body_pose.rotation, s["orient"], atol=1e-12)
    assert torch.allclose(body_pose.translation, s["pelvis_cam"], atol=1e-12)
    assert torch.allclose(camera.apply(torch.zeros(B, 1, 3, dtype=F64))[:, 0], camera.translation)


def test_x25d_from_points_equals_x25d_from_pixels() -> None:
    s = _scene()
    camera = camera_from_human_pose(s["orient"], s["pelvis_cam"])
    cam_rotation, cam_center = camera.rotation, camera.translation
    uv = _project(s["points"], cam_rotation, cam_center, s["focal"], s["pp"])
    from_pixels = pixels_to_rays(uv, s["focal"], s["pp"], cam_rotation)
    from_points = points_to_rays(s["points"], cam_center)
    assert torch.allclose(from_pixels, from_points, atol=1e-6)
    assert torch.allclose(from_points.norm(dim=-1), torch.ones(B, K, dtype=F64))
    assert torch.allclose(to_x25d(from_pixels, cam_center), to_x25d(from_points, cam_center), atol=1e-6)


def test_pixel_rays_invariant_to_camera_roll() -> None:
    s = _scene()
    camera = camera_from_human_pose(s["orient"], s["pelvis_cam"])
    cam_rotation, cam_center = camera.rotation, camera.translation
    uv = _project(s["points"], cam_rotation, cam_center, s["focal"][:, 0], s["pp"])
    roll = _rot_z(torch.tensor([0.3, -1.0, 2.5, math.pi], dtype=F64))
    rolled_rotation = cam_rotation @ roll
    # Rolling the camera by R_z rotates centred pixels by R_z^T.
    rolled_uv = s["pp"][:, None] + (uv - s["pp"][:, None]) @ roll[:, :2, :2]
    reprojected = _project(s["points"], rolled_rotation, cam_center, s["focal"][:, 0], s["pp"])
    assert torch.allclose(rolled_uv, reprojected, atol=1e-8)
    assert not torch.allclose(rolled_uv, uv, atol=1.0)
    rays = pixels_to_rays(uv, s["focal"][:, 0], s["pp"], cam_rotation)
    rolled_rays = pixels_to_rays(rolled_uv, s["focal"][:, 0], s["pp"], rolled_rotation)
    assert torch.allclose(rolled_rays, rays, atol=1e-10)


def test_pixel_rays_invariant_to_intrinsics() -> None:
    s = _scene()
    camera = camera_from_human_pose(s["orient"], s["pelvis_cam"])
    cam_rotation, cam_center = camera.rotation, camera.translation
    rays = []
    for scale in (0.5, 1.0, 3.0):
        focal, pp = scale * s["focal"], s["pp"] + 10.0 * scale
        uv = _project(s["points"], cam_rotation, cam_center, focal, pp)
        rays.append(pixels_to_rays(uv, focal, pp, cam_rotation))
    assert torch.allclose(rays[0], rays[1], atol=1e-10) and torch.allclose(rays[2], rays[1], atol=1e-10)


def test_to_from_x25d_round_trip_and_broadcast() -> None:
    rays = torch.nn.functional.normalize(torch.randn(3, 5, 3, dtype=F64), dim=-1)
    center = torch.randn(3, dtype=F64)
    x25d = to_x25d(rays, center)
    assert x25d.shape == (3, 6, 3)
    assert torch.equal(x25d[:, -1], center.expand(3, 3))
    split = from_x25d(x25d)
    assert torch.equal(split.rays, rays) and torch.equal(split.cam_center, center.expand(3, 3))


def test_points_to_rays_point_on_centre_is_finite() -> None:
    center = torch.zeros(3, dtype=F64, requires_grad=True)
    rays = points_to_rays(torch.zeros(2, 3, dtype=F64), center)
    rays.sum().backward()
    assert torch.isfinite(rays).all() and torch.isfinite(center.grad).all()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: points_to_rays(torch.ones(4, 2), torch.zeros(3)), "points"),
        (lambda: points_to_rays(torch.ones(4, 3), torch.zeros(2)), "cam_center"),
        (lambda: points_to_rays(torch.ones(2, 4, 3), torch.zeros(3, 3)), "cam_center"),
        (lambda: pixels_to_rays(torch.ones(4, 3), 1.0, torch.zeros(2), torch.eye(3)), "uv"),
        (lambda: pixels_to_rays(torch.ones(4, 2), 1.0, torch.zeros(3), torch.eye(3)), "principal_point"),
        (lambda: pixels_to_rays(torch.ones(4, 2), 1.0, torch.zeros(2), torch.eye(2)), "cam_rotation"),
        (lambda: to_x25d(torch.ones(4, 3), torch.zeros(4)), "cam_center"),
        (lambda: from_x25d(torch.ones(1, 3)), "x25d"),
        (lambda: from_x25d(torch.ones(4, 2)), "x25d"),
        (lambda: camera_from_human_pose(torch.eye(3), torch.zeros(4)), "pelvis_cam"),
        (lambda: camera_from_human_pose(torch.ones(3), torch.zeros(3)), "global_orient_rotmat"),
        (lambda: human_to_camera(torch.eye(3), torch.zeros(2)), "cam_center"),
    ],
)
def test_bad_input_names_the_argument(call, name) -> None:
    with pytest.raises(ValueError, match=name):
        call()
