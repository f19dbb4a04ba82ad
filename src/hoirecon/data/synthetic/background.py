"""Procedural photo-like backgrounds: sky/ground gradients, texture noise and clutter shapes."""

from __future__ import annotations

import numpy as np


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Bilinearly upsampled random grid (H, W) in [0, 1]."""
    grid = rng.random((cells + 1, cells + 1))
    ys = np.linspace(0, cells, height)
    xs = np.linspace(0, cells, width)
    y0, x0 = np.minimum(ys.astype(int), cells - 1), np.minimum(xs.astype(int), cells - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def random_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """One background image (H, W, 3) uint8 with a horizon, texture and a few clutter blobs."""
    upper, lower = rng.uniform(0.2, 0.95, 3), rng.uniform(0.1, 0.7, 3)
    horizon = rng.uniform(0.3, 0.7) * height
    rows = np.arange(height)[:, None, None]
    blend = 1.0 / (1.0 + np.exp(-(rows - horizon) / rng.uniform(2.0, 12.0)))
    image = upper * (1 - blend) + lower * blend * np.ones((1, width, 1))
    texture = _smooth_noise(rng, height, width, int(rng.integers(4, 24)))
    image = image * (0.8 + 0.35 * texture[..., None])
    yy, xx = np.mgrid[0:height, 0:width]
    for _ in range(int(rng.integers(2, 7))):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        ry, rx = rng.uniform(0.03, 0.25) * height, rng.uniform(0.03, 0.25) * width
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1.0
        image[blob] = image[blob] * 0.4 + 0.6 * rng.uniform(0.05, 0.95, 3)
    image += rng.normal(0.0, 0.015, image.shape)
    return (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
