"""Image helpers: masks, overlay and atomic PNG writes."""

import numpy as np
import pytest
import trimesh
from PIL import Image

from hoirecon.render import Camera, SceneMesh, masks, overlay, render_scene, save_png

K = np.array([[80.0, 0.0, 31.5], [0.0, 80.0, 23.5], [0.0, 0.0, 1.0]])
CAM = Camera(K, 64, 48)


def _result():
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    meshes = [
        SceneMesh(ball.vertices + [-0.4, 0.0, 3.0], ball.faces, (0.9, 0.5, 0.4), "human"),
        SceneMesh(ball.vertices * 0.6 + [0.4, 0.0, 2.5], ball.faces, (0.2, 0.4, 0.9), "object"),
    ]
    return render_scene(meshes, CAM)


def test_masks_are_keyed_by_name_and_disjoint():
    result = _result()
    out = masks(result)
    assert list(out) == ["human", "object"]
    assert out["human"].any() and out["object"].any()
    assert not np.any(out["human"] & out["object"])
    np.testing.assert_array_equal(out["human"] | out["object"], result.instance > 0)


def test_overlay_blends_only_mesh_pixels():
    result = _result()
    image = np.full((48, 64, 3), 10, dtype=np.uint8)
    np.testing.assert_array_equal(overlay(image, result, 0.0), image)
    full = overlay(image, result, 1.0)
    hit = result.instance > 0
    np.testing.assert_array_equal(full[hit], result.rgb[hit])
    np.testing.assert_array_equal(full[~hit], image[~hit])
    with pytest.raises(ValueError, match="alpha"):
        overlay(image, result, 1.5)
    with pytest.raises(ValueError, match="image"):
        overlay(image[:10], result)


def test_save_png_round_trips_atomically(tmp_path):
    result = _result()
    path = save_png(tmp_path / "sub" / "render.png", result.rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), result.rgb)
    mask_path = save_png(tmp_path / "sub" / "mask.png", masks(result)["object"])
    np.testing.assert_array_equal(np.asarray(Image.open(mask_path)) > 0, masks(result)["object"])
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["mask.png", "render.png"]


def test_save_png_rejects_float_images_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="image"):
        save_png(tmp_path / "x.png", np.zeros((4, 4, 3)))
    assert list(tmp_path.iterdir()) == []
