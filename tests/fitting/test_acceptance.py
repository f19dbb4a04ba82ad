"""End-to-end acceptance of the post-optimisation on a synthetic split (fixed seed).

Synthesises a baseball-bat split, trains a small 2D-supervised prior on its training images,
fits the test images with ``none`` / ``prior`` / ``prior+contact`` and scores them with the
WildHOI protocol. The object translation error (human frame) is what the prior exists to fix:
``none`` keeps the body estimate's wrong depth, so the object floats at the wrong distance.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.protocols.wildhoi import evaluate_wildhoi
from hoirecon.fitting.occlusion import compute_occlusion_maps, save_occlusion_maps
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.prior import FlowConfig, TrainConfig
from hoirecon.prior.category import train_category

CATEGORY = "baseball_bat"


@pytest.fixture(scope="module")
def medians(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[float, float]]:
    """Median (translation error cm, SMPL chamfer cm) per preset; ``init`` is the unoptimised start."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("accept")
    data = generate(root / "data", SynthConfig(categories=(CATEGORY,), train=192, test=24, seed=0,
                                               image_size=128, workers=1))
    config = TrainConfig(epochs=40, batch_size=64, lr=1e-3, seed=0,
                         flow=replace(FlowConfig(), depth=4, width=128))
    train_category(data, CATEGORY, root / "prior.pt", config, compare_unconditional=False)
    save_occlusion_maps(root / "occ.npz", compute_occlusion_maps(load_dataset(data), CATEGORY))
    out = {}
    for name in ("init", "none", "prior", "prior+contact"):
        preset = get_preset("none", object_steps=0, joint_steps=0) if name == "init" else get_preset(name)
        prior = root / "prior.pt" if preset.weights.prior > 0 else None
        fit_dataset(data, CATEGORY, "test", preset, root / name, prior, root / "occ.npz")
        table = evaluate_wildhoi(data, root / name, samples=500).table
        assert table.ok.sum() >= 20, f"{name}: only {table.ok.sum()} of 24 test images were scored"
        out[name] = (float(np.median(table.values["trans_err_cm"][table.ok])),
                     float(np.median(table.values["smpl_cd_cm"][table.ok])))
    return out


@pytest.mark.slow
def test_prior_halves_the_object_translation_error(medians: dict[str, tuple[float, float]]) -> None:
    assert medians["prior"][0] <= 0.5 * medians["none"][0], medians


@pytest.mark.slow
def test_prior_and_contact_halve_the_object_translation_error(medians: dict[str, tuple[float, float]]) -> None:
    assert medians["prior+contact"][0] <= 0.5 * medians["none"][0], medians


@pytest.mark.slow
def test_body_error_does_not_grow_over_its_initialisation(medians: dict[str, tuple[float, float]]) -> None:
    for name in ("prior", "prior+contact"):
        assert medians[name][1] <= 1.05 * medians["init"][1], (name, medians)
