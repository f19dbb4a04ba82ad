"""Procedural templates for the ball, bat, barbell and racket categories.

Frames (metres, right-handed, origin at the bounding-box centre):

- ``basketball`` (0.24 m) and ``yoga_ball`` (0.65 m): centred spheres; one keypoint, the centre
  (the mean of all vertices); symmetries: the 60 icosahedral rotations (exact for the mesh).
- ``baseball_bat`` (0.84 m): long axis +y, knob end at -y, barrel tip at +y; keypoints
  ``knob``, ``barrel_tip`` (the two pole vertices on the axis); symmetries: 36 rotations about y.
- ``barbell`` (2.2 m bar, 0.45 m plates): bar along x, y up; keypoints ``end_neg_x``,
  ``collar_neg_x``, ``collar_pos_x``, ``end_pos_x`` (bar-end pole vertices and the rings of the
  inner collar faces); symmetries: 36 rotations about x, each with and without the end-for-end
  half-turn about y (72; the half-turn swaps the ends and the collars).
- ``tennis_racket`` (0.69 m): long axis +y with the butt at -y, string bed in the xy plane,
  face normal +z; keypoints ``butt``, ``grip_top``, ``head_bottom``, ``head_left`` (-x),
  ``head_right`` (+x), ``head_top``, ``head_centre``; symmetries: identity and the half-turn
  about y (flips the face, swaps ``head_left`` and ``head_right``).
"""

from __future__ import annotations

import numpy as np
import trimesh

from hoirecon.objects.builder import Z_TO_AXIS, TemplateBuilder, axis_tube, revolved, rigid, tube
from hoirecon.objects.symmetry import axial_symmetries, compose, half_turn, icosahedral_rotations
from hoirecon.objects.template import ObjectTemplate

AXIAL_STEPS = 36
"""Angular resolution of revolved parts and of discretised axial symmetries (10 degrees)."""


def _ball(name: str, diameter: float, pairs: tuple[tuple[str, str], ...]) -> ObjectTemplate:
    """A sphere (subdivided icosahedron) whose single keypoint is its centre."""
    builder = TemplateBuilder()
    ids = builder.add(trimesh.creation.icosphere(subdivisions=3, radius=diameter / 2), "ball")
    builder.add_keypoint("center", ids)
    return builder.build(name, icosahedral_rotations(), pairs)


def basketball() -> ObjectTemplate:
    """Size-7 basketball, 0.24 m across, held in the right hand."""
    return _ball("basketball", 0.24, (("right_hand", "ball"), ("left_hand", "ball")))


def yoga_ball() -> ObjectTemplate:
    """Exercise ball, 0.65 m across, sat or lain on."""
    return _ball("yoga_ball", 0.65, (("pelvis", "ball"), ("torso", "ball")))


_BAT_PROFILE = np.array(
    [
        [0.0, 0.0],
        [0.022, 0.0],
        [0.025, 0.006],
        [0.022, 0.014],
        [0.0135, 0.024],
        [0.0125, 0.06],
        [0.0128, 0.30],
        [0.016, 0.42],
        [0.024, 0.52],
        [0.030, 0.60],
        [0.0325, 0.68],
        [0.033, 0.80],
        [0.031, 0.83],
        [0.024, 0.838],
        [0.0, 0.84],
    ]
)
"""(radius, distance from the knob) samples of a 34-inch bat, metres."""


def baseball_bat() -> ObjectTemplate:
    """Wooden bat, 0.84 m, knob at -y; handle and barrel parts."""
    builder = TemplateBuilder()
    ids = builder.add(revolved(_BAT_PROFILE, AXIAL_STEPS, rigid(Z_TO_AXIS["y"])))
    height = builder.vertices[ids, 1]
    builder.add_part("handle", ids[height < 0.40])
    builder.add_part("barrel", ids[height > 0.55])
    builder.add_keypoint("knob", builder.ids_at(ids, [0.0, 0.0, 0.0]))
    builder.add_keypoint("barrel_tip", builder.ids_at(ids, [0.0, 0.84, 0.0]))
    pairs = (("right_hand", "handle"), ("left_hand", "handle"))
    return builder.build(
        "baseball_bat", axial_symmetries(np.array([0.0, 1.0, 0.0]), AXIAL_STEPS), pairs
    )


def _barbell_profile() -> np.ndarray:
    """(radius, position along the bar) of an Olympic bar with two plates per side, metres."""
    half = [  # from the bar end inwards, on the -x side
        [0.0, -1.1],
        [0.025, -1.1],
        [0.025, -0.77],
        [0.225, -0.77],
        [0.225, -0.715],
        [0.20, -0.715],
        [0.20, -0.71],
        [0.225, -0.71],
        [0.225, -0.655],
        [0.0375, -0.655],
        [0.0375, -0.625],
        [0.014, -0.625],
    ]
    shaft = [[0.014, h] for h in np.linspace(-0.6, 0.6, 13)]
    mirrored = [[r, -h] for r, h in reversed(half)]
    return np.array(half + shaft + mirrored)


