"""Joint names of the SMPL family, in each model's own joint order.

SMPL has 24 joints; SMPL-H keeps SMPL's first 22 (body) joints and replaces SMPL's two
hand joints by 15 finger joints per hand; SMPL-X inserts the jaw and the two eyes between
the body and the hands. The first 22 names are therefore shared by all three models.
"""

from __future__ import annotations

SMPL_BODY_JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
"""The 22 body joints shared by SMPL, SMPL-H and SMPL-X (pelvis first)."""

SMPL_JOINT_NAMES: tuple[str, ...] = SMPL_BODY_JOINT_NAMES + ("left_hand", "right_hand")
"""The 24 SMPL joints in SMPL's order."""

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")


def hand_joint_names(side: str) -> tuple[str, ...]:
    """Return the 15 finger joint names of one hand (`side` is "left" or "right") in the
    order SMPL-H and SMPL-X store them: index, middle, pinky, ring, thumb, each from the
    knuckle (1) to the tip (3)."""
    return tuple(f"{side}_{finger}{k}" for finger in _FINGERS for k in (1, 2, 3))


SMPLH_JOINT_NAMES: tuple[str, ...] = (
    SMPL_BODY_JOINT_NAMES + hand_joint_names("left") + hand_joint_names("right")
)
"""The 52 SMPL-H joints: 22 body joints, then the left and the right hand."""

SMPLX_JOINT_NAMES: tuple[str, ...] = (
    SMPL_BODY_JOINT_NAMES
    + ("jaw", "left_eye", "right_eye")
    + hand_joint_names("left")
    + hand_joint_names("right")
)
"""The 55 SMPL-X joints: 22 body joints, jaw, eyes, then the left and the right hand."""

JOINT_NAMES_BY_TYPE: dict[str, tuple[str, ...]] = {
    "smpl": SMPL_JOINT_NAMES,
    "smplh": SMPLH_JOINT_NAMES,
    "smplx": SMPLX_JOINT_NAMES,
}
"""Joint names keyed by model type; the joint count identifies the type (24, 52, 55)."""
