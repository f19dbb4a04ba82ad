"""Random viewpoints around an interaction, as the paper's internet photos provide them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraConfig:
    """Distribution of the synthetic cameras (angles in degrees)."""

    elevation: tuple[float, float] = (-10.0, 35.0)
    """Range of the camera elevation above the horizontal plane through the target."""
    fov: tuple[float, float] = (35.0, 65.0)
    """Range of the horizontal field of view."""
    roll_std: float = 4.0
    """Standard deviation of the camera roll about its optical axis."""
    margin: tuple[float, float] = (1.05, 1.35)
    """How loosely the bounding sphere of the scene fits the image (1 = touching the border)."""


@dataclass(frozen=True)
class SampledCameras:
    """Cameras in the human frame: ``cam_rotation`` maps camera axes into the human frame."""

    cam_rotation: np.ndarray
    """(B, 3, 3) OpenCV camera axes (x right, y down, z forward) as human-frame columns."""
    cam_center: np.ndarray
    """(B, 3) camera centres in the human frame."""
    intrinsics: np.ndarray
    """(B, 3, 3) pinhole intrinsics."""


def look_at_rotation(center: np.ndarray, target: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Camera-to-human rotations (B, 3, 3) looking from ``center`` (B, 3) at ``target`` (B, 3).

    The image's up direction follows the human frame's +y; ``roll`` (B,) radians turns the image
    about the optical axis.
    """
    z = target - center
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    x = np.cross(z, np.array([0.0, 1.0, 0.0]))
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.cross(z, x)
    c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
    x, y = c * x + s * y, -s * x + c * y
    return np.stack([x, y, z], axis=-1)


def sample_cameras(
    rng: np.random.Generator,
    target: np.ndarray,
    radius: np.ndarray,
    image_size: tuple[int, int],
    config: CameraConfig = CameraConfig(),
) -> SampledCameras:
    """Random cameras all around ``target`` (B, 3) that keep a sphere of ``radius`` (B,) in view.

    Azimuth is uniform over the full circle, so every side of the interaction is seen.
    """
    b = len(target)
    width, height = image_size
    azimuth = rng.uniform(0.0, 2 * np.pi, b)
    elevation = np.deg2rad(rng.uniform(*config.elevation, b))
    fov = np.deg2rad(rng.uniform(*config.fov, b))
    focal = 0.5 * width / np.tan(0.5 * fov)
    half_fov = np.arctan(0.5 * min(width, height) / focal)
    distance = radius * rng.uniform(*config.margin, b) / np.sin(half_fov)
    direction = np.stack(
        [np.cos(elevation) * np.sin(azimuth), np.sin(elevation), np.cos(elevation) * np.cos(azimuth)], axis=-1
    )
    center = target + distance[:, None] * direction
    roll = np.deg2rad(rng.normal(0.0, config.roll_std, b))
    k = np.zeros((b, 3, 3))
    k[:, 0, 0] = k[:, 1, 1] = focal
    k[:, 0, 2], k[:, 1, 2], k[:, 2, 2] = (width - 1) / 2, (height - 1) / 2, 1.0
    return SampledCameras(look_at_rotation(center, target, roll), center, k)
