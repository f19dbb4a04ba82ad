"""Families for hand-held sports objects: baseball bat, tennis racket, basketball, barbell, yoga ball.

Angles are radians in SMPL conventions (see ``poses.py``). Template frames are those documented
in ``hoirecon.objects.sports``: long objects along +y with the handle end at -y, the barbell
along x, balls centred.
"""

from __future__ import annotations

import numpy as np

from hoirecon.data.synthetic.families import Draw, Family, sample_modes
from hoirecon.data.synthetic.placement import (
    PELVIS,
    R_ELBOW,
    R_WRIST,
    SPINE2,
    ObjectPlacement,
    align_axes,
    anchor_translation,
    choose,
    direction,
    ground_height,
    palms,
    random_rotations,
    roll_about,
    unit,
)
from hoirecon.data.synthetic.poses import PoseBuilder
from hoirecon.objects import ObjectTemplate

Y, Z = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])


def _kp(template: ObjectTemplate, name: str) -> np.ndarray:
    return template.keypoints[template.keypoint_names.index(name)]


def _scale(rng: np.random.Generator, b: int, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, b)


# --- baseball bat: swing (phase 0 = stance, 0.5 = contact, 1 = follow-through) or thrown -----------------
def bat_pose(rng: np.random.Generator, b: int) -> Draw:
    mode = sample_modes(rng, b, [0.88, 0.12])
    phase = np.where(mode == 1, 1.0, rng.uniform(0, 1, b))
    p = PoseBuilder(b, rng)
    p.add_spine("y", -0.5 + 1.1 * phase).legs_bent(p.uniform(0.1, 0.35), p.uniform(0.2, 0.5))
    p.add("left_hip", "z", 0.2).add("right_hip", "z", -0.2)
    p.add("left_shoulder", "y", -1.0 + 0.3 * phase).add("left_shoulder", "z", -0.8)
    p.add("right_shoulder", "y", 0.6 + 0.4 * phase).add("right_shoulder", "z", 0.9)
    p.add("left_elbow", "y", -p.uniform(0.1, 0.5)).add("right_elbow", "y", p.uniform(0.9, 1.5))
    return Draw(p.build(), mode, {"phase": phase})


def bat_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b, phase = len(joints), draw.latent["phase"]
    s = _scale(rng, b, 0.9, 1.1)
    left, right = palms(joints)
    azimuth = np.deg2rad(-150 + 300 * phase + rng.normal(0, 8, b))
    elevation = np.deg2rad(40 * (1 - 2 * phase) ** 2 + rng.normal(0, 6, b))
    swing_dir = direction(azimuth, elevation)
    thrown_dir = unit(rng.normal(size=(b, 3)))
    axis = choose(draw.mode, [swing_dir, thrown_dir])
    rot = roll_about(axis, rng.uniform(0, 2 * np.pi, b)) @ align_axes(Y, axis, Z, np.tile(Y, (b, 1)) + 0.3)
    grip = 0.5 * (left + right) - 0.06 * axis * s[:, None]
    flight = joints[:, PELVIS] + direction(rng.uniform(-1.0, 1.0, b), rng.uniform(0.1, 0.6, b)) * rng.uniform(1.2, 2.5, b)[:, None]
    anchor = choose(draw.mode, [grip, flight])
    point = choose(draw.mode, [np.tile(_kp(t, "knob"), (b, 1)), np.zeros((b, 3))])
    return ObjectPlacement(rot, anchor_translation(rot, s, point, anchor), s)


# --- tennis racket: forehand, backhand, serve ------------------------------------------------------------
def racket_pose(rng: np.random.Generator, b: int) -> Draw:
    mode = sample_modes(rng, b, [0.5, 0.2, 0.3])
    phase = rng.uniform(0, 1, b)
    p = PoseBuilder(b, rng).legs_bent(rng.uniform(0.05, 0.35, b), rng.uniform(0.1, 0.5, b))
    fore, back, serve = (mode == 0), (mode == 1), (mode == 2)
    p.add("right_shoulder", "z", np.select([fore, back, serve], [0.9 - 0.6 * phase, 0.8 + 0 * phase, -1.2 - 0.4 * phase]))
    p.add("right_shoulder", "y", np.select([fore, back, serve], [-0.8 + 2.0 * phase, 1.5 + 0.7 * phase, 0.3 + 0 * phase]))
    p.add("right_elbow", "y", np.where(serve, 0.2 + 1.6 * (1 - phase), rng.uniform(0.2, 0.6, b)))
    p.add("left_shoulder", "z", np.where(serve, 1.0, -0.9)).add("left_shoulder", "y", -0.4)
    p.add_spine("y", np.select([fore, back, serve], [-0.5 + 1.0 * phase, 0.6 - 1.0 * phase, 0 * phase]))
    return Draw(p.build(), mode, {"phase": phase})


