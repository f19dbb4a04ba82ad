"""Median errors of the presets on small synthetic splits, the set-up of tests/demo/test_presets.py
(see hoirecon.demo.presets).

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

import torch

from hoirecon.demo.presets import preset_medians

PRESETS = ("init", "none", "contact", "prior", "prior+contact", "phosa")


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
            res = preset_medians(tmp, args.category, seed, PRESETS)
        none = res["none"].translation_cm
        cells = [f"{k} {m.translation_cm:.1f}/{m.smpl_cd_cm:.1f} ({m.translation_cm / none:.2f})" for k, m in res.items()]
        print(f"seed {seed}: " + " | ".join(cells) + f"  [{time.perf_counter() - start:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
