"""Families for ridden and played objects: bicycle, skateboard, cello, violin.

Template frames are those documented in ``hoirecon.objects.wheeled`` and
``hoirecon.objects.instruments``: bicycle and skateboard forward along +x with +y up (the
bicycle's left side at -z); cello and violin along +y towards the scroll with the strings
facing +z.
"""

from __future__ import annotations

import numpy as np

from hoirecon.data.synthetic.families import Draw, Family, sample_modes
from hoirecon.data.synthetic.placement import (
    L_ANKLE,
    L_COLLAR,
    L_KNEE,
    NECK,
    PELVIS,
    R_ANKLE,
    R_KNEE,
    ObjectPlacement,
    align_axes,
    anchor_translation,
    choose,
    ground_height,
    palms,
    roll_about,
    unit,
)
from hoirecon.data.synthetic.poses import PoseBuilder
from hoirecon.objects import ObjectTemplate

X, Y, Z = np.eye(3)


def _kp(template: ObjectTemplate, name: str) -> np.ndarray:
    return template.keypoints[template.keypoint_names.index(name)]


def _tile(v: np.ndarray, b: int) -> np.ndarray:
    return np.tile(v, (b, 1))


# --- bicycle: riding (pedal phase) or walking beside it with one hand on the bar ------------------------
def bicycle_pose(rng: np.random.Generator, b: int) -> Draw:
    mode = sample_modes(rng, b, [0.7, 0.3])
    ride = mode == 0
    crank = rng.uniform(0, 2 * np.pi, b)
    p = PoseBuilder(b, rng, jitter=0.03)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        swing = np.sin(crank) * sign
        p.add(f"{side}_hip", "x", -np.where(ride, 1.25 + 0.3 * swing, 0.3 * swing))
        p.add(f"{side}_knee", "x", np.where(ride, 1.2 + 0.45 * swing, 0.15 + 0.2 * np.abs(swing)))
    p.add_spine("x", np.where(ride, p.uniform(0.3, 0.7), 0.0)).add("neck", "x", np.where(ride, -0.3, 0.0))
    p.add("left_shoulder", "y", np.where(ride, -0.9, 0.0)).add("left_shoulder", "z", np.where(ride, -0.7, -1.25))
    p.add("right_shoulder", "y", np.where(ride, 0.9, 0.5)).add("right_shoulder", "z", np.where(ride, 0.7, 1.0))
    return Draw(p.build(), mode, {"crank": crank})


def bicycle_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b = len(joints)
    s = rng.uniform(0.88, 1.08, b)
    yaw = rng.normal(0, np.deg2rad(5), b)
    forward = np.stack([np.sin(yaw), np.zeros(b), np.cos(yaw)], -1)
    up = unit(_tile(Y, b) + rng.normal(0, 0.06, (b, 3)))
    rot = align_axes(X, forward, Y, up)
    _, right = palms(joints)
    seat = joints[:, PELVIS] + np.array([0.0, -0.12, -0.04])
    ride_t = anchor_translation(rot, s, _kp(t, "saddle"), seat)
    walk_t = anchor_translation(rot, s, _kp(t, "handlebar_left"), right + np.array([-0.03, 0.0, 0.0]))
    return ObjectPlacement(rot, choose(draw.mode, [ride_t, walk_t]), s)


# --- skateboard: riding, ollie (board in the air), carrying it at the side ------------------------------
def skateboard_pose(rng: np.random.Generator, b: int) -> Draw:
    mode = sample_modes(rng, b, [0.6, 0.15, 0.25])
    ride, ollie, carry = (mode == 0), (mode == 1), (mode == 2)
    p = PoseBuilder(b, rng)
    p.add("left_hip", "z", np.where(carry, 0.05, 0.35)).add("right_hip", "z", np.where(carry, -0.05, -0.35))
    p.legs_bent(np.select([ride, ollie, carry], [p.uniform(0.1, 0.5), p.uniform(0.6, 1.2), p.uniform(0, 0.2)], 0.0),
                np.select([ride, ollie, carry], [p.uniform(0.2, 0.7), p.uniform(0.9, 1.5), p.uniform(0, 0.2)], 0.0))
    p.add_spine("y", np.where(carry, 0.0, p.uniform(0.3, 0.9)))
    p.add("left_shoulder", "z", np.where(carry, -1.25, -0.5)).add("right_shoulder", "z", np.where(carry, 1.3, 0.5))
    return Draw(p.build(), mode, {"lift": rng.uniform(0.05, 0.3, b), "pitch": rng.uniform(-0.35, 0.35, b)})


