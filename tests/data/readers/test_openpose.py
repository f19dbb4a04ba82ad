"""OpenPose BODY_25 -> SMPL rows / COCO mapping."""

from __future__ import annotations

import json

import numpy as np

from hoirecon.data.readers import COCO_FROM_BODY25, SMPL_FROM_BODY25
from hoirecon.data.readers.behave_files import read_openpose
from hoirecon.data.readers.openpose import from_body25
from hoirecon.data.sample import COCO_KEYPOINT_NAMES

BODY25_NAMES = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle",
                "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear",
                "left_ear", "left_big_toe", "left_small_toe", "left_heel", "right_big_toe",
                "right_small_toe", "right_heel")


def test_mapping_pairs_joints_of_the_same_name() -> None:
    from hoirecon.body import SMPL_BODY_JOINT_NAMES as names
    for smpl, op in SMPL_FROM_BODY25.items():
        expected = "mid_hip" if names[smpl] == "pelvis" else names[smpl]
        assert BODY25_NAMES[op] == expected
    assert [BODY25_NAMES[i] for i in COCO_FROM_BODY25] == list(COCO_KEYPOINT_NAMES)


def test_low_confidence_and_missing_detections_become_zero() -> None:
    rng = np.random.default_rng(0)
    joints = np.column_stack([rng.uniform(0, 500, (25, 2)), np.linspace(0.05, 1.0, 25)])
    kp = from_body25(joints, min_conf=0.5)
    low = joints[:, 2] < 0.5
    for smpl, op in SMPL_FROM_BODY25.items():
        assert kp.smpl_conf[smpl] == (0.0 if low[op] else joints[op, 2])
        np.testing.assert_allclose(kp.smpl[smpl], 0.0 if low[op] else joints[op, :2])
    empty = from_body25(np.zeros((25, 3)))
    assert (empty.smpl_conf == 0).all() and (empty.coco == 0).all()


def test_openpose_people_format(tmp_path) -> None:
    joints = np.tile([10.0, 20.0, 0.9], (25, 1))
    path = tmp_path / "k0.color.json"
    path.write_text(json.dumps({"people": [{"pose_keypoints_2d": joints.reshape(-1).tolist()}]}))
    np.testing.assert_allclose(read_openpose(path).smpl_conf[0], 0.9)
    path.write_text(json.dumps({"people": []}))
    assert (read_openpose(path).smpl_conf == 0).all()
