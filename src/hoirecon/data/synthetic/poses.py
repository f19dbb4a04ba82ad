"""Body-pose building blocks in SMPL conventions for the synthetic interaction families.

SMPL's rest pose is a T-pose whose joint frames all align with the body axes (x to the body's
left, y up, z to its front), so a pose is written as rotations about those axes:
knee flexion is +x, hip flexion (thigh forward) is -x, spine forward bend is +x, the left arm
comes down with -z and forward with -y, the right arm mirrors it (+z, +y), and elbow flexion is
-y on the left and +y on the right.
"""

from __future__ import annotations

import numpy as np

BODY_JOINTS: tuple[str, ...] = (
    "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar",
    "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
"""The 21 joints of a 63-d body pose, in order (SMPL joints 1..21)."""
_INDEX = {name: i for i, name in enumerate(BODY_JOINTS)}
_MIRROR = {
    name: name.replace("left_", "right_") if name.startswith("left_") else name.replace("right_", "left_")
    for name in BODY_JOINTS
}


class PoseBuilder:
    """Accumulates per-joint axis-angle rotations for a batch of B bodies (pose (B, 21, 3))."""

    def __init__(self, batch: int, rng: np.random.Generator, jitter: float = 0.04) -> None:
        self.rng = rng
        self.pose = rng.normal(0.0, jitter, (batch, 21, 3))

    def add(self, joint: str, axis: str, angle: np.ndarray | float) -> PoseBuilder:
        """Add ``angle`` (B,) or scalar radians about body axis 'x', 'y' or 'z' of ``joint``."""
        self.pose[:, _INDEX[joint], "xyz".index(axis)] += angle
        return self

    def add_spine(self, axis: str, angle: np.ndarray | float) -> PoseBuilder:
        """Spread a rotation evenly over spine1..spine3."""
        for joint in ("spine1", "spine2", "spine3"):
            self.add(joint, axis, np.asarray(angle) / 3.0)
        return self

    def uniform(self, low: float, high: float) -> np.ndarray:
        """A (B,) draw from U[low, high], for readable recipes."""
        return self.rng.uniform(low, high, len(self.pose))

    def arms_down(self, amount: np.ndarray | float = 1.25) -> PoseBuilder:
        """Lower both arms from the T-pose by ``amount`` radians."""
        return self.add("left_shoulder", "z", -np.asarray(amount)).add("right_shoulder", "z", amount)

    def legs_bent(self, hip: np.ndarray | float, knee: np.ndarray | float) -> PoseBuilder:
        """Flex both hips (thighs forward) and knees by the given angles."""
        for side in ("left", "right"):
            self.add(f"{side}_hip", "x", -np.asarray(hip)).add(f"{side}_knee", "x", knee)
        return self

    def build(self) -> np.ndarray:
        """The body poses (B, 63)."""
        return self.pose.reshape(len(self.pose), 63).copy()


def mirror_pose(pose: np.ndarray) -> np.ndarray:
    """Left-right mirrored body poses (B, 63): swap sides and negate the y and z rotation parts."""
    p = pose.reshape(-1, 21, 3)
    out = np.empty_like(p)
    for name, i in _INDEX.items():
        out[:, _INDEX[_MIRROR[name]]] = p[:, i] * np.array([1.0, -1.0, -1.0])
    return out.reshape(pose.shape)
