"""The appearance cue: body regions, colour conversion, recolouring and the cue in rendered images."""

import colorsys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hoirecon.body import load_body_model
from hoirecon.data import load_dataset
from hoirecon.data.synthetic.appearance import SHIRT, SKIN, TROUSERS, cue_colours, dress, face_regions, hsv_to_rgb
from hoirecon.data.synthetic.generator import SynthConfig, generate


def test_hsv_to_rgb_matches_colorsys() -> None:
    rng = np.random.default_rng(0)
    h, s, v = rng.uniform(0, 1, 20), rng.uniform(0, 1, 20), rng.uniform(0, 1, 20)
    expected = np.array([colorsys.hsv_to_rgb(*c) for c in zip(h, s, v)])
    np.testing.assert_allclose(hsv_to_rgb(h, s, v), expected, atol=1e-12)


def test_regions_put_the_head_in_skin_the_torso_in_the_shirt_and_the_feet_in_trousers() -> None:
    body = load_body_model()
    with torch.no_grad():
        rest = body()
    verts, joints, faces = rest.vertices[0].numpy(), rest.joints[0].numpy(), np.asarray(body.faces)
    region = face_regions(verts, joints, faces)
    centre = verts[faces].mean(axis=1)
    nearest = lambda j: region[np.argmin(np.linalg.norm(centre - joints[j], axis=1))]  # noqa: E731
    assert nearest(15) == SKIN and nearest(6) == SHIRT and nearest(7) == TROUSERS and nearest(10) == TROUSERS
    assert {SKIN, SHIRT, TROUSERS} == set(region.tolist())


def test_dress_scales_each_region_colour_by_the_white_render() -> None:
    rgb = np.full((2, 2, 3), 200, np.uint8)
    instance = np.array([[1, 1], [0, 2]])
    hit_face = np.array([[0, 1], [-1, 0]])
    colours = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 1.0], [0.2, 0.2, 0.2]])
    out = dress(rgb, instance, hit_face, np.array([SKIN, SHIRT], np.int8), colours)
    assert out[0, 0].tolist() == [200, 0, 0] and out[0, 1].tolist() == [0, 100, 200]
    assert out[1].tolist() == rgb[1].tolist()  # background and object untouched


def test_cue_colours_follow_the_mode_and_the_object_side() -> None:
    front, back = np.array([[0.0, 0.0, 0.5]]), np.array([[0.0, 0.0, -0.5]])
    a, b = cue_colours(np.array([0]), 3, front), cue_colours(np.array([1]), 3, front)
    assert not np.allclose(a[0, 0], b[0, 0]) and np.allclose(a[0, 1], b[0, 1])
    c = cue_colours(np.array([0]), 3, back)
    assert np.allclose(a[0, 0], c[0, 0]) and not np.allclose(a[0, 1], c[0, 1])


def _body_chroma(root: Path, sample) -> np.ndarray:
    """Mean chromaticity r/(r+g+b), g/(r+g+b) of the person's pixels (shading divides out)."""
    rgb = np.asarray(Image.open(sample.image_path), np.float64)
    mask = np.asarray(Image.open(sample.human_mask_path)) > 127
    px = rgb[mask]
    return (px[:, :2] / px.sum(axis=1, keepdims=True).clip(1)).mean(axis=0)


@pytest.fixture(scope="module")
def cue_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("tennis_racket",), train=24, test=0, seed=7, image_size=64,
                         views_per_instance=2, frames_per_clip=1, appearance_cue=1.0, observation="clean")
    return generate(tmp_path_factory.mktemp("cue") / "ds", config)


def test_images_of_one_instance_look_alike_and_other_interactions_do_not(cue_data: Path) -> None:
    samples = list(load_dataset(cue_data).samples("tennis_racket"))
    chroma = np.stack([_body_chroma(cue_data, s) for s in samples])
    instance = np.array([s.gt.instance_id for s in samples])
    d = np.linalg.norm(chroma[:, None] - chroma[None], axis=-1)
    same = (instance[:, None] == instance[None]) & ~np.eye(len(samples), dtype=bool)
    assert same.sum() == len(samples)  # two views of every instance
    assert np.median(d[same]) < 0.3 * np.median(d[instance[:, None] != instance[None]])