def racket_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b = len(joints)
    s = _scale(rng, b, 0.92, 1.08)
    _, right = palms(joints)
    forearm = unit(joints[:, R_WRIST] - joints[:, R_ELBOW])
    side = unit(np.cross(forearm, np.tile(Y, (b, 1))) + 1e-3)
    axis = unit(np.einsum("bij,bj->bi", roll_about(side, np.deg2rad(rng.uniform(10, 45, b))), forearm))
    rot = roll_about(axis, rng.uniform(-0.6, 0.6, b)) @ align_axes(Y, axis, Z, side)
    return ObjectPlacement(rot, anchor_translation(rot, s, _kp(t, "butt"), right - 0.05 * axis), s)


# --- basketball: dribble (ball height varies, mostly out of the hand), two-hand hold, shot --------------
def ball_pose(rng: np.random.Generator, b: int) -> Draw:
    mode = sample_modes(rng, b, [0.45, 0.3, 0.25])
    p = PoseBuilder(b, rng).legs_bent(rng.uniform(0.1, 0.5, b), rng.uniform(0.2, 0.7, b))
    dribble, hold, shoot = (mode == 0), (mode == 1), (mode == 2)
    p.add("right_shoulder", "z", np.select([dribble, hold, shoot], [1.1, 0.9, -1.1], 0.0))
    p.add("right_shoulder", "y", np.select([dribble, hold, shoot], [0.4, 1.1, 0.5], 0.0))
    p.add("right_elbow", "y", np.select([dribble, hold, shoot], [p.uniform(0.5, 1.0), p.uniform(1.0, 1.5), p.uniform(0.6, 1.2)], 0.0))
    p.add("left_shoulder", "z", np.select([dribble, hold, shoot], [-1.2, -0.9, 1.1], 0.0))
    p.add("left_shoulder", "y", np.select([dribble, hold, shoot], [-0.2, -1.1, -0.5], 0.0))
    p.add("left_elbow", "y", -np.select([dribble, hold, shoot], [p.uniform(0.1, 0.5), p.uniform(1.0, 1.5), p.uniform(0.6, 1.2)], 0.0))
    return Draw(p.build(), mode, {"height": rng.uniform(0, 1, b)})


def _ball_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator, s: np.ndarray) -> np.ndarray:
    radius = 0.5 * t.extents[1] * s
    left, right = palms(joints)
    floor = ground_height(joints)
    dribble = right + np.array([0.0, 0.0, 0.08])
    dribble[:, 1] = floor + radius + draw.latent["height"] * (right[:, 1] - radius - floor)
    hold = 0.5 * (left + right) + np.array([0.0, 0.0, 1.0]) * (0.6 * radius)[:, None]
    shoot = 0.5 * (left + right) + np.array([0.0, 1.0, 0.3]) * (0.7 * radius)[:, None]
    return choose(draw.mode, [dribble, hold, shoot])


def basketball_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    s = _scale(rng, len(joints), 0.92, 1.08)
    return ObjectPlacement(random_rotations(rng, len(joints)), _ball_place(draw, joints, t, rng, s), s)


# --- barbell: deadlift, front rack, overhead; the bar runs through both palms ---------------------------
def barbell_pose(rng: np.random.Generator, b: int) -> Draw:
    mode = sample_modes(rng, b, [0.35, 0.3, 0.35])
    lift, rack, over = (mode == 0), (mode == 1), (mode == 2)
    p = PoseBuilder(b, rng, jitter=0.03)
    bend = p.uniform(0.2, 0.8)
    p.add_spine("x", np.where(lift, bend, 0.0))
    p.legs_bent(np.where(lift, bend + p.uniform(0.1, 0.5), p.uniform(0.0, 0.5)), np.where(lift, p.uniform(0.2, 0.9), p.uniform(0.0, 0.6)))
    for side, sign in (("left", -1.0), ("right", 1.0)):
        p.add(f"{side}_shoulder", "z", sign * np.select([lift, rack, over], [1.45, 0.3, -1.25], 0.0))
        p.add(f"{side}_shoulder", "y", sign * np.select([lift, rack, over], [0.3 + bend, 1.4, 0.1], 0.0))
        p.add(f"{side}_elbow", "y", sign * np.select([lift, rack, over], [0.05, 2.2, 0.2], 0.0))
    return Draw(p.build(), mode)


