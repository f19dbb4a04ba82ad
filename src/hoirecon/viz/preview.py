"""Preview pictures of the embedded body interacting with each built-in object."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoirecon.data.synthetic.generator import SynthConfig
from hoirecon.data.synthetic.scene import OBJECT_COLORS, SceneContext, sample_chunk
from hoirecon.render import Camera, SceneMesh, look_at_camera, render_scene, save_png

SKIN = (0.80, 0.62, 0.50)
BACKDROP = (236, 238, 242)


def preview_camera(center: np.ndarray, radius: float, size: int, azimuth_deg: float = 35.0,
                   elevation_deg: float = 12.0, fov_deg: float = 40.0) -> Camera:
    """A camera (world = human frame) looking at a sphere (centre (3,), radius) from a 3/4 view."""
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    focal = 0.5 * size / np.tan(0.5 * np.deg2rad(fov_deg))
    distance = 1.15 * radius / np.sin(0.5 * np.deg2rad(fov_deg))
    eye = center + distance * np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    return look_at_camera(eye, center, np.array([0.0, 1.0, 0.0]), focal, size, size)


def render_preview(category: str, seed: int = 0, size: int = 512, body_model: str | None = None) -> np.ndarray:
    """An RGB picture (size, size, 3) uint8 of one sampled interaction of ``category``."""
    ctx = SceneContext.build(category, SynthConfig(categories=(category,), body_model=body_model))
    chunk = sample_chunk(ctx, np.random.default_rng(seed), 1)
    both = np.concatenate([chunk.verts[0], chunk.obj_verts[0]])
    center = 0.5 * (both.min(axis=0) + both.max(axis=0))
    radius = float(np.linalg.norm(both - center, axis=1).max())
    meshes = [SceneMesh(chunk.verts[0], ctx.faces, SKIN, "human"),
              SceneMesh(chunk.obj_verts[0], np.asarray(ctx.template.faces), OBJECT_COLORS[category], "object")]
    background = np.broadcast_to(np.array(BACKDROP, np.uint8), (size, size, 3)).copy()
    return render_scene(meshes, preview_camera(center, radius, size), background=background).rgb


def write_previews(out: Path, categories: tuple[str, ...], seed: int = 0, size: int = 512) -> list[Path]:
    """Render one preview PNG per category into ``out``; returns the written paths."""
    paths, images = [], []
    for category in categories:
        path = Path(out) / f"preview_{category}.png"
        images.append(render_preview(category, seed=seed, size=size))
        save_png(path, images[-1])
        paths.append(path)
    if len(images) > 1:
        paths.append(save_png(Path(out) / "preview_grid.png", grid(images)))
    return paths


def grid(images: list[np.ndarray], columns: int = 3, cell: int = 256) -> np.ndarray:
    """Tile equally sized RGB images (H, W, 3), resized to ``cell`` pixels, into one picture."""
    from PIL import Image

    rows = -(-len(images) // columns)
    canvas = np.full((rows * cell, columns * cell, 3), BACKDROP, dtype=np.uint8)
    for i, image in enumerate(images):
        small = np.asarray(Image.fromarray(image).resize((cell, cell), Image.LANCZOS))
        r, c = divmod(i, columns)
        canvas[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = small
    return canvas
