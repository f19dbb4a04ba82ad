"""Clothing colours that carry the interaction: the appearance cue of the synthetic images.

Real photos say more about an interaction than the 2D keypoints do: a batter's kit, a court, the
way a bag is carried. The synthetic stand-in is the person's outfit. Its shirt hue is set by the
interaction's mode (swing / throw, forehand / serve, ...) and its trousers by where the object
sits around the body in the human frame (the azimuth of its centroid about the vertical axis sets
the hue, its height the brightness), which a single 2D view leaves ambiguous. ``strength`` mixes
this cue with a colour drawn at random per instance (0 = random clothes, 1 = the cue alone); the
same instance wears the same clothes in every view and frame, as a person does.

The body is rendered white and recoloured per pixel afterwards: the renderer shades each mesh in
one colour, and with Lambertian shading a white render is exactly the shading intensity.
"""

from __future__ import annotations

import numpy as np

from hoirecon.body.joint_names import SMPL_BODY_JOINT_NAMES

SKIN, SHIRT, TROUSERS = 0, 1, 2
REGIONS: tuple[str, ...] = ("skin", "shirt", "trousers")
"""Body regions with their own colour (face region indices)."""
_JOINT = {name: i for i, name in enumerate(SMPL_BODY_JOINT_NAMES)}
HIP_MARGIN = 0.06
"""Metres above the pelvis joint where the trousers end."""


def face_regions(vertices: np.ndarray, joints: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Region (F,) int8 of each face of a rest-pose body: head and hands skin, torso and arms shirt,
    hips and legs trousers. ``vertices (V, 3)``, ``joints (J, 3)`` in SMPL's rest T-pose (y up)."""
    centre = vertices[faces].mean(axis=1)
    region = np.full(len(faces), SHIRT, np.int8)
    region[centre[:, 1] < joints[_JOINT["pelvis"], 1] + HIP_MARGIN] = TROUSERS
    region[centre[:, 1] > joints[_JOINT["neck"], 1]] = SKIN
    wrist = min(abs(joints[_JOINT["left_wrist"], 0]), abs(joints[_JOINT["right_wrist"], 0]))
    region[np.abs(centre[:, 0] - joints[_JOINT["pelvis"], 0]) > wrist] = SKIN
    return region


def hsv_to_rgb(hue: np.ndarray, saturation: np.ndarray | float, value: np.ndarray | float) -> np.ndarray:
    """RGB (B, 3) in [0, 1] of HSV colours with hue (B,) in turns (wrapped into [0, 1))."""
    h = np.mod(np.asarray(hue, float), 1.0) * 6.0
    s, v = np.broadcast_to(saturation, h.shape), np.broadcast_to(value, h.shape)
    k = np.mod(np.array([5.0, 3.0, 1.0])[None] + h[:, None], 6.0)
    return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def cue_colours(mode: np.ndarray, modes: int, offset: np.ndarray) -> np.ndarray:
    """The cue's shirt and trousers colours (B, 2, 3) from the interaction ``mode (B,)`` of ``modes``
    and the object centroid's ``offset (B, 3)`` from the pelvis in the human frame (metres)."""
    shirt = hsv_to_rgb((np.asarray(mode) + 0.5) / max(modes, 1), 0.75, 0.85)
    azimuth = np.arctan2(offset[:, 0], offset[:, 2]) / (2 * np.pi)
    brightness = 0.35 + 0.6 * np.clip((offset[:, 1] + 1.0) / 2.5, 0.0, 1.0)
    trousers = hsv_to_rgb(azimuth, 0.8, brightness)
    return np.stack([shirt, trousers], axis=1)


def outfits(rng: np.random.Generator, mode: np.ndarray, modes: int, offset: np.ndarray, strength: float) -> np.ndarray:
    """Colours (B, 3, 3) of the regions of B instances: random skin, and clothes that mix the cue
    (``strength``) with random colours (``1 - strength``)."""
    b = len(mode)
    skin = rng.uniform(0.35, 0.85, (b, 3))
    random_clothes = rng.uniform(0.1, 0.9, (b, 2, 3))
    clothes = strength * cue_colours(mode, modes, offset) + (1.0 - strength) * random_clothes
    return np.concatenate([skin[:, None], clothes], axis=1)


def dress(rgb: np.ndarray, instance: np.ndarray, hit_face: np.ndarray, regions: np.ndarray, colours: np.ndarray,
          body_instance: int = 1) -> np.ndarray:
    """Recolour the body's pixels of a render where the body was drawn white.

    ``rgb (H, W, 3)`` uint8, ``instance``/``hit_face (H, W)`` from the render, ``regions (F,)`` from
    :func:`face_regions`, ``colours (3, 3)`` per region -> a new (H, W, 3) uint8 image.
    """
    out = rgb.copy()
    body = instance == body_instance
    intensity = rgb[body].astype(np.float64) / 255.0
    out[body] = np.round(255.0 * intensity * colours[regions[hit_face[body]]]).astype(np.uint8)
    return out