def barbell_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b = len(joints)
    s = _scale(rng, b, 0.85, 1.1)
    left, right = palms(joints)
    rot = align_axes(np.array([1.0, 0, 0]), unit(left - right), Y, np.tile(Y, (b, 1)))
    rot = roll_about(unit(left - right), rng.uniform(0, 2 * np.pi, b)) @ rot
    return ObjectPlacement(rot, 0.5 * (left + right), s)


# --- yoga ball: sitting on it, overhead, lying back on it, rolling on the floor ------------------------
def yoga_pose(rng: np.random.Generator, b: int) -> Draw:
    mode = sample_modes(rng, b, [0.4, 0.25, 0.15, 0.2])
    sit, over, lie, roll = (mode == 0), (mode == 1), (mode == 2), (mode == 3)
    p = PoseBuilder(b, rng)
    p.legs_bent(np.select([sit, over, lie, roll], [p.uniform(1.3, 1.6), p.uniform(0, 0.3), p.uniform(0.6, 1.0), p.uniform(0.1, 0.6)], 0.0),
                np.select([sit, over, lie, roll], [p.uniform(1.3, 1.7), p.uniform(0, 0.3), p.uniform(1.2, 1.6), p.uniform(0.2, 0.8)], 0.0))
    p.add_spine("x", np.select([lie, roll], [p.uniform(-0.7, -0.3), p.uniform(0.2, 0.6)], 0.0))
    for side, sign in (("left", -1.0), ("right", 1.0)):
        p.add(f"{side}_shoulder", "z", sign * np.select([sit, over, lie, roll], [1.1, -1.25, -0.4, 1.2], 0.0))
        p.add(f"{side}_shoulder", "y", sign * np.select([over, roll], [0.3, 0.6], 0.0))
        p.add(f"{side}_elbow", "y", sign * np.where(over, p.uniform(0.2, 0.8), 0.2))
    return Draw(p.build(), mode, {"ahead": rng.uniform(0.4, 1.2, b), "side": rng.uniform(-0.5, 0.5, b)})


def yoga_place(draw: Draw, joints: np.ndarray, t: ObjectTemplate, rng: np.random.Generator) -> ObjectPlacement:
    b = len(joints)
    s = _scale(rng, b, 0.8, 1.2)
    radius = (0.5 * t.extents[1] * s)[:, None]
    left, right = palms(joints)
    sit = joints[:, PELVIS] - np.array([0.0, 1.0, 0.1]) * (radius + 0.07)
    over = 0.5 * (left + right) + np.array([0.0, 0.8, 0.0]) * radius
    lie = joints[:, SPINE2] - np.array([0.0, 0.4, 1.0]) * (radius + 0.08)
    floor = np.stack([draw.latent["side"], ground_height(joints) + radius[:, 0], draw.latent["ahead"]], axis=-1)
    center = choose(draw.mode, [sit, over, lie, floor])
    return ObjectPlacement(random_rotations(rng, b), center, s)


FAMILIES = {
    "baseball_bat": Family("baseball_bat", ("swing", "thrown"), bat_pose, bat_place, ("swing",)),
    "tennis_racket": Family("tennis_racket", ("forehand", "backhand", "serve"), racket_pose, racket_place,
                            ("forehand", "backhand", "serve")),
    "basketball": Family("basketball", ("dribble", "hold", "shoot"), ball_pose, basketball_place, ("hold", "shoot")),
    "barbell": Family("barbell", ("deadlift", "front_rack", "overhead"), barbell_pose, barbell_place,
                      ("deadlift", "front_rack", "overhead")),
    "yoga_ball": Family("yoga_ball", ("sit", "overhead", "lie_back", "rolling"), yoga_pose, yoga_place,
                        ("sit", "overhead", "lie_back")),
}
