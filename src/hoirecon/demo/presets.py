"""Median errors of fitting presets on one small synthetic split: the acceptance set-up.

:func:`preset_medians` synthesises a category (``train`` training and ``test`` test images),
trains a small prior on the training images' 2D keypoints, computes the occlusion maps, fits the
test images with each preset and scores them with the WildHOI protocol. ``init`` stands for the
unoptimised initialisation (zero optimisation steps). Used by ``bench/bench_presets.py`` and by
the acceptance test in ``tests/demo/test_presets.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.protocols.wildhoi import evaluate_wildhoi
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.io.occlusion_files import save_occlusion_maps
from hoirecon.prior import FlowConfig, TrainConfig
from hoirecon.prior.category import train_category


@dataclass(frozen=True)
class PresetMedians:
    """Medians over the scored test images of one preset."""

    translation_cm: float
    """Object translation error in the human frame."""
    smpl_cd_cm: float
    """SMPL chamfer distance."""
    scored: int
    """Test images with a usable fit."""


def _fit_config(name: str):
    return get_preset("none", object_steps=0, joint_steps=0) if name == "init" else get_preset(name)


def preset_medians(root: str | Path, category: str, seed: int, presets: tuple[str, ...],
                   train: int = 192, test: int = 24) -> dict[str, PresetMedians]:
    """Median errors per preset (``"init"`` = the initialisation) on a fresh split under ``root``."""
    root = Path(root)
    data = generate(root / "data", SynthConfig(categories=(category,), train=train, test=test, seed=seed,
                                               image_size=128, workers=1))
    config = TrainConfig(epochs=40, batch_size=64, lr=1e-3, seed=seed, flow=replace(FlowConfig(), depth=4, width=128))
    train_category(data, category, root / "prior.pt", config)
    save_occlusion_maps(root / "occ.npz", compute_occlusion_maps(load_dataset(data), category))
    out = {}
    for name in presets:
        preset = _fit_config(name)
        prior = root / "prior.pt" if preset.weights.prior > 0 else None
        fit_dataset(data, category, "test", preset, root / name, prior, root / "occ.npz")
        table = evaluate_wildhoi(data, root / name, samples=500, min_coverage=0.0).table  # counts what was scored
        out[name] = PresetMedians(float(np.median(table.values["trans_err_cm"][table.ok])),
                                  float(np.median(table.values["smpl_cd_cm"][table.ok])), int(table.ok.sum()))
    return out