def skateboard_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b = len(joints)
    s = rng.uniform(0.9, 1.1, b)
    feet_line = joints[:, L_ANKLE] - joints[:, R_ANKLE]
    feet_line[:, 1] = 0.0
    along = unit(feet_line)
    deck_top = np.array([0.0, _kp(t, "nose_left")[1], 0.0])
    under = 0.5 * (joints[:, L_ANKLE] + joints[:, R_ANKLE])
    under[:, 1] = ground_height(joints) + 0.01
    ride_rot = align_axes(X, along, Y, _tile(Y, b))
    pitched = roll_about(unit(np.cross(along, _tile(Y, b))), draw.latent["pitch"]) @ ride_rot
    air = under + np.array([0.0, 1.0, 0.0]) * draw.latent["lift"][:, None]
    _, right = palms(joints)
    carry_rot = align_axes(X, _tile(Y, b), Y, _tile(-X, b))
    carry = right + np.array([-0.1, -0.15, 0.0])
    rot = choose(draw.mode, [ride_rot, pitched, carry_rot])
    point = choose(draw.mode, [_tile(deck_top, b), _tile(deck_top, b), np.zeros((b, 3))])
    return ObjectPlacement(rot, anchor_translation(rot, s, point, choose(draw.mode, [under, air, carry])), s)


# --- cello: seated, the instrument between the knees, left hand on the neck, right arm bowing ----------
def cello_pose(rng: np.random.Generator, b: int) -> Draw:
    bow = rng.uniform(0, 1, b)
    p = PoseBuilder(b, rng, jitter=0.03).legs_bent(rng.uniform(1.35, 1.6, b), rng.uniform(1.3, 1.7, b))
    p.add("left_hip", "z", 0.35).add("right_hip", "z", -0.35).add_spine("x", rng.uniform(0.0, 0.3, b))
    p.add("left_shoulder", "y", -0.8).add("left_shoulder", "z", -rng.uniform(0.1, 0.5, b))
    p.add("left_elbow", "y", -rng.uniform(1.1, 1.8, b))
    p.add("right_shoulder", "y", 0.5 + 0.6 * bow).add("right_shoulder", "z", 0.6 + 0.4 * bow)
    p.add("right_elbow", "y", 0.5 + 0.7 * bow)
    return Draw(p.build(), np.zeros(b, int), {"bow": bow})


def cello_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b = len(joints)
    s = rng.uniform(0.92, 1.05, b)
    tilt = np.deg2rad(rng.uniform(15, 35, b))
    axis = unit(np.stack([rng.uniform(0.05, 0.25, b), np.cos(tilt), -np.sin(tilt)], -1))
    rot = align_axes(Y, axis, Z, _tile(-Z, b))
    between = 0.5 * (joints[:, L_KNEE] + joints[:, R_KNEE]) + np.array([0.0, 0.0, 0.06])
    lower = 0.5 * (_kp(t, "lower_bout_left") + _kp(t, "lower_bout_right"))
    return ObjectPlacement(rot, anchor_translation(rot, s, lower, between), s)


# --- violin: standing, chin on the rest, the neck pointing to the left hand, right arm bowing ----------
def violin_pose(rng: np.random.Generator, b: int) -> Draw:
    bow = rng.uniform(0, 1, b)
    p = PoseBuilder(b, rng, jitter=0.03).legs_bent(rng.uniform(0, 0.2, b), rng.uniform(0, 0.25, b))
    p.add("left_shoulder", "y", -rng.uniform(0.6, 0.9, b)).add("left_elbow", "y", -rng.uniform(1.0, 1.6, b))
    p.add("neck", "y", 0.3).add("neck", "x", 0.2)
    p.add("right_shoulder", "y", 0.8 + 0.6 * bow).add("right_shoulder", "z", 0.6 + 0.3 * bow)
    p.add("right_elbow", "y", 0.8 + 0.7 * bow)
    return Draw(p.build(), np.zeros(b, int), {"bow": bow})


def violin_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b = len(joints)
    s = rng.uniform(0.92, 1.05, b)
    left, _ = palms(joints)
    chin = 0.5 * (joints[:, NECK] + joints[:, L_COLLAR]) + np.array([0.02, 0.02, 0.07])
    axis = unit(left - chin)
    rot = roll_about(axis, rng.normal(0, 0.2, b)) @ align_axes(Y, axis, Z, _tile(Y, b))
    return ObjectPlacement(rot, anchor_translation(rot, s, _kp(t, "chinrest"), chin), s)


FAMILIES = {
    "bicycle": Family("bicycle", ("ride", "walk"), bicycle_pose, bicycle_place, ("ride", "walk")),
    "skateboard": Family("skateboard", ("ride", "ollie", "carry"), skateboard_pose, skateboard_place, ("ride", "carry")),
    "cello": Family("cello", ("play",), cello_pose, cello_place, ("play",)),
    "violin": Family("violin", ("play",), violin_pose, violin_place, ("play",)),
}
