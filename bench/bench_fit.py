"""Fitting speed and accuracy: our default schedule vs the reference schedule (4000 + 1000 Adam steps).

Run: python bench/bench_fit.py [--images 64] [--device cuda]
Prints seconds per image (one batch of 64 images, preset 'contact' which needs no trained prior, 2 cores)
and the mean object translation error (human frame) of both schedules, measured in the same run;
targets: <= 0.1 s per image on 2 CPU cores at an error no worse than today's default, >= 100 images/s
on one data-centre GPU (``--device cuda``; the initialisation stays on the CPU, see fitting/pipeline.py).
The load average is printed with the figures: on a shared machine they are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.device import describe, resolve_device
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset


def run(data: Path, out: Path, preset: str, device: str | None = None, **schedule: int) -> tuple[float, float]:
    """Seconds per image and mean object translation error (cm) of one schedule."""
    config = get_preset(preset, batch_size=64, **schedule)
    start = time.perf_counter()
    result = fit_dataset(data, "baseball_bat", "test", config, out, device=device)
    seconds = (time.perf_counter() - start) / len(result.results.image_ids)
    cols = result.results.columns
    truth = {s.image_id: s.gt.object_translation for s in load_dataset(data).samples("baseball_bat", "test")}
    errors = [np.linalg.norm(t - truth[str(i)]) for i, t in zip(cols["image_id"], cols["object_translation"])]
    return seconds, 100 * float(np.mean(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--preset", default="contact")
    parser.add_argument("--device", default=None, help="auto | cpu | cuda (default: $HOIRECON_DEVICE, else auto)")
    parser.add_argument("--skip-reference", action="store_true", help="time the default schedule only")
    args = parser.parse_args()
    device = resolve_device(args.device, "--device")
    print(f"fit on {describe(device)}, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        data = generate(Path(tmp) / "ds", SynthConfig(categories=("baseball_bat",), train=64, test=args.images,
                                                      image_size=160))
        run(data, Path(tmp) / "warm", args.preset, str(device), object_steps=2, joint_steps=2)  # imports, kernels
        ours = run(data, Path(tmp) / "ours", args.preset, str(device))
        print(f"default schedule:   {ours[0]:.3f} s/image ({1 / ours[0]:.1f} images/s), "
              f"object translation error {ours[1]:.1f} cm")
        if args.skip_reference:
            return
        reference = run(data, Path(tmp) / "ref", args.preset, str(device), object_steps=4000, joint_steps=1000)
    print(f"reference schedule: {reference[0]:.3f} s/image, object translation error {reference[1]:.1f} cm")
    print(f"speed-up x{reference[0] / ours[0]:.1f}; error ratio ours/reference {ours[1] / reference[1]:.3f} "
          f"(targets: <= 0.1 s/image on 2 CPU cores, error ratio <= 1.0)")


if __name__ == "__main__":
    main()
