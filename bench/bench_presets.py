"""Median errors of the presets on small synthetic splits, the set-up of tests/demo/test_presets.py
(see hoirecon.demo.presets), run as units of the ``losses`` experiment (hoirecon.experiments).

For each seed: synthesise a category (192 training, 24 test images, 128 px) with the chosen
evidence preset, train a small prior (depth 4, width 128, 40 epochs) on the training images' 2D
evidence, compute the occlusion maps, fit the test images with each preset and score them with
the WildHOI protocol. Prints the median object translation error (human frame) and SMPL chamfer
per preset, ``init`` being the unoptimised initialisation, and the ratios to ``none``. With
``--out`` the unit records are kept there and a rerun reuses finished seeds; ``hoirecon
experiment losses`` gives the same rows with intervals and paired differences.

    python bench/bench_presets.py [--seeds 0 1 2] [--category baseball_bat] [--observation realistic] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch

from hoirecon.data.synthetic.observation import OBSERVATION_PRESETS
from hoirecon.experiments import ExperimentConfig, get_experiment
from hoirecon.experiments.runner import read_unit, run_units, unit_path

PRESETS = ("init", "none", "contact", "prior", "prior+contact", "phosa")
SETUP = ExperimentConfig(train=192, test=24, image_size=128, prior_epochs=40, prior_depth=4, prior_width=128,
                         object_steps=150, joint_steps=100, eval_samples=500)
"""The acceptance set-up of tests/demo/test_presets.py."""


def _median(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return float(np.median(kept)) if kept else float("nan")


def seed_line(record: dict) -> str:
    """One printed line: per preset median translation / SMPL chamfer (ratio of translation to none)."""
    if record.get("status") != "ok":
        return f"failed: {record.get('error')}"
    arms = record["arms"]
    medians = {p: (_median(arms[p]["metrics"]["trans_err_cm"]), _median(arms[p]["metrics"]["smpl_cd_cm"]))
               for p in PRESETS if arms.get(p, {}).get("status") == "ok"}
    none = medians.get("none", (float("nan"),))[0]
    cells = [f"{p} {t:.1f}/{s:.1f} ({t / none:.2f})" for p, (t, s) in medians.items()]
    cells += [f"{p} failed: {a.get('error')}" for p, a in arms.items() if a.get("status") != "ok"]
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--category", default="baseball_bat")
    parser.add_argument("--observation", default="realistic", choices=list(OBSERVATION_PRESETS))
    parser.add_argument("--out", type=Path, default=None, help="Keep the unit records here (a rerun resumes).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(1)
    losses = get_experiment("losses")
    print(f"{args.category} ({args.observation} evidence): median object translation error (cm) / SMPL chamfer (cm); "
          "ratio to none")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        for seed in args.seeds:
            config = ExperimentConfig(**{**SETUP.__dict__, "seeds": 1, "first_seed": seed,
                                         "categories": (args.category,), "observation": args.observation})
            run_units(losses, config, out, command="bench/bench_presets.py")
            record = read_unit(unit_path(out, seed, args.category)) or {}
            print(f"seed {seed}: {seed_line(record)}  [{record.get('seconds', float('nan')):.0f} s]", flush=True)


if __name__ == "__main__":
    main()
