"""Placing a body estimate in the camera: each way against a known pelvis, and the layout rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.data.readers.body_estimates import BodyEstimate
from hoirecon.data.readers.placement import (
    PlacedBody,
    body_layout,
    pelvis_from_keypoints,
    pelvis_in_camera,
    place_body,
    transl_from_weak_camera,
)

K = np.array([[1000.0, 0.0, 330.0], [0.0, 990.0, 250.0], [0.0, 0.0, 1.0]])


def project(points: np.ndarray, K: np.ndarray = K) -> np.ndarray:
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:3]


def joints(seed: int = 0) -> np.ndarray:
    """(22, 3) a body-sized joint cloud with the pelvis at the origin."""
    points = np.random.default_rng(seed).normal(0.0, 0.3, (22, 3))
    return points - points[0]


def test_weak_camera_puts_the_model_origin_where_the_crop_says() -> None:
    """HMR's weak camera maps the model origin to ``c + size / 2 * s * t``; the perspective
    projection of the converted ``transl`` lands on the same pixel, at depth 2 f / (s size)."""
    weak, crop = np.array([0.8, 0.1, -0.05]), np.array([400.0, 300.0, 224.0])
    transl = transl_from_weak_camera(weak, crop, K, (640, 480))
    expected = crop[:2] + crop[2] / 2 * weak[0] * weak[1:]
    assert transl[2] == pytest.approx(2 * 995.0 / (0.8 * 224.0))
    np.testing.assert_allclose(project(transl[None])[0], expected, atol=2.0)  # fx != fy: a pixel at most
    square = transl_from_weak_camera(weak, None, K, (640, 480))
    assert square[2] == pytest.approx(2 * 995.0 / (0.8 * 640.0))
    with pytest.raises(ValueError, match="positive"):
        transl_from_weak_camera(np.array([0.0, 0.0, 0.0]), crop, K, (640, 480))


def test_virtual_camera_keeps_the_pixel_and_scales_the_depth() -> None:
    source = np.array([[5000.0, 0.0, 128.0], [0.0, 5000.0, 128.0], [0.0, 0.0, 1.0]])
    pelvis = np.array([0.2, -0.1, 20.0])
    moved = pelvis_in_camera(pelvis, source, K)
    assert moved[2] == pytest.approx(20.0 * 995.0 / 5000.0)
    np.testing.assert_allclose(project(moved[None], K)[0], project(pelvis[None], source)[0], atol=1e-9)
    with pytest.raises(ValueError, match="behind"):
        pelvis_in_camera(-pelvis, source, K)


def test_keypoints_recover_the_pelvis_and_ignore_missing_joints() -> None:
    J, pelvis = joints(), np.array([0.3, -0.2, 3.5])
    pixels, conf = project(J + pelvis), np.full(22, 0.8)
    pixels[5], conf[5] = [0.0, 0.0], 0.0  # a missed joint at the corner must not count
    np.testing.assert_allclose(pelvis_from_keypoints(J, pixels, conf, K), pelvis, atol=1e-9)
    with pytest.raises(ValueError, match="at least 2"):
        pelvis_from_keypoints(J, pixels, np.eye(22)[0], K)


def test_place_body_prefers_transl_then_weak_camera_then_keypoints() -> None:
    orient, rest, J = np.array([3.0, 0.1, 0.0]), np.array([0.0, -0.2, 0.0]), joints(1)
    R = Rotation.from_rotvec(orient).as_matrix()
    pelvis = np.array([0.1, 0.2, 4.0])
    pixels = project(J @ R.T + pelvis)
    base = BodyEstimate(np.zeros(10), np.zeros(63), orient, source="test")
    with_transl = BodyEstimate(np.zeros(10), np.zeros(63), orient, transl=pelvis - rest,
                               weak_camera=np.array([1.0, 0.0, 0.0]))
    placed = place_body(with_transl, K, (640, 480), rest, J, pixels, np.ones(22))
    assert placed.method == "transl"
    np.testing.assert_allclose(placed.pelvis_cam, pelvis)
    weak = BodyEstimate(np.zeros(10), np.zeros(63), orient, weak_camera=np.array([1.0, 0.0, 0.0]))
    assert place_body(weak, K, (640, 480), rest, J, pixels, np.ones(22)).method == "weak-camera"
    placed = place_body(base, K, (640, 480), rest, J, pixels, np.ones(22))
    assert placed.method == "keypoints"
    np.testing.assert_allclose(placed.pelvis_cam, pelvis, atol=1e-9)
    np.testing.assert_allclose(placed.transl, pelvis - rest, atol=1e-9)
    np.testing.assert_allclose(placed.rotation, R)
    with pytest.raises(ValueError, match="body model"):
        place_body(base, K, (640, 480), rest)


def test_layout_confidence_is_the_detector_s_else_the_estimate_s_and_zero_behind() -> None:
    J = joints(2)
    body = PlacedBody(np.eye(3), np.array([0.0, 0.0, 3.0]), np.zeros(3), "transl")
    J[7] = [0.0, 0.0, -3.5]  # behind the camera
    detected = np.full(22, -1.0)
    detected[[1, 2]] = [0.9, 0.0]
    pixels, conf = body_layout(J, body, K, detected, 0.5)
    np.testing.assert_allclose(pixels[[0, 3]], project(J[[0, 3]] + body.pelvis_cam))
    assert conf[1] == 0.9 and conf[2] == 0.0 and conf[3] == 0.5
    assert conf[7] == 0.0 and (pixels[7] == 0).all()
