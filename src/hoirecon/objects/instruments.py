"""Procedural templates for the bowed string instruments: violin and cello.

Frame (metres, right-handed, origin at the bounding-box centre): long axis +y with the scroll
at +y and the bottom of the body (endpin, chinrest) at -y; the top plate faces +z; x to the
right as seen from the front, so "left" keypoints sit at -x (the bass side). The body is the
violin-family outline (two elliptic bouts and C-bout waist) extruded through the body depth;
neck, fingerboard, pegbox, scroll, pegs, bridge, tailpiece and strings are boxes and tubes.
Both have 14 keypoints: ``chinrest`` (violin) or ``endpin`` (cello, its tip), ``bottom_edge``,
``lower_bout_left``, ``lower_bout_right``, ``waist_left``, ``waist_right``, ``upper_bout_left``,
``upper_bout_right``, ``top_edge``, ``bridge`` (its top), ``fingerboard_end``, ``nut``,
``pegbox``, ``scroll``. The symmetry group is the identity only (chinrest, pegs and strings
break the mirror symmetry, and mirrors are not rotations). The bow is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from hoirecon.objects.builder import (
    Z_TO_AXIS,
    TemplateBuilder,
    axis_tube,
    box,
    monotone_outline,
    rigid,
    tube,
)
from hoirecon.objects.template import ObjectTemplate


@dataclass(frozen=True)
class BowedSpec:
    """Dimensions of a violin-family instrument, metres."""

    name: str
    body_length: float
    lower_width: float
    waist_width: float
    upper_width: float
    depth: float
    """Rib height plus arching, the extrusion depth of the body."""
    neck_length: float
    """From the top edge of the body to the nut."""
    neck_width: float
    neck_depth: float
    fingerboard_length: float
    fingerboard_width: float
    fingerboard_thickness: float
    fingerboard_height: float
    """Gap between the top plate and the underside of the fingerboard."""
    pegbox_length: float
    scroll_radius: float
    peg_length: float
    bridge_height: float
    bridge_width: float
    tailpiece_length: float
    tailpiece_width: float
    string_radius: float
    endpin_length: float
    """0 for no endpin (then a chinrest is fitted instead)."""


VIOLIN = BowedSpec(
    name="violin",
    body_length=0.356,
    lower_width=0.207,
    waist_width=0.112,
    upper_width=0.168,
    depth=0.042,
    neck_length=0.13,
    neck_width=0.024,
    neck_depth=0.022,
    fingerboard_length=0.27,
    fingerboard_width=0.034,
    fingerboard_thickness=0.008,
    fingerboard_height=0.010,
    pegbox_length=0.075,
    scroll_radius=0.019,
    peg_length=0.035,
    bridge_height=0.033,
    bridge_width=0.041,
    tailpiece_length=0.11,
    tailpiece_width=0.036,
    string_radius=0.0006,
    endpin_length=0.0,
)
"""A full-size (4/4) violin."""

CELLO = BowedSpec(
    name="cello",
    body_length=0.755,
    lower_width=0.44,
    waist_width=0.235,
    upper_width=0.345,
    depth=0.13,
    neck_length=0.28,
    neck_width=0.045,
    neck_depth=0.045,
    fingerboard_length=0.58,
    fingerboard_width=0.06,
    fingerboard_thickness=0.012,
    fingerboard_height=0.025,
    pegbox_length=0.14,
    scroll_radius=0.04,
    peg_length=0.07,
    bridge_height=0.09,
    bridge_width=0.09,
    tailpiece_length=0.23,
    tailpiece_width=0.065,
    string_radius=0.0012,
    endpin_length=0.08,
)
"""A full-size (4/4) cello with 8 cm of endpin out."""

_BRIDGE_AT, _LOWER_AT, _WAIST_AT, _UPPER_AT = 0.55, 0.28, 0.555, 0.78
"""Positions along the body length (0 = bottom edge, 1 = top edge)."""
_C_BOUT_HALF_LENGTH = 0.09


def body_half_width(spec: BowedSpec, v: np.ndarray) -> np.ndarray:
    """Half-width (N,) of the body outline at fractions ``v`` (N,) of the body length."""
    lower = spec.lower_width / 2 * np.sqrt(np.clip(1.0 - ((v - _LOWER_AT) / 0.28) ** 2, 0.0, None))
    upper = spec.upper_width / 2 * np.sqrt(np.clip(1.0 - ((v - _UPPER_AT) / 0.22) ** 2, 0.0, None))
    # the C-bouts: a parabola opening outwards, cut off at the corners
    corner = 0.45 * spec.upper_width
    curve = (corner - spec.waist_width / 2) / _C_BOUT_HALF_LENGTH**2
    waist = spec.waist_width / 2 + curve * (v - _WAIST_AT) ** 2
    waist = np.where(np.abs(v - _WAIST_AT) <= _C_BOUT_HALF_LENGTH, waist, 0.0)
    return np.maximum(np.maximum(lower, upper), waist)


def _body(spec: BowedSpec) -> trimesh.Trimesh:
    """Outline extruded through ``depth``, centred on z = 0, bottom edge at y = 0."""
    v = (1.0 - np.cos(np.linspace(0.0, np.pi, 97))) / 2
    verts2d, faces = monotone_outline(v * spec.body_length, body_half_width(spec, v))
    return trimesh.creation.extrude_triangulation(
        verts2d, faces, spec.depth, transform=rigid(np.eye(3), [0.0, 0.0, -spec.depth / 2])
    )


@dataclass(frozen=True)
class _Layout:
    """Derived positions (metres) along y and z of the parts above the body."""

    nut_y: float
    board_z: float
    """Centre height of the fingerboard."""
    neck_z: float
    """Centre height of neck and pegbox."""
    bridge_y: float
    top_z: float
    """Height of the top plate."""


def _layout(spec: BowedSpec) -> _Layout:
    """Positions of nut, fingerboard, neck and bridge for ``spec``."""
    top = spec.depth / 2
    board_z = top + spec.fingerboard_height + spec.fingerboard_thickness / 2
    neck_z = top + spec.fingerboard_height - spec.neck_depth / 2
    return _Layout(
        spec.body_length + spec.neck_length, board_z, neck_z, _BRIDGE_AT * spec.body_length, top
    )


def _neck(builder: TemplateBuilder, spec: BowedSpec, lay: _Layout) -> None:
    """Neck and the fingerboard above it (both in part ``neck``)."""
    neck_len = spec.neck_length + 0.01
    neck = box(
        [spec.neck_width, neck_len, spec.neck_depth], [0.0, lay.nut_y - neck_len / 2, lay.neck_z]
    )
    builder.add(neck, "neck")
    board = box(
        [spec.fingerboard_width, spec.fingerboard_length, spec.fingerboard_thickness],
        [0.0, lay.nut_y - spec.fingerboard_length / 2, lay.board_z],
    )
    builder.add(board, ("neck", "fingerboard"))


def _scroll_centre(spec: BowedSpec, lay: _Layout) -> np.ndarray:
    """Centre (3,) of the scroll, above the pegbox."""
    return np.array([0.0, lay.nut_y + spec.pegbox_length + spec.scroll_radius * 0.7, lay.neck_z])


def _head(builder: TemplateBuilder, spec: BowedSpec, lay: _Layout) -> None:
    """Pegbox, four pegs alternating sides, and the scroll (a torus around a disc)."""
    pegbox_y = lay.nut_y + spec.pegbox_length / 2
    pegbox = box(
        [spec.neck_width * 0.9, spec.pegbox_length, spec.neck_depth], [0, pegbox_y, lay.neck_z]
    )
    builder.add(pegbox, "scroll")
    for k in range(4):
        side = -1.0 if k % 2 == 0 else 1.0
        y = lay.nut_y + spec.pegbox_length * (0.2 + 0.2 * k)
        x = side * (spec.neck_width * 0.45 + spec.peg_length / 2 - 0.005)
        peg = axis_tube([x, y, lay.neck_z], spec.peg_length, spec.neck_width * 0.12, "x", 8, None)
        builder.add(peg, "scroll")
    centre = _scroll_centre(spec, lay)
    width = spec.neck_width * 0.9
    spiral = trimesh.creation.torus(spec.scroll_radius * 0.65, spec.scroll_radius * 0.35, 24, 8)
    squash = np.diag([1.0, 1.0, width / (spec.scroll_radius * 0.7)])
    spiral.apply_transform(rigid(Z_TO_AXIS["x"] @ squash, centre))
    builder.add(spiral, "scroll")
    builder.add(axis_tube(centre, width * 0.8, spec.scroll_radius * 0.6, "x", 16, None), "scroll")


def _bridge_tail_strings(builder: TemplateBuilder, spec: BowedSpec, lay: _Layout) -> None:
    """Bridge, tailpiece and four strings from tailpiece over the bridge to the nut."""
    thick = spec.bridge_height * 0.12
    builder.add(
        box(
            [spec.bridge_width, thick, spec.bridge_height],
            [0.0, lay.bridge_y, lay.top_z + spec.bridge_height / 2],
        ),
        "bridge",
    )
    tail_t = spec.tailpiece_width * 0.2
    tail_z = lay.top_z + spec.bridge_height * 0.3
    tail_top = 0.02 * spec.body_length + spec.tailpiece_length
    builder.add(
        box(
            [spec.tailpiece_width, spec.tailpiece_length, tail_t],
            [0.0, tail_top - spec.tailpiece_length / 2, tail_z],
        ),
        "tailpiece",
    )
    for k in range(4):
        frac = (k - 1.5) / 1.5
        tail = [frac * spec.tailpiece_width * 0.35, tail_top, tail_z + tail_t / 2]
        top = [frac * spec.bridge_width * 0.4, lay.bridge_y, lay.top_z + spec.bridge_height]
        nut = [
            frac * spec.fingerboard_width * 0.3,
            lay.nut_y,
            lay.board_z + spec.fingerboard_thickness / 2 + spec.string_radius,
        ]
        builder.add(tube(tail, top, spec.string_radius, 6, None), "strings")
        builder.add(tube(top, nut, spec.string_radius, 6, 0.05), "strings")


def _bottom_keypoint(builder: TemplateBuilder, spec: BowedSpec, lay: _Layout) -> None:
    """Cello: endpin with its tip as keypoint. Violin: chinrest with its centre as keypoint."""
    if spec.endpin_length > 0:
        builder.add(axis_tube([0.0, -0.01, 0.0], 0.03, 0.012, "y", 12, None), "endpin")
        tip = np.array([0.0, -spec.endpin_length, 0.0])
        pin = builder.add(tube([0.0, 0.0, 0.0], tip, 0.005, 8), "endpin")
        builder.add_keypoint("endpin", builder.ids_at(pin, tip))
        return
    centre = [-0.045, 0.05, lay.top_z + 0.01]
    builder.add(axis_tube(centre, 0.016, 0.035, "z", 24, None), "chinrest")
    builder.add_marker("chinrest", centre, "chinrest")


def _body_keypoints(builder: TemplateBuilder, spec: BowedSpec, lay: _Layout) -> None:
    """Markers on the body rim (inset so they stay inside) and along the centre line."""
    inset = 0.02 * spec.body_length
    builder.add_marker("bottom_edge", [0.0, inset, 0.0], "body")
    for name, frac in (("lower_bout", _LOWER_AT), ("waist", _WAIST_AT), ("upper_bout", _UPPER_AT)):
        half = float(body_half_width(spec, np.array([frac]))[0]) - inset
        builder.add_marker(f"{name}_left", [-half, frac * spec.body_length, 0.0], "body")
        builder.add_marker(f"{name}_right", [half, frac * spec.body_length, 0.0], "body")
    builder.add_marker("top_edge", [0.0, spec.body_length - inset, 0.0], "body")
    builder.add_marker(
        "bridge", [0.0, lay.bridge_y, lay.top_z + spec.bridge_height - 0.004], "bridge"
    )


def bowed_instrument(spec: BowedSpec, pairs: tuple[tuple[str, str], ...]) -> ObjectTemplate:
    """Build a violin-family template from its dimensions (see module docstring)."""
    builder = TemplateBuilder()
    lay = _layout(spec)
    builder.add(_body(spec), "body")
    _neck(builder, spec, lay)
    _head(builder, spec, lay)
    _bridge_tail_strings(builder, spec, lay)
    _bottom_keypoint(builder, spec, lay)
    _body_keypoints(builder, spec, lay)
    board_end = lay.nut_y - spec.fingerboard_length
    builder.add_marker("fingerboard_end", [0.0, board_end + 0.006, lay.board_z], "fingerboard")
    builder.add_marker("nut", [0.0, lay.nut_y - 0.006, lay.board_z], "fingerboard")
    builder.add_marker("pegbox", [0.0, lay.nut_y + spec.pegbox_length / 2, lay.neck_z], "scroll")
    builder.add_marker("scroll", _scroll_centre(spec, lay), "scroll")
    return builder.build(spec.name, None, pairs)


def violin() -> ObjectTemplate:
    """Full-size (4/4) violin, about 0.59 m, held with the left hand and the chin."""
    return bowed_instrument(VIOLIN, (("left_hand", "neck"), ("head", "chinrest")))


def cello() -> ObjectTemplate:
    """Full-size (4/4) cello, about 1.2 m plus 0.08 m of endpin, held by the neck and torso."""
    return bowed_instrument(CELLO, (("left_hand", "neck"), ("torso", "body")))
