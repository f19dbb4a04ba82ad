"""The estimated body's 2D layout: human-frame points seen by the camera derived from the estimate."""

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.data.synthetic.hmr import camera_from_body, project_human_frame

K = np.array([[300.0, 0.0, 47.5], [0.0, 310.0, 52.5], [0.0, 0.0, 1.0]])


def _body(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return Rotation.random(random_state=seed).as_rotvec(), np.array([0.1, -0.2, 3.0]) + 0.1 * rng.normal(size=3)


def test_projection_matches_the_body_pose_in_the_camera() -> None:
    orient, pelvis_cam = _body(0)
    points = np.random.default_rng(1).normal(0.0, 0.5, (30, 3))
    cam_rotation, cam_center = camera_from_body(orient, pelvis_cam)
    uvw = (points @ Rotation.from_rotvec(orient).as_matrix().T + pelvis_cam) @ K.T
    np.testing.assert_allclose(project_human_frame(points, cam_rotation, cam_center, K),
                               uvw[:, :2] / uvw[:, 2:], atol=1e-9)


def test_a_joint_behind_the_estimated_camera_lands_far_outside_the_image() -> None:
    orient, pelvis_cam = _body(2)
    cam_rotation, cam_center = camera_from_body(orient, pelvis_cam)
    behind = cam_center + cam_rotation @ np.array([0.05, 0.02, -0.5])
    uv = project_human_frame(np.stack([np.zeros(3), behind]), cam_rotation, cam_center, K)
    assert np.isfinite(uv).all()
    np.testing.assert_allclose(uv[0], K[:2, :] @ pelvis_cam / pelvis_cam[2], atol=1e-9)
    assert np.abs(uv[1] - K[:2, 2]).min() > 1e4
