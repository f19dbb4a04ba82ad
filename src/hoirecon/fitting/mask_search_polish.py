"""Ray-cast silhouette IoU of a posed template, and a pattern search that polishes a pose on it.

The differentiable loss of the mask search compares point samples with the mask, so it cannot
line up details a pixel wide (spokes, a racket's strings) or settle the last half pixel of an
outline; the true IoU can. The polish is a compass search (Kolda, Lewis and Torczon, SIAM
Review 2003) over six moves: rotations about the camera axes through the object origin, image
shifts and a depth change along the origin's ray. Each sweep tries every move in both
directions, takes the best one that raises the IoU, and halves the step sizes when none does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.objects import ObjectTemplate
from hoirecon.render import Camera, SceneMesh, render_scene

__all__ = ["PosedSilhouette", "silhouette_target", "silhouette_iou", "render_iou", "polish_pose"]


@dataclass(frozen=True, eq=False)
class PosedSilhouette:
    """What the IoU of a pose is measured against."""

    template: ObjectTemplate
    """The object template."""
    camera: Camera
    """The image's camera (identity extrinsics: poses are in the camera frame)."""
    object_mask: np.ndarray
    """(H, W) bool object mask."""
    person_mask: np.ndarray | None
    """(H, W) bool person mask, or None; its pixels outside the object mask are ignored."""


def _downscale(mask: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
    """(H', W') bool majority vote of a (H, W) bool mask over the pixels each new pixel covers."""
    if mask is None or mask.shape == size:
        return mask
    return cv2.resize(mask.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_AREA) >= 0.5


def silhouette_target(template: ObjectTemplate, K: np.ndarray, object_mask: np.ndarray,
                      person_mask: np.ndarray | None, max_side: int) -> PosedSilhouette:
    """What to measure IoUs against, the image downscaled so the mask's bounding box spans at most
    ``max_side`` pixels (ray casting costs one ray per pixel of the object's box, per render)."""
    rows, cols = np.nonzero(object_mask)
    extent = max(np.ptp(rows), np.ptp(cols)) + 1
    height, width = object_mask.shape
    ratio = min(1.0, max_side / extent)
    size = (max(1, round(height * ratio)), max(1, round(width * ratio)))
    sx, sy = size[1] / width, size[0] / height
    # pixel centres sit at integers: u' + 0.5 = sx * (u + 0.5)
    scaled = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]]) @ K
    camera = Camera(scaled, size[1], size[0])
    return PosedSilhouette(template, camera, _downscale(object_mask, size), _downscale(person_mask, size))


def silhouette_iou(silhouette: np.ndarray, object_mask: np.ndarray, person_mask: np.ndarray | None = None) -> float:
    """IoU of two (H, W) bool masks, ignoring pixels of ``person_mask`` outside ``object_mask``
    (the person may hide the object there)."""
    keep = np.ones_like(object_mask) if person_mask is None else object_mask | ~person_mask
    union = np.count_nonzero((silhouette | object_mask) & keep)
    return float(np.count_nonzero(silhouette & object_mask & keep) / union) if union else 0.0


def render_iou(target: PosedSilhouette, rotation: np.ndarray, translation: np.ndarray, scale: float) -> float:
    """Silhouette IoU of the template at pose rotation (3, 3), translation (3,), ``scale``."""
    vertices = target.template.transformed(rotation, translation, scale)
    if not np.all(np.isfinite(vertices)) or np.any(vertices[:, 2] <= 0):
        return 0.0
    render = render_scene([SceneMesh(vertices, target.template.faces)], target.camera, shading=False)
    return silhouette_iou(render.instance > 0, target.object_mask, target.person_mask)


def _move(rotation: np.ndarray, translation: np.ndarray, axis: int, step: float,
          focal: float) -> tuple[np.ndarray, np.ndarray]:
    """Pose after move ``axis`` (0-2 rotation about camera x/y/z in degrees, 3-4 image shift
    in pixels, 5 relative depth change) of signed size ``step``."""
    if axis < 3:
        rotvec = np.zeros(3)
        rotvec[axis] = np.radians(step)
        return Rotation.from_rotvec(rotvec).as_matrix() @ rotation, translation
    if axis < 5:
        shifted = translation.copy()
        shifted[axis - 3] += step * translation[2] / focal
        return rotation, shifted
    return rotation, translation * (1.0 + step)


def polish_pose(target: PosedSilhouette, rotation: np.ndarray, translation: np.ndarray, scale: float,
                iou: float, sweeps: int, steps: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, float]:
    """Compass search on the ray-cast IoU from pose (rotation (3, 3), translation (3,)) of IoU ``iou``.

    ``steps`` are the initial rotation (degrees), shift (pixels) and relative depth steps. Runs
    ``sweeps`` sweeps of 12 renders; returns the best rotation, translation and IoU.
    """
    size = np.array([steps[0]] * 3 + [steps[1]] * 2 + [steps[2]])
    focal = float(np.sqrt(target.camera.K[0, 0] * target.camera.K[1, 1]))
    for _ in range(sweeps):
        best = (iou, rotation, translation)
        for axis in range(6):
            for sign in (-1.0, 1.0):
                moved = _move(rotation, translation, axis, sign * size[axis], focal)
                value = render_iou(target, *moved, scale)
                if value > best[0]:
                    best = (value, *moved)
        if best[0] > iou:
            iou, rotation, translation = best
        else:
            size = 0.5 * size
    return rotation, translation, iou
