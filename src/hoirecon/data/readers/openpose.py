"""OpenPose BODY_25 (and COCO-18) detections -> our 22 SMPL keypoint rows and the 17 COCO keypoints.

BODY_25 order: 0 nose, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left shoulder/elbow/wrist,
8 mid-hip, 9-11 right hip/knee/ankle, 12-14 left hip/knee/ankle, 15/16 right/left eye,
17/18 right/left ear, 19-21 left big toe/small toe/heel, 22-24 right big toe/small toe/heel.
"Left" is the person's left, as in SMPL and COCO.

COCO-18 order (OpenPose's ``COCO`` model): 0 nose, 1 neck, 2-4 right shoulder/elbow/wrist,
5-7 left shoulder/elbow/wrist, 8-10 right hip/knee/ankle, 11-13 left hip/knee/ankle,
14/15 right/left eye, 16/17 right/left ear.

SMPL row <- BODY_25 joint (SMPLify-X's correspondence; mid-hip stands in for the pelvis)::

    0 pelvis <- 8 mid-hip        1 left_hip <- 12        2 right_hip <- 9
    4 left_knee <- 13            5 right_knee <- 10      7 left_ankle <- 14
    8 right_ankle <- 11          12 neck <- 1            16 left_shoulder <- 5
    17 right_shoulder <- 2       18 left_elbow <- 6      19 right_elbow <- 3
    20 left_wrist <- 7           21 right_wrist <- 4

SMPL joints with no OpenPose counterpart get confidence 0: spine1-3 (3, 6, 9), the feet
(10, 11: SMPL's foot joint is the ball of the foot, OpenPose has toes and heels), the
collars (13, 14) and the head (15: OpenPose has no head-centre joint).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoirecon.data.sample import NUM_BODY_JOINTS

NUM_BODY25 = 25

SMPL_FROM_BODY25: dict[int, int] = {
    0: 8, 1: 12, 2: 9, 4: 13, 5: 10, 7: 14, 8: 11, 12: 1,
    16: 5, 17: 2, 18: 6, 19: 3, 20: 7, 21: 4,
}
"""SMPL body joint index -> BODY_25 index, for the joints that correspond."""

COCO_FROM_BODY25: tuple[int, ...] = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
"""BODY_25 index of each COCO keypoint, in COCO order (nose, eyes, ears, shoulders, ...)."""

NUM_COCO18 = 18

COCO_FROM_COCO18: tuple[int, ...] = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
"""COCO-18 index of each COCO keypoint, in COCO order (COCO-18 adds the neck at 1)."""


@dataclass(frozen=True)
class BodyKeypoints:
    """One person's 2D body keypoints in our layouts."""

    smpl: np.ndarray
    """(22, 2) pixels of the SMPL body joint rows (zero where unmapped or undetected)."""
    smpl_conf: np.ndarray
    """(22,) confidences in [0, 1]; 0 = no detection."""
    coco: np.ndarray
    """(17, 3) COCO keypoints (u, v, confidence)."""


def empty_keypoints() -> BodyKeypoints:
    """No detection at all: every keypoint at zero with confidence 0."""
    return BodyKeypoints(np.zeros((NUM_BODY_JOINTS, 2)), np.zeros(NUM_BODY_JOINTS), np.zeros((17, 3)))


def from_body25(joints: np.ndarray, min_conf: float = 0.0) -> BodyKeypoints:
    """Map OpenPose BODY_25 joints ``(25, 3)`` (u, v, confidence) to our layouts.

    Confidences below ``min_conf`` (and all-zero detections) become 0, with their pixels zeroed,
    so a missed person gives confidence-0 keypoints instead of a keypoint at the image corner.
    """
    joints = np.asarray(joints, dtype=np.float64).reshape(NUM_BODY25, 3).copy()
    low = joints[:, 2] < max(min_conf, 1e-12)
    joints[low] = 0.0
    smpl = np.zeros((NUM_BODY_JOINTS, 2))
    conf = np.zeros(NUM_BODY_JOINTS)
    for smpl_index, op_index in SMPL_FROM_BODY25.items():
        smpl[smpl_index] = joints[op_index, :2]
        conf[smpl_index] = joints[op_index, 2]
    coco = joints[list(COCO_FROM_BODY25)]
    return BodyKeypoints(smpl, np.clip(conf, 0.0, 1.0), coco)
