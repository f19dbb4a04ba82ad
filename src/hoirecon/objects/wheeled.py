"""Procedural templates for the bicycle and skateboard categories.

Frames (metres, right-handed, origin at the bounding-box centre): x forward (the front wheel
or the nose at +x), y up, z to the rider's right, so "left" parts sit at -z.

- ``bicycle`` (1.70 m long, 0.66 m wheels): keypoints ``front_hub``, ``rear_hub``,
  ``bottom_bracket``, ``pedal_left``, ``pedal_right``, ``saddle``, ``handlebar_left``,
  ``handlebar_right``, ``head_tube`` (its top), ``seat_tube_top``; identity symmetry only
  (the drivetrain is on the right).
- ``skateboard`` (0.80 x 0.20 m deck with kicked nose and tail): keypoints ``nose_left``,
  ``nose_right``, ``tail_left``, ``tail_right`` (deck corners where the rounded ends start,
  mid-thickness), ``wheel_front_left``, ``wheel_front_right``, ``wheel_back_left``,
  ``wheel_back_right`` (wheel centres: the mean of each wheel's vertices); symmetries: identity
  and the half-turn about y (nose <-> tail, left <-> right).
"""

from __future__ import annotations

import numpy as np
import trimesh

from hoirecon.objects.builder import (
    TemplateBuilder,
    axis_tube,
    box,
    monotone_outline,
    revolved,
    rigid,
    tube,
)
from hoirecon.objects.symmetry import half_turn
from hoirecon.objects.template import ObjectTemplate

_REAR_HUB = np.array([0.0, 0.33, 0.0])
_FRONT_HUB = np.array([1.04, 0.33, 0.0])
_BOTTOM_BRACKET = np.array([0.42, 0.27, 0.0])
_SEAT_TOP = np.array([0.30, 0.79, 0.0])
_HEAD_TOP = np.array([0.90, 0.84, 0.0])
_HEAD_BOTTOM = np.array([0.94, 0.70, 0.0])
_BAR_CENTRE = np.array([0.95, 0.92, 0.0])
_SADDLE = np.array([0.27, 0.935, 0.0])
_CRANK = 0.17
_PEDAL_Z = 0.125


def _wheel(builder: TemplateBuilder, hub: np.ndarray, part: str) -> None:
    """Tyre, rim, hub and 16 spokes of a 0.66 m wheel in the xy plane."""
    parts = (part, "wheels")
    builder.add(trimesh.creation.torus(0.31, 0.02, 64, 12, transform=rigid(np.eye(3), hub)), parts)
    rim = trimesh.creation.torus(0.29, 0.01, 64, 8, transform=rigid(np.diag([1.0, 1.0, 0.6]), hub))
    builder.add(rim, parts)
    builder.add(axis_tube(hub, 0.10, 0.02, "z", 12, None), parts)
    for k in range(16):
        angle = 2.0 * np.pi * k / 16
        side = 0.03 if k % 2 else -0.03
        rim_point = hub + 0.285 * np.array([np.cos(angle), np.sin(angle), 0.0])
        hub_point = hub + np.array([0.025 * np.cos(angle), 0.025 * np.sin(angle), side])
        builder.add(tube(hub_point, rim_point, 0.0012, 4, None), parts)