def barbell() -> ObjectTemplate:
    """Olympic barbell, 2.2 m along x, with two 0.45 m plates per side."""
    builder = TemplateBuilder()
    ids = builder.add(revolved(_barbell_profile(), AXIAL_STEPS, rigid(Z_TO_AXIS["x"])))
    verts = builder.vertices[ids]
    radius = np.linalg.norm(verts[:, 1:], axis=1)
    builder.add_part("bar", ids[np.abs(verts[:, 0]) < 0.62])
    builder.add_part("plates", ids[radius > 0.1])
    builder.add_part("sleeves", ids[(np.abs(verts[:, 0]) > 0.77) & (radius < 0.1)])
    builder.add_keypoint("end_neg_x", builder.ids_at(ids, [-1.1, 0.0, 0.0]))
    builder.add_keypoint("collar_neg_x", ids[np.isclose(verts[:, 0], -0.625)])
    builder.add_keypoint("collar_pos_x", ids[np.isclose(verts[:, 0], 0.625)])
    builder.add_keypoint("end_pos_x", builder.ids_at(ids, [1.1, 0.0, 0.0]))
    axial = axial_symmetries(np.array([1.0, 0.0, 0.0]), AXIAL_STEPS)
    flips = [(np.eye(3), np.zeros(3)), half_turn(np.array([0.0, 1.0, 0.0]))]
    pairs = (("left_hand", "bar"), ("right_hand", "bar"))
    return builder.build("barbell", compose(axial, flips), pairs)


_HEAD_CENTRE_Y = 0.52
_HEAD_SEMI_AXES = (0.125, 0.160)
"""Racket head frame centreline: an ellipse (x, y semi-axes) around (0, 0.52, 0)."""


def _racket_strings(builder: TemplateBuilder) -> None:
    """16 main strings along y and 19 cross strings along x, ending inside the frame."""
    a, b = _HEAD_SEMI_AXES
    for x in (np.arange(16) - 7.5) * 0.015:
        length = 2.0 * b * np.sqrt(1.0 - (x / a) ** 2)
        builder.add(axis_tube([x, _HEAD_CENTRE_Y, 0.0], length, 0.0009, "y", 6, None), "strings")
    for dy in (np.arange(19) - 9) * 0.016:
        length = 2.0 * a * np.sqrt(1.0 - (dy / b) ** 2)
        builder.add(
            axis_tube([0.0, _HEAD_CENTRE_Y + dy, 0.0], length, 0.0009, "x", 6, None), "strings"
        )


def _racket_frame(builder: TemplateBuilder) -> None:
    """Elliptical head frame and the two throat arms."""
    a, b = _HEAD_SEMI_AXES
    ring = trimesh.creation.torus(0.14, 0.009, major_sections=48, minor_sections=8)
    ring.apply_transform(rigid(np.diag([a / 0.14, b / 0.14, 1.3]), [0.0, _HEAD_CENTRE_Y, 0.0]))
    builder.add(ring, "frame")
    theta = np.deg2rad(-50.0)
    joint = [-a * np.cos(theta), _HEAD_CENTRE_Y + b * np.sin(theta), 0.0]
    arm = tube([-0.010, 0.19, 0.0], joint, 0.008, 8)
    builder.add_mirrored(arm, half_turn(np.array([0.0, 1.0, 0.0])), "throat")


def tennis_racket() -> ObjectTemplate:
    """Tennis racket, 0.69 m, butt at -y, face normal +z."""
    builder = TemplateBuilder()
    butt = builder.add(axis_tube([0.0, 0.006, 0.0], 0.012, 0.0195, "y", 8), "handle")
    grip = builder.add(axis_tube([0.0, 0.101, 0.0], 0.178, 0.0165, "y", 8), "handle")
    _racket_frame(builder)
    _racket_strings(builder)
    a, b = _HEAD_SEMI_AXES
    builder.add_keypoint("butt", builder.ids_at(butt, [0.0, 0.0, 0.0]))
    builder.add_keypoint("grip_top", builder.ids_at(grip, [0.0, 0.19, 0.0]))
    builder.add_marker("head_bottom", [0.0, _HEAD_CENTRE_Y - b, 0.0], "frame")
    builder.add_marker("head_left", [-a, _HEAD_CENTRE_Y, 0.0], "frame")
    builder.add_marker("head_right", [a, _HEAD_CENTRE_Y, 0.0], "frame")
    builder.add_marker("head_top", [0.0, _HEAD_CENTRE_Y + b, 0.0], "frame")
    builder.add_marker("head_centre", [0.0, _HEAD_CENTRE_Y, 0.0], "strings")
    flips = [(np.eye(3), np.zeros(3)), half_turn(np.array([0.0, 1.0, 0.0]))]
    return builder.build("tennis_racket", flips, (("right_hand", "handle"),))
