"""A collected row: the body layout agrees with its camera, left/right fixes, the cache round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hoirecon.body import load_body_model
from hoirecon.collect.object_pose import solve_object_pose
from hoirecon.collect.rows import (
    RowInputs,
    body_rows,
    detected_conf,
    make_sample,
    sample_from_json,
    sample_to_json,
    swap_left_right,
)
from hoirecon.data.readers.assemble import body_joints
from hoirecon.fitting.body_init import BodyInit, rest_pelvis
from hoirecon.objects import load_template

K = np.array([[300.0, 0, 127.5], [0, 300, 127.5], [0, 0, 1]])


@pytest.fixture(scope="module")
def body_model():
    return load_body_model()


def _body(model) -> BodyInit:
    betas, pose = np.zeros(10), np.zeros(63)
    orient = np.array([np.pi, 0.0, 0.0])  # facing the camera, upright
    pelvis = np.array([0.0, 0.1, 3.0])
    return BodyInit(betas, pose, orient, pelvis, pelvis - rest_pelvis(model, betas))


def test_swap_is_an_involution_that_keeps_the_nose() -> None:
    coco = np.random.default_rng(0).random((17, 3))
    swapped = swap_left_right(coco)
    assert np.allclose(swapped[0], coco[0]) and np.allclose(swapped[5], coco[6]) and np.allclose(swapped[16], coco[15])
    assert np.allclose(swap_left_right(swapped), coco)


def test_body_rows_are_the_joints_seen_by_the_row_camera(body_model) -> None:
    body = _body(body_model)
    coco = np.c_[np.zeros((17, 2)), np.full(17, 0.8)]
    rows = body_rows(body, body_model, coco, K)
    joints = body_joints(body_model, body.betas, body.body_pose).joints
    cam = (joints - rows.cam_center) @ rows.cam_rotation
    assert np.allclose(cam[:, :2] / cam[:, 2:] * 300 + 127.5, rows.keypoints, atol=1e-6)
    assert np.allclose(rows.cam_center, [0.0, 0.1, 3.0], atol=1e-6)  # in front of the body (+z), 10 cm above the pelvis
    conf = detected_conf(coco)
    assert np.allclose(rows.conf[conf >= 0], 0.8) and np.allclose(rows.conf[conf < 0], 0.5)


def test_sample_round_trips_through_the_cache_json(body_model, tmp_path: Path) -> None:
    board = load_template("skateboard")
    body = _body(body_model)
    coco = np.c_[np.full((17, 2), 100.0), np.full(17, 0.9)]
    cam = np.asarray(board.keypoints) + np.array([0.2, 0.5, 2.8])
    clicks = np.c_[cam[:, :2] / cam[:, 2:] * 300 + 127.5, np.full(8, 2.0)]
    clicks[2, 2] = 1
    pose = solve_object_pose(board, K, (256, 256), clicks=clicks)
    inputs = RowInputs("x", "skateboard", "train", tmp_path / "x.png", (256, 256), K, coco, clicks, None,
                       np.asarray(board.keypoints))
    sample = make_sample(inputs, body, body_rows(body, body_model, coco, K), pose)
    assert sample.keypoints_2d.shape == (30, 2) and sample.gt is None
    assert sample.keypoint_visible[22:].tolist() == [True, True, False, True, True, True, True, True]
    assert len(sample.estimate.corr_weight) == 8
    back = sample_from_json(sample_to_json(sample))
    for name in ("keypoints_2d", "keypoint_conf", "keypoint_visible", "cam_rotation", "cam_center", "intrinsics"):
        assert np.allclose(getattr(back, name), getattr(sample, name)), name
    assert back.image_path == sample.image_path and back.image_size == (256, 256)
    assert np.allclose(back.estimate.corr_points, sample.estimate.corr_points)
