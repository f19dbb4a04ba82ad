"""Occlusion maps stored in prior files: by `hoirecon train` when the dataset has masks, and by
`hoirecon occlusion --prior` into an existing prior."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hoirecon.body import load_body_model
from hoirecon.cli.app import app
from hoirecon.cli.occlusion_cmd import store_training_maps
from hoirecon.data import load_dataset
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.io.occlusion_files import load_occlusion_maps
from hoirecon.objects import get_category_template
from hoirecon.prior.prior import load_prior
from tests.cli.conftest import CATEGORY

TINY_FLOW = ["--epochs", "1", "--batch-size", "8", "--val-fraction", "0", "--flow-depth", "1", "--flow-width", "16",
             "--encoder-features", "16", "--encoder-width", "16", "--no-compare-unconditional"]


def _invoke(args: list) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_train_stores_the_mean_maps_of_the_training_images_in_the_prior(world, tmp_path: Path) -> None:  # noqa: ANN001
    code, output = _invoke(["train", "--data", world.data, "--category", CATEGORY, "--out", tmp_path / "p.pt",
                            *TINY_FLOW])
    assert code == 0, output
    assert "stored the mean occlusion maps of 6 images" in output
    maps = load_prior(tmp_path / "p.pt").occlusion
    expected = compute_occlusion_maps(load_dataset(world.data), CATEGORY, "train")
    assert maps.num_images == expected.num_images == 6 and maps.category == CATEGORY
    assert maps.body_vertex_count == load_body_model().num_vertices
    assert maps.template_vertex_count == len(get_category_template(CATEGORY).vertices)
    np.testing.assert_allclose(maps.mean_human, expected.mean_human, atol=1e-6)
    np.testing.assert_allclose(maps.mean_object, expected.mean_object, atol=1e-6)


def test_occlusion_into_an_older_prior_file(world, tmp_path: Path) -> None:  # noqa: ANN001
    prior = Path(shutil.copyfile(world.prior, tmp_path / "old.pt"))
    assert load_prior(prior).occlusion is None  # trained through the API, before any maps
    code, output = _invoke(["occlusion", "--data", world.data, "--category", CATEGORY, "--prior", prior,
                            "--out", tmp_path / "occ.npz"])
    assert code == 0, output
    assert "maps stored in the prior" in output
    stored, saved = load_prior(prior).occlusion, load_occlusion_maps(tmp_path / "occ.npz")
    np.testing.assert_allclose(stored.mean_human, saved.mean_human, atol=1e-6)
    assert stored.eta == saved.eta and stored.num_images == saved.num_images


def test_occlusion_needs_somewhere_to_write(world) -> None:  # noqa: ANN001
    code, output = _invoke(["occlusion", "--data", world.data, "--category", CATEGORY])
    assert code == 2 and "--out / --prior" in output


def test_a_dataset_without_masks_leaves_the_prior_without_maps(world, tmp_path: Path) -> None:  # noqa: ANN001
    data = Path(shutil.copytree(world.data, tmp_path / "ds"))
    path = data / "annotations" / f"{CATEGORY}.npz"
    with np.load(path) as npz:
        columns = {k: npz[k] for k in npz.files}
    columns["human_mask_file"] = np.full(len(columns["human_mask_file"]), "")
    np.savez(path, **columns)
    prior = Path(shutil.copyfile(world.prior, tmp_path / "p.pt"))
    assert store_training_maps(data, CATEGORY, prior) is None
    assert load_prior(prior).occlusion is None
