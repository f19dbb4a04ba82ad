"""Small image helpers around render results: per-mesh masks, overlays and atomic PNG writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from hoirecon.io.atomic import atomic_path
from hoirecon.render.renderer import RenderResult

__all__ = ["masks", "overlay", "save_png"]


def masks(result: RenderResult) -> dict[str, np.ndarray]:
    """Per-mesh (H, W) bool silhouettes of the *visible* pixels, keyed by mesh name."""
    return {name: result.instance == i + 1 for i, name in enumerate(result.names)}


def overlay(image: np.ndarray, result: RenderResult, alpha: float = 0.6) -> np.ndarray:
    """Blend the rendered meshes over ``image`` (H, W, 3) uint8; returns a new (H, W, 3) uint8.

    Background pixels keep ``image``; mesh pixels become ``(1 - alpha) * image + alpha * rgb``.
    """
    img = np.asarray(image)
    if img.shape != result.rgb.shape or img.dtype != np.uint8:
        raise ValueError(f"image: expected uint8 {result.rgb.shape}, got {img.dtype} {img.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a value in [0, 1], got {alpha!r}")
    hit = result.instance > 0
    out = img.copy()
    blend = (1.0 - alpha) * img[hit].astype(np.float64) + alpha * result.rgb[hit]
    out[hit] = np.clip(np.round(blend), 0, 255).astype(np.uint8)
    return out


def _as_png_array(image: np.ndarray) -> np.ndarray:
    """Validate a PNG-able image: (H, W) bool/uint8 or (H, W, 3|4) uint8; bool -> 0/255."""
    img = np.asarray(image)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.dtype != np.uint8:
        raise ValueError(f"image: expected uint8 or bool, got {img.dtype}")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise ValueError(f"image: expected (H, W), (H, W, 3) or (H, W, 4), got {img.shape}")
    return img


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write ``image`` to ``path`` as PNG atomically (temp file in the same folder, then rename).

    Creates missing parent folders. Returns the final path.
    """
    target = Path(path)
    img = _as_png_array(image)
    with atomic_path(target) as tmp:
        Image.fromarray(img).save(tmp, format="PNG")
    return target
