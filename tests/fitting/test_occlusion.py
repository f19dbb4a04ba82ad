"""Occlusion maps and contact candidates: exact maps on a constructed scene, mean maps that
single out the hands for a bat, contact sets that beat chance against true contacts, a maps
file that round-trips and refuses the wrong body, and the CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from hoirecon.body import load_body_model
from hoirecon.data.dataset import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.data.synthetic.observation import noiseless
from hoirecon.eval.contact_truth import contact_truth
from hoirecon.fitting.body_parts import body_part_vertices
from hoirecon.fitting.occlusion import (
    compute_occlusion_maps,
    contact_sets,
    contacts,
    depth_order_consistent,
    dilation_radius,
    facing_camera,
    image_occlusion,
    mean_maps,
    overlap_region,
    vertices_in_region,
)
from hoirecon.io.arrays import load_columns
from hoirecon.io.occlusion_files import ImageOcclusion, OcclusionMaps, load_occlusion_maps
from hoirecon.objects import get_category_template

K = np.array([[100.0, 0.0, 50.0], [0.0, 100.0, 50.0], [0.0, 0.0, 1.0]])
CATEGORY = "baseball_bat"


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("occ")
    generate(root, SynthConfig(categories=(CATEGORY,), train=32, test=6, image_size=64, seed=0, observation=noiseless()))
    return root


@pytest.fixture(scope="module")
def train_maps(synth_root, body) -> OcclusionMaps:
    return compute_occlusion_maps(load_dataset(synth_root), CATEGORY, "train", body)


def _at_pixels(uv: list[tuple[float, float]], depth: float = 2.0) -> np.ndarray:
    """Camera points at ``depth`` that project to the pixels ``uv``."""
    uv = np.asarray(uv, dtype=np.float64)
    return np.c_[(uv - K[:2, 2]) / K[0, 0] * depth, np.full(len(uv), depth)]


def _touching_masks() -> tuple[np.ndarray, np.ndarray]:
    human = np.zeros((100, 100), bool)
    obj = np.zeros((100, 100), bool)
    human[10:90, 10:50] = True
    obj[40:60, 50:95] = True
    return human, obj


def test_overlap_region_is_the_band_where_silhouettes_meet() -> None:
    human, obj = _touching_masks()
    region = overlap_region(human, obj, radius=3)
    rows, cols = np.nonzero(region)
    assert cols.min() >= 47 and cols.max() <= 52
    assert rows.min() >= 37 and rows.max() <= 62
    assert region[50, 49] and region[50, 50] and not region[20, 49] and not region[50, 60]
    assert not overlap_region(human, np.zeros_like(obj), 3).any()
    with pytest.raises(ValueError, match="object_mask"):
        overlap_region(human, obj[:50], 3)


def test_vertices_in_the_overlap_get_one_and_the_others_zero() -> None:
    human, obj = _touching_masks()
    body = np.concatenate([_at_pixels([(49, 50), (48, 45), (20, 50), (49, 20), (500, 50)]),
                           [[0.0, 0.0, -2.0]]])
    thing = _at_pixels([(51, 50), (52, 55), (90, 50), (51, 20)])
    occ = image_occlusion("x", body, thing, K, human, obj, dilation=0.03)
    assert occ.human_ids.tolist() == [0, 1]
    assert occ.object_ids.tolist() == [0, 1]
    np.testing.assert_array_equal(vertices_in_region(body, K, np.ones((100, 100), bool)),
                                  [True, True, True, True, False, False])
    assert dilation_radius((100, 100), 0.03) == 3 and dilation_radius((10, 10), 0.01) == 1


def test_facing_follows_the_winding() -> None:
    tri = np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 2.0], [0.0, 1.0, 2.0]])
    # counter-clockwise seen from the camera (x right, y down): the normal is -z, towards it
    assert facing_camera(tri, np.array([[0, 2, 1]])).all()
    assert not facing_camera(tri, np.array([[0, 1, 2]])).any()


def test_depth_order_keeps_the_layer_the_masks_allow() -> None:
    human, obj = _touching_masks()  # human x 10..49, object x 50..94 (rows 40..59)
    points = _at_pixels([(45, 50), (55, 50), (97, 50)])  # human pixel, object pixel, neither
    front, back = np.array([True, True, True]), np.array([False, False, False])
    # a body vertex under the visible object touches it with its front layer; under visible human
    # pixels the object is behind the body, so only the back layer can touch it
    assert depth_order_consistent(points, front, K, human, obj, "human").tolist() == [False, True, True]
    assert depth_order_consistent(points, back, K, human, obj, "human").tolist() == [True, False, True]
    assert depth_order_consistent(points, front, K, human, obj, "object").tolist() == [True, False, True]
    assert depth_order_consistent(points, back, K, human, obj, "object").tolist() == [False, True, True]
    with pytest.raises(ValueError, match="side"):
        depth_order_consistent(points, front, K, human, obj, "both")


def test_image_occlusion_with_faces_drops_the_wrong_layer() -> None:
    human, obj = _touching_masks()
    quad = _at_pixels([(47, 48), (49, 48), (47, 52), (49, 52)])  # in the band, on human pixels
    toward, away = np.array([[0, 2, 1], [1, 2, 3]]), np.array([[0, 1, 2], [1, 3, 2]])
    thing = _at_pixels([(51, 50)])
    tri = np.array([[0, 0, 0]])
    plain = image_occlusion("x", quad, thing, K, human, obj, dilation=0.03)
    assert plain.human_ids.tolist() == [0, 1, 2, 3]
    assert image_occlusion("x", quad, thing, K, human, obj, 0.03, faces=(away, tri)).human_ids.tolist() == [0, 1, 2, 3]
    assert image_occlusion("x", quad, thing, K, human, obj, 0.03, faces=(toward, tri)).human_ids.tolist() == []


def test_contact_sets_keep_occluded_vertices_above_eta_with_their_weights() -> None:
    occ = ImageOcclusion("x", np.array([0, 2, 3]), np.array([1]))
    mean_h = np.array([0.9, 0.9, 0.05, 0.5])
    mean_o = np.array([0.0, 0.3])
    sets = contact_sets(occ, mean_h, mean_o, eta=0.1)
    assert sets.human_ids.tolist() == [0, 3] and sets.object_ids.tolist() == [1]
    np.testing.assert_allclose(sets.human_weight, [0.9, 0.5])
    np.testing.assert_allclose(sets.object_weight, [0.3])
    assert len(contact_sets(occ, mean_h, mean_o, eta=0.95).human_ids) == 0
    h, o = mean_maps([occ, ImageOcclusion("y", np.array([0]), np.array([], int))], 4, 2)
    np.testing.assert_allclose(h, [1.0, 0.0, 0.5, 0.5])
    np.testing.assert_allclose(o, [0.0, 0.5])


def test_mean_maps_of_a_bat_put_the_most_mass_on_the_hands(train_maps, body) -> None:
    assert train_maps.num_images == 32 and not train_maps.skipped
    assert train_maps.mean_human.shape == (body.num_vertices,)
    assert train_maps.mean_object.shape == (len(get_category_template(CATEGORY).vertices),)
    parts = body_part_vertices(body)
    per_part = {p: train_maps.mean_human[ids].mean() for p, ids in parts.items()}
    hands = train_maps.mean_human[np.concatenate([parts["left_hand"], parts["right_hand"]])].mean()
    assert max(per_part, key=per_part.get) in ("left_hand", "right_hand")
    assert all(hands > 1.5 * v for p, v in per_part.items() if not p.endswith("hand"))
    assert per_part["left_foot"] == 0 and per_part["right_foot"] == 0


def test_contact_sets_find_true_contacts_far_above_chance(synth_root, train_maps, body) -> None:
    dataset = load_dataset(synth_root)
    test = compute_occlusion_maps(dataset, CATEGORY, "test", body)
    template = get_category_template(CATEGORY)
    hits = predicted = true = 0
    for occ in test.per_image:
        truth = contact_truth(dataset.sample(CATEGORY, occ.image_id), template, body)
        sets = contacts(train_maps, occ)
        hits += len(np.intersect1d(sets.human_ids, truth.human_ids))
        predicted, true = predicted + len(sets.human_ids), true + len(truth.human_ids)
    chance = true / (len(test.per_image) * body.num_vertices)
    assert predicted > 0 and true > 0
    assert hits / predicted > 3 * chance and hits / true > 0.1


def test_broken_samples_are_skipped_and_reported(tmp_path: Path, body) -> None:
    root = tmp_path / "ds"
    generate(root, SynthConfig(categories=(CATEGORY,), train=4, test=0, image_size=48, seed=3))
    dataset = load_dataset(root)
    first, second, third, good = list(dataset.samples(CATEGORY, "train"))
    first.object_mask_path.unlink()
    npz = root / "annotations" / f"{CATEGORY}.npz"
    cols = load_columns(npz)
    for key in ("est_corr_weight", "est_object_keypoint_conf"):
        cols[key][1] = 0.0
    cols["est_transl"][2] = np.nan
    cols["intrinsics"][2] = np.nan
    np.savez(npz, **cols)
    seen = []
    maps = compute_occlusion_maps(load_dataset(root), CATEGORY, "train", body,
                                  progress=lambda done, total: seen.append((done, total)))
    reasons = {s.image_id: s.reason for s in maps.skipped}
    assert maps.image_ids == [good.image_id]
    assert set(reasons) == {first.image_id, second.image_id, third.image_id}
    assert "mask" in reasons[first.image_id] and "object pose" in reasons[second.image_id]
    assert "intrinsics" in reasons[third.image_id] and "finite" in reasons[third.image_id]
    assert seen[-1] == (4, 4)


def _cli_app() -> typer.Typer:
    path = Path(__file__).resolve().parents[2] / "src" / "hoirecon" / "cli" / "occlusion_cmd.py"
    spec = importlib.util.spec_from_file_location("occlusion_cmd_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = typer.Typer()
    app.command()(module.occlusion)

    @app.callback()
    def _main() -> None:
        """Test harness."""

    return app


def test_cli_writes_maps_and_reports_counts(synth_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "maps.npz"
    result = CliRunner().invoke(_cli_app(), ["occlusion", "--data", str(synth_root), "--category", CATEGORY,
                                             "--out", str(out), "--split", "test", "--eta", "0.2"])
    assert result.exit_code == 0, result.output
    assert "6 images used, 0 skipped" in result.output and "|C_h|" in result.output
    maps = load_occlusion_maps(out, category=CATEGORY)
    assert maps.num_images == 6 and maps.eta == pytest.approx(0.2)
    bad = CliRunner().invoke(_cli_app(), ["occlusion", "--data", str(tmp_path / "none"), "--category", CATEGORY,
                                          "--out", str(out)])
    assert bad.exit_code == 2 and "--data" in bad.output and "does not exist" in " ".join(bad.output.replace("│", " ").split())
    empty = CliRunner().invoke(_cli_app(), ["occlusion", "--data", str(synth_root), "--category", CATEGORY,
                                            "--out", str(out), "--split", "val"])
    assert empty.exit_code == 2 and "no 'val' images" in empty.output
