"""Median errors of the presets on small synthetic splits, the set-up of tests/fitting/test_acceptance.py.

For each seed: synthesise a category (192 training, 24 test images, 128 px), train a small prior
(depth 4, width 128, 40 epochs) on the training images' 2D keypoints, compute the occlusion maps,
fit the test images with each preset and score them with the WildHOI protocol. Prints the median
object translation error (human frame) and SMPL chamfer per preset, ``init`` being the
unoptimised initialisation, and the ratios to ``none``.

    python bench/bench_presets.py [--seeds 0 1 2] [--category baseball_bat]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.protocols.wildhoi import evaluate_wildhoi
from hoirecon.fitting.occlusion import compute_occlusion_maps, save_occlusion_maps
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.prior import FlowConfig, TrainConfig
from hoirecon.prior.category import train_category

PRESETS = ("init", "none", "contact", "prior", "prior+contact", "phosa")


def run_seed(root: Path, category: str, seed: int) -> dict[str, tuple[float, float]]:
    """Median (translation error cm, SMPL chamfer cm) per preset for one seed."""
    data = generate(root / "data", SynthConfig(categories=(category,), train=192, test=24, seed=seed,
                                               image_size=128, workers=1))
    config = TrainConfig(epochs=40, batch_size=64, lr=1e-3, seed=seed, flow=replace(FlowConfig(), depth=4, width=128))
    train_category(data, category, root / "prior.pt", config)
    save_occlusion_maps(root / "occ.npz", compute_occlusion_maps(load_dataset(data), category))
    out = {}
    for name in PRESETS:
        preset = get_preset("none", object_steps=0, joint_steps=0) if name == "init" else get_preset(name)
        prior = root / "prior.pt" if preset.weights.prior > 0 else None
        fit_dataset(data, category, "test", preset, root / name, prior, root / "occ.npz")
        table = evaluate_wildhoi(data, root / name, samples=500).table
        out[name] = (float(np.median(table.values["trans_err_cm"][table.ok])),
                     float(np.median(table.values["smpl_cd_cm"][table.ok])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--category", default="baseball_bat")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(1)
    print(f"{args.category}: median object translation error (cm) / SMPL chamfer (cm); ratio to none")
    for seed in args.seeds:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            res = run_seed(Path(tmp), args.category, seed)
        none = res["none"][0]
        cells = [f"{k} {t:.1f}/{s:.1f} ({t / none:.2f})" for k, (t, s) in res.items()]
        print(f"seed {seed}: " + " | ".join(cells) + f"  [{time.perf_counter() - start:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
