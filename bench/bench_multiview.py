"""Multi-view clip data: how long ``hoirecon synth`` takes, and how well KNN grouping finds the true groups.

Run: ``python bench/bench_multiview.py [--out DIR] [--train 160] [--test 40] [--views 4] [--frames 5]
[--k 8 16] [--gaps 1 5]``.

Generates the three default categories with ``views_per_instance`` x ``frames_per_clip`` images per
interaction instance and the appearance cue on (resuming if ``--out`` already holds them, so pass a
fresh folder to time generation), then groups every category's training images by eq. (11) for each
k, without adjacent-frame rejection and with it at each ``min_frame_gap``. Printed per run: recall@k
and precision against the true instances, the share of neighbours that are other views (same instance,
another video) and the chance precision (a random other image of the same instance).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.grouping import score_category
from hoirecon.prior.category import group_category
from hoirecon.prior.grouping import GroupingConfig


def _chance(data_dir: Path, category: str) -> float:
    """Precision of a random neighbour: (instance size - 1) / (images - 1), averaged over images."""
    cols = load_dataset(data_dir).columns(category)
    ids = cols["gt_instance_id"][cols["split"] == "train"]
    _, counts = np.unique(ids, return_counts=True)
    return float(np.sum(counts * (counts - 1)) / (len(ids) * (len(ids) - 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--train", type=int, default=160)
    parser.add_argument("--test", type=int, default=40)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--k", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--gaps", type=int, nargs="+", default=[1, 5])
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp()) / "multiview"
    config = SynthConfig(train=args.train, test=args.test, views_per_instance=args.views,
                         frames_per_clip=args.frames, appearance_cue=1.0)
    start = time.perf_counter()
    generate(out, config)
    seconds = time.perf_counter() - start
    images = len(config.categories) * (args.train + args.test)
    print(f"synth: {images} images ({len(config.categories)} categories, {args.views} views x {args.frames} frames "
          f"per instance, {config.image_size} px) in {seconds:.1f} s ({seconds / images:.3f} s/image) -> {out}")
    for category in config.categories:
        print(f"{category}: chance precision {_chance(out, category):.3f}")
        for k in args.k:
            runs = [("keep adjacent", GroupingConfig(k=k), False)]
            runs += [(f"reject gap {g}", GroupingConfig(k=k, min_frame_gap=g), True) for g in args.gaps]
            for name, grouping_config, reject in runs:
                grouping, _ = group_category(out, category, grouping_config, reject_adjacent=reject)
                s = score_category(out, category, grouping)
                print(f"  k={k:<3d} {name:<14s} recall@k {s.recall_at_k:.3f}  precision {s.precision:.3f}  "
                      f"other views {s.other_view_share:.3f}  neighbours/image {grouping.stats['mean_neighbours']:.1f}")


if __name__ == "__main__":
    main()
