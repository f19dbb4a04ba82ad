"""COCO-17 body keypoints and per-joint visibility proxies for any SMPL-format body.

Face landmarks (nose, eyes, ears) are surface vertices picked once on the rest template by
geometry (the most forward head vertex, points beside it, the head's side extremes), so the
same code works for the embedded body and for a user's SMPL file. The limb keypoints are SMPL
joints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from hoirecon.body.model import BodyModel

# SMPL joint ids of COCO's shoulders, elbows, wrists, hips, knees, ankles (COCO order 5..16).
COCO_FROM_JOINTS = (16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8)
JOINT_NEIGHBOURS = 12
"""How many nearby surface vertices stand in for a joint when judging its visibility."""


@dataclass(frozen=True)
class BodyLandmarks:
    """Vertex ids on a body template used to derive COCO keypoints and joint visibility."""

    face_vertices: np.ndarray
    """(5,) vertex ids of nose, left eye, right eye, left ear, right ear."""
    joint_vertices: np.ndarray
    """(22, JOINT_NEIGHBOURS) vertex ids near each body joint."""


def _nearest(vertices: np.ndarray, point: np.ndarray) -> int:
    return int(np.argmin(np.linalg.norm(vertices - point, axis=1)))


def find_landmarks(rest_vertices: np.ndarray, rest_joints: np.ndarray) -> BodyLandmarks:
    """Pick landmark vertices on a T-pose template (V, 3) with joints (J >= 22, 3) in SMPL axes."""
    head, neck = rest_joints[15], rest_joints[12]
    in_head = rest_vertices[:, 1] > neck[1] + 0.04
    head_v = rest_vertices[in_head]
    ids = np.flatnonzero(in_head)
    front = head_v[np.argmax(head_v[:, 2] - 3.0 * np.abs(head_v[:, 0]))]
    half_width = 0.8 * np.abs(head_v[:, 0] - head[0]).max()
    targets = [
        front,
        front + np.array([0.033, 0.035, -0.02]),
        front + np.array([-0.033, 0.035, -0.02]),
        np.array([head[0] + half_width, head[1] + 0.01, head[2] - 0.01]),
        np.array([head[0] - half_width, head[1] + 0.01, head[2] - 0.01]),
    ]
    face = np.array([ids[_nearest(head_v, t)] for t in targets])
    dists = np.linalg.norm(rest_vertices[None] - rest_joints[:22, None], axis=-1)
    near = np.argsort(dists, axis=1)[:, :JOINT_NEIGHBOURS]
    return BodyLandmarks(face, near)


def coco_points(vertices: np.ndarray, joints: np.ndarray, landmarks: BodyLandmarks) -> np.ndarray:
    """COCO-17 3D points (B, 17, 3) from posed vertices (B, V, 3) and joints (B, J, 3)."""
    face = vertices[:, landmarks.face_vertices]
    limbs = joints[:, list(COCO_FROM_JOINTS)]
    return np.concatenate([face, limbs], axis=1)


def joint_visibility(vertex_visible: np.ndarray, landmarks: BodyLandmarks) -> np.ndarray:
    """Per-joint visibility (22,) from per-vertex visibility (V,): enough nearby surface is seen."""
    return vertex_visible[landmarks.joint_vertices].mean(axis=1) >= 0.25


@lru_cache(maxsize=8)
def body_landmarks(model: BodyModel) -> BodyLandmarks:
    """The landmarks of a body model, found once on its rest pose (cached per model object)."""
    with torch.no_grad():
        rest = model()
    return find_landmarks(rest.vertices[0].double().cpu().numpy(), rest.joints[0].double().cpu().numpy())
