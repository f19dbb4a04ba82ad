"""Fitting speed and accuracy: our default schedule vs the reference schedule (4000 + 1000 Adam steps).

Run: python bench/bench_fit.py [--images 64]
Prints seconds per image (one batch of 64 images, preset 'contact' which needs no trained prior, 2 cores)
and the mean object translation error (human frame) of both schedules; target <= 1 s per image at
no more than 5% worse error than the reference schedule.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset


def run(data: Path, out: Path, preset: str, **schedule: int) -> tuple[float, float]:
    """Seconds per image and mean object translation error (cm) of one schedule."""
    config = get_preset(preset, batch_size=64, **schedule)
    start = time.perf_counter()
    result = fit_dataset(data, "baseball_bat", "test", config, out)
    seconds = (time.perf_counter() - start) / len(result.results.image_ids)
    cols = result.results.columns
    truth = {s.image_id: s.gt.object_translation for s in load_dataset(data).samples("baseball_bat", "test")}
    errors = [np.linalg.norm(t - truth[str(i)]) for i, t in zip(cols["image_id"], cols["object_translation"])]
    return seconds, 100 * float(np.mean(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--preset", default="contact")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = generate(Path(tmp) / "ds", SynthConfig(categories=("baseball_bat",), train=64, test=args.images,
                                                      image_size=160))
        ours = run(data, Path(tmp) / "ours", args.preset)
        reference = run(data, Path(tmp) / "ref", args.preset, object_steps=4000, joint_steps=1000)
    print(f"default schedule:   {ours[0]:.3f} s/image, object translation error {ours[1]:.1f} cm")
    print(f"reference schedule: {reference[0]:.3f} s/image, object translation error {reference[1]:.1f} cm")
    print(f"speed-up x{reference[0] / ours[0]:.1f}; error ratio ours/reference {ours[1] / reference[1]:.3f} "
          f"(target: <= 1 s/image and <= 1.05)")


if __name__ == "__main__":
    main()