def _frame_tubes() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(start (3,), end (3,), radius) of the main triangle, head tube and rear triangle."""
    down = np.array([0.0, 0.02, 0.0])
    tubes = [
        (_BOTTOM_BRACKET, _SEAT_TOP, 0.016),
        (_SEAT_TOP - down, _HEAD_TOP - [0.005, 0.02, 0.0], 0.016),
        (_BOTTOM_BRACKET, _HEAD_BOTTOM + down, 0.019),
        (_HEAD_BOTTOM, _HEAD_TOP, 0.02),
    ]
    for side in (-1.0, 1.0):
        offset = np.array([0.0, 0.0, side])
        tubes.append((_BOTTOM_BRACKET + 0.03 * offset, _REAR_HUB + 0.055 * offset, 0.009))
        tubes.append((_SEAT_TOP - 1.5 * down + 0.02 * offset, _REAR_HUB + 0.055 * offset, 0.008))
    return tubes


def _frame(builder: TemplateBuilder) -> None:
    """Diamond frame, rear triangle, head tube, fork and bottom-bracket shell."""
    for start, end, radius in _frame_tubes():
        builder.add(tube(start, end, radius, 12), "frame")
    for side in (-1.0, 1.0):
        offset = np.array([0.0, 0.0, side])
        fork_leg = tube(_HEAD_BOTTOM + 0.045 * offset, _FRONT_HUB + 0.055 * offset, 0.011)
        builder.add(fork_leg, "fork")
    builder.add(box([0.05, 0.03, 0.12], _HEAD_BOTTOM), "fork")
    builder.add(axis_tube(_BOTTOM_BRACKET, 0.08, 0.021, "z", 12, None), "frame")


def _cockpit(builder: TemplateBuilder) -> None:
    """Stem, flat handlebar with grips, seat post and saddle."""
    stem_top = _HEAD_TOP + [-0.01, 0.06, 0.0]
    builder.add(tube(_HEAD_TOP, stem_top, 0.015), "handlebar")
    builder.add(tube(stem_top, _BAR_CENTRE, 0.015), "handlebar")
    builder.add(axis_tube(_BAR_CENTRE, 0.62, 0.011, "z", 12), "handlebar")
    for side in (-1.0, 1.0):
        builder.add(
            axis_tube(_BAR_CENTRE + [0.0, 0.0, side * 0.25], 0.12, 0.017, "z", 12), "handlebar"
        )
    builder.add(tube(_SEAT_TOP - [0.0, 0.05, 0.0], _SADDLE, 0.0135), "frame")
    saddle = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    saddle.apply_transform(rigid(np.diag([0.135, 0.03, 0.07]), _SADDLE + [0.0, 0.01, 0.0]))
    builder.add(saddle, "saddle")


def _drivetrain(builder: TemplateBuilder) -> None:
    """Chainring, rear cog, spindle, cranks (right forward, left back) and pedals."""
    builder.add(axis_tube(_BOTTOM_BRACKET + [0.0, 0.0, 0.055], 0.005, 0.10, "z", 36, None), "frame")
    builder.add(axis_tube(_REAR_HUB + [0.0, 0.0, 0.045], 0.005, 0.04, "z", 24, None), "frame")
    builder.add(axis_tube(_BOTTOM_BRACKET, 0.17, 0.008, "z", 8, None), "cranks")
    for side, name in ((1.0, "pedal_right"), (-1.0, "pedal_left")):
        pedal = _pedal_centre(side)
        crank_end = pedal - [0.0, 0.0, side * (_PEDAL_Z - 0.085)]
        builder.add(tube(_BOTTOM_BRACKET + [0.0, 0.0, side * 0.085], crank_end, 0.009), "cranks")
        builder.add(box([0.09, 0.022, 0.09], pedal), (name, "pedals"))


def _pedal_centre(side: float) -> np.ndarray:
    """Centre (3,) of the right (``side`` = 1, crank forward) or left (-1, crank back) pedal."""
    return _BOTTOM_BRACKET + [side * _CRANK, 0.0, side * _PEDAL_Z]


def bicycle() -> ObjectTemplate:
    """City bicycle, 1.70 m long with 0.66 m wheels, front at +x."""
    builder = TemplateBuilder()
    _wheel(builder, _REAR_HUB, "rear_wheel")
    _wheel(builder, _FRONT_HUB, "front_wheel")
    _frame(builder)
    _cockpit(builder)
    _drivetrain(builder)
    builder.add_marker("front_hub", _FRONT_HUB, "front_wheel")
    builder.add_marker("rear_hub", _REAR_HUB, "rear_wheel")
    builder.add_marker("bottom_bracket", _BOTTOM_BRACKET, "frame")
    builder.add_marker("pedal_left", _pedal_centre(-1.0), "pedal_left")
    builder.add_marker("pedal_right", _pedal_centre(1.0), "pedal_right")
    builder.add_marker("saddle", _SADDLE + [0.0, 0.01, 0.0], "saddle")
    builder.add_marker("handlebar_left", _BAR_CENTRE + [0.0, 0.0, -0.27], "handlebar")
    builder.add_marker("handlebar_right", _BAR_CENTRE + [0.0, 0.0, 0.27], "handlebar")
    builder.add_marker("head_tube", _HEAD_TOP - 0.01 * (_HEAD_TOP - _HEAD_BOTTOM) / 0.145, "frame")
    builder.add_marker("seat_tube_top", _SEAT_TOP - [0.0, 0.01, 0.0], "frame")
    pairs = (
        ("left_hand", "handlebar"),
        ("right_hand", "handlebar"),
        ("pelvis", "saddle"),
        ("left_foot", "pedal_left"),
        ("right_foot", "pedal_right"),
    )
    return builder.build("bicycle", None, pairs)


_DECK_LENGTH, _DECK_WIDTH, _DECK_THICKNESS = 0.80, 0.20, 0.012
_KICK_START, _KICK_RISE = 0.24, 0.05
_WHEEL_X, _WHEEL_Y, _WHEEL_Z = 0.22, -0.05, 0.085


def _kick(x: np.ndarray) -> np.ndarray:
    """Height (N,) added to the deck at long coordinates ``x`` (N,): quadratic nose/tail kick."""
    over = np.clip(np.abs(x) - _KICK_START, 0.0, None)
    return _KICK_RISE * (over / (_DECK_LENGTH / 2 - _KICK_START)) ** 2


def _deck() -> trimesh.Trimesh:
    """Stadium-shaped deck extruded along y, bent up at both ends."""
    straight = _DECK_LENGTH / 2 - _DECK_WIDTH / 2
    phi = np.linspace(0.0, np.pi / 2, 9)[1:]
    end_u = straight + _DECK_WIDTH / 2 * np.sin(phi)
    end_w = _DECK_WIDTH / 2 * np.cos(phi)
    mid_u = np.linspace(-straight, straight, 25)
    us = np.concatenate([-end_u[::-1], mid_u, end_u])
    ws = np.concatenate([end_w[::-1], np.full(25, _DECK_WIDTH / 2), end_w])
    verts2d, faces = monotone_outline(us, ws)
    deck = trimesh.creation.extrude_triangulation(verts2d, faces, _DECK_THICKNESS)
    # outline (across, along, up) -> world (z, x, y): a cyclic permutation, a proper rotation
    deck.apply_transform(rigid(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])))
    verts = deck.vertices.copy()
    verts[:, 1] += _kick(verts[:, 0])
    return trimesh.Trimesh(verts, deck.faces, process=False)


def _wheel_mesh(center: np.ndarray) -> trimesh.Trimesh:
    """54 mm urethane wheel with rounded edges, axis along z."""
    r, h, e = 0.027, 0.035, 0.005
    profile = [
        [0.0, -h / 2],
        [r - e, -h / 2],
        [r, -h / 2 + e],
        [r, h / 2 - e],
        [r - e, h / 2],
        [0.0, h / 2],
    ]
    return revolved(profile, 24, rigid(np.eye(3), center))


def skateboard() -> ObjectTemplate:
    """Skateboard: 0.80 x 0.20 m deck, two trucks, four wheels; nose at +x."""
    builder = TemplateBuilder()
    builder.add(_deck(), "deck")
    corner_u = _DECK_LENGTH / 2 - _DECK_WIDTH / 2
    for x in (-_WHEEL_X, _WHEEL_X):
        builder.add(box([0.06, 0.008, 0.06], [x, -0.004, 0.0]), "trucks")
        builder.add(box([0.025, 0.03, 0.03], [x, -0.022, 0.0]), "trucks")
        builder.add(box([0.03, 0.022, 0.16], [x, -0.04, 0.0]), "trucks")
        builder.add(axis_tube([x, _WHEEL_Y, 0.0], 0.21, 0.004, "z", 8, None), "trucks")
    mid = _kick(np.array([corner_u]))[0] + _DECK_THICKNESS / 2
    inset = _DECK_WIDTH / 2 - 0.015
    for name, sx, sz in (
        ("nose_left", 1, -1),
        ("nose_right", 1, 1),
        ("tail_left", -1, -1),
        ("tail_right", -1, 1),
    ):
        builder.add_marker(name, [sx * corner_u, mid, sz * inset], "deck")
    for name, sx, sz in (
        ("wheel_front_left", 1, -1),
        ("wheel_front_right", 1, 1),
        ("wheel_back_left", -1, -1),
        ("wheel_back_right", -1, 1),
    ):
        ids = builder.add(_wheel_mesh(np.array([sx * _WHEEL_X, _WHEEL_Y, sz * _WHEEL_Z])), "wheels")
        builder.add_keypoint(name, ids)
    flips = [(np.eye(3), np.zeros(3)), half_turn(np.array([0.0, 1.0, 0.0]))]
    return builder.build("skateboard", flips, (("left_foot", "deck"), ("right_foot", "deck")))
