"""The fit never sees ground truth: synthesise, train a prior, compute occlusion maps and fit
every preset; then overwrite every ground-truth column with other values and do it all again.
Priors, maps and fits must be bitwise identical."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.fitting.optimize import PRESETS, get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.io.arrays import load_columns
from hoirecon.io.fits import load_fits
from hoirecon.io.occlusion_files import save_occlusion_maps
from hoirecon.prior import FlowConfig, TrainConfig
from hoirecon.prior.category import train_category

CATEGORY = "skateboard"


def _scramble_truth(root: Path) -> int:
    """Replace every ``gt_*`` column by random values of its shape and dtype; returns how many."""
    path = root / "annotations" / f"{CATEGORY}.npz"
    cols = load_columns(path)
    rng = np.random.default_rng(123)
    names = [k for k in cols if k.startswith("gt_")]
    for name in names:
        cols[name] = rng.normal(size=cols[name].shape).astype(cols[name].dtype)
    np.savez_compressed(path, **cols)
    return len(names)


def _run(root: Path, out: Path) -> dict[str, dict[str, np.ndarray]]:
    """Prior, occlusion maps and the fits of every preset, as arrays."""
    torch.manual_seed(0)
    train = TrainConfig(epochs=2, batch_size=8, lr=1e-3, seed=0, flow=replace(FlowConfig(), depth=2, width=32))
    train_category(root, CATEGORY, out / "prior.pt", train)
    save_occlusion_maps(out / "occ.npz", compute_occlusion_maps(load_dataset(root), CATEGORY))
    state = torch.load(out / "prior.pt", map_location="cpu", weights_only=False)
    found = {"prior file": {k: v.numpy() for k, v in state["state_dict"].items()},
             # the maps' provenance records the annotation hash, which the scrambled truth changes
             "occlusion maps": {k: v for k, v in load_columns(out / "occ.npz").items() if k != "provenance"}}
    for preset in PRESETS:
        config = get_preset(preset, object_steps=4, joint_steps=4)
        fit_dataset(root, CATEGORY, "test", config, out / preset, out / "prior.pt", out / "occ.npz")
        found[preset] = load_fits(out / preset, CATEGORY).columns
    return found


@pytest.mark.slow
def test_priors_maps_and_fits_ignore_the_ground_truth(tmp_path: Path) -> None:
    root = generate(tmp_path / "data", SynthConfig(categories=(CATEGORY,), train=16, test=4, image_size=64, seed=3))
    before = _run(root, tmp_path / "before")
    assert _scramble_truth(root) >= 9
    assert not np.allclose(load_dataset(root).sample(CATEGORY, f"{CATEGORY}_000016").gt.object_rotation,
                           np.asarray(before["none"]["object_rotation"][0]), atol=1e-3)
    after = _run(root, tmp_path / "after")
    assert set(after) == set(before) and len(before) == 2 + len(PRESETS)
    for what, cols in before.items():
        assert set(after[what]) == set(cols), what
        for name, value in cols.items():
            assert np.array_equal(after[what][name], value), f"{what}: {name} changed with the ground truth"
