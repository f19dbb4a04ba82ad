"""Placing a body estimate from an estimator's file in the image's camera."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hoirecon.body import load_body_model
from hoirecon.data.readers.body_estimates import BodyEstimate
from hoirecon.data.readers.person_keypoints import PersonKeypoints
from hoirecon.fitting.body_init import BodyInit, rest_pelvis
from hoirecon.fitting.estimator_files import pelvis_from_keypoints, to_body_init, transl_from_weak_camera

K = np.array([[1000.0, 0.0, 320.0], [0.0, 1000.0, 240.0], [0.0, 0.0, 1.0]])
COCO_FROM_SMPL = {5: 16, 6: 17, 7: 18, 8: 19, 9: 20, 10: 21, 11: 1, 12: 2, 13: 4, 14: 5, 15: 7, 16: 8}
"""COCO keypoint -> SMPL joint (shoulders, elbows, wrists, hips, knees, ankles)."""
BODY25_FROM_COCO = {0: 0, 16: 1, 15: 2, 18: 3, 17: 4, 5: 5, 2: 6, 6: 7, 3: 8, 7: 9, 4: 10, 12: 11, 9: 12,
                    13: 13, 10: 14, 14: 15, 11: 16}
"""BODY_25 index -> COCO index of the same joint."""


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _estimate(rng: np.random.Generator, **camera: np.ndarray | None) -> BodyEstimate:
    return BodyEstimate(betas=rng.normal(0, 0.5, 10), body_pose=rng.normal(0, 0.15, 63),
                        global_orient=np.array([np.pi, 0.0, 0.0]) + rng.normal(0, 0.1, 3), **camera)


def _joints_cam(body, est: BodyEstimate, transl: np.ndarray) -> np.ndarray:
    """The body model's 22 body joints (22, 3) in the camera, by its own forward pass."""
    as_t = lambda a: torch.as_tensor(np.asarray(a)[None], dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        out = body(betas=as_t(est.betas), body_pose=as_t(est.body_pose),
                   global_orient=as_t(est.global_orient), transl=as_t(transl))
    return out.joints[0, :22].double().numpy()


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:]


def test_a_translation_in_the_image_camera_is_kept(body) -> None:
    est = _estimate(np.random.default_rng(0), transl=np.array([0.1, -0.2, 3.0]))
    init = to_body_init(est, body)
    assert isinstance(init, BodyInit)
    np.testing.assert_array_equal(init.transl, [0.1, -0.2, 3.0])
    np.testing.assert_allclose(init.pelvis_cam, init.transl + rest_pelvis(body, est.betas))
    np.testing.assert_array_equal(init.body_pose, est.body_pose)


def test_a_translation_from_a_virtual_camera_keeps_the_pelvis_pixel(body) -> None:
    est = _estimate(np.random.default_rng(1), transl=np.array([0.3, 0.1, 40.0]),
                    transl_camera=np.array([12500.0, 12500.0, 330.0, 230.0]))
    init = to_body_init(est, body, K=K)
    tool_K = np.array([[12500.0, 0, 330.0], [0, 12500.0, 230.0], [0, 0, 1]])
    old_pelvis = est.transl + rest_pelvis(body, est.betas)
    np.testing.assert_allclose(_project(init.pelvis_cam[None], K), _project(old_pelvis[None], tool_K), atol=1e-9)
    assert init.pelvis_cam[2] == pytest.approx(old_pelvis[2] * 1000 / 12500)


def test_weak_camera_uses_the_standard_hmr_conversion() -> None:
    transl = transl_from_weak_camera(np.array([0.5, 0.1, -0.2]), np.array([300.0, 200.0, 400.0]), K, None)
    np.testing.assert_allclose(transl, [-0.1, -0.6, 10.0])  # tz = 2 f / (s size); tx + (cx - px) tz / f
    point = np.array([0.05, -0.02, 0.0])  # a model point: its weak and perspective pixels agree
    weak_u = 300 + 400 / 2 * 0.5 * (point[0] + 0.1)
    np.testing.assert_allclose(_project((point + transl)[None], K)[0, 0], weak_u)
    whole = transl_from_weak_camera(np.array([0.5, 0.1, -0.2]), None, K, (640, 480))
    np.testing.assert_allclose(whole, [0.1, -0.2, 2000 / 320])
    with pytest.raises(ValueError, match="image_size"):
        transl_from_weak_camera(np.array([0.5, 0.1, -0.2]), None, K, None)


def test_weak_camera_estimates_are_placed_with_it(body) -> None:
    est = _estimate(np.random.default_rng(2), weak_camera=np.array([0.5, 0.1, -0.2]),
                    crop=np.array([300.0, 200.0, 400.0]))
    np.testing.assert_allclose(to_body_init(est, body, K=K).transl, [-0.1, -0.6, 10.0])


def test_keypoints_recover_the_translation_by_least_squares(body) -> None:
    rng = np.random.default_rng(3)
    est, truth = _estimate(rng), np.array([0.2, -0.1, 4.0])
    pixels = _project(_joints_cam(body, est, truth), K)
    coco = np.zeros((17, 3))
    for c, s in COCO_FROM_SMPL.items():
        coco[c] = [*pixels[s], 0.9]
    np.testing.assert_allclose(to_body_init(est, body, K=K, keypoints=coco).transl, truth, atol=1e-4)
    body25 = np.zeros((25, 3))
    for b25, c in BODY25_FROM_COCO.items():
        body25[b25] = coco[c]
    person = PersonKeypoints(body25, "body25", np.zeros(4), 0.9)
    np.testing.assert_allclose(to_body_init(est, body, K=K, keypoints=person).transl, truth, atol=1e-4)


def test_pelvis_from_keypoints_weights_by_confidence() -> None:
    rng = np.random.default_rng(4)
    joints, pelvis = rng.normal(0, 0.4, (12, 3)), np.array([-0.3, 0.2, 5.0])
    pixels = _project(joints + pelvis, K)
    conf = np.ones(12)
    pixels[0] += 200.0  # a wrong detection with zero confidence is ignored
    conf[0] = 0.0
    np.testing.assert_allclose(pelvis_from_keypoints(joints, pixels, conf, K), pelvis, atol=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        pelvis_from_keypoints(joints, pixels, np.eye(12)[1], K)
    behind = pelvis * [1, 1, -1]  # a body behind the camera also projects, but is refused
    with pytest.raises(ValueError, match="behind the camera"):
        pelvis_from_keypoints(joints, _project(joints + behind, K), conf, K)


def test_missing_inputs_are_reported(body) -> None:
    est = _estimate(np.random.default_rng(5))
    with pytest.raises(ValueError, match="K"):
        to_body_init(est, body)
    with pytest.raises(ValueError, match="keypoints are needed"):
        to_body_init(est, body, K=K)
    with pytest.raises(ValueError, match="COCO-17"):
        to_body_init(est, body, K=K, keypoints=np.zeros((25, 3)))
    with pytest.raises(ValueError, match="K"):
        to_body_init(_estimate(np.random.default_rng(6), weak_camera=np.array([0.5, 0, 0])), body, K=np.eye(3) * 0)
