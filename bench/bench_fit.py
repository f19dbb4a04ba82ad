"""Fitting speed and accuracy: our default schedule vs the reference schedule (4000 + 1000 Adam steps).

Run: python bench/bench_fit.py [--images 64] [--device cuda] [--compile] [--skip-reference]
Prints seconds per image (one batch of 64 images, preset 'contact' which needs no trained prior, 2 cores)
and the mean object translation error (human frame) of both schedules, measured in the same run;
targets: <= 0.1 s per image on 2 CPU cores at an error no worse than today's default, >= 100 images/s
on one data-centre GPU (``--device cuda``; the initialisation stays on the CPU, see fitting/pipeline.py).
A throughput line gives images/s at the batch size chosen for the device (``fitting.pipeline.batch_size_for``)
and, on a GPU, at 64-image batches, each with the part spent in the optimisation alone (``optimise``;
the rest is the CPU initialisation and the result columns). ``--compile`` also fits the default schedule
with the loss compiled (``FitConfig.compile``) and prints both with their ratio (the compilation happens
in an untimed warm-up run of the same shapes).
The load average is printed with the figures: on a shared machine they are pessimistic.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.device import describe, resolve_device, synchronize
from hoirecon.fitting import pipeline
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import batch_size_for, fit_dataset

WARM_STEPS = {"object_steps": 2, "joint_steps": 2}
"""A warm-up schedule (imports, kernels, compilation) run untimed before each timed configuration."""


@dataclass
class Timing:
    """One timed fit of the split."""

    seconds: float
    """Wall time per image."""
    optimise_seconds: float
    """Of which in ``optimise`` (synchronised), per image."""
    error_cm: float
    """Mean object translation error, cm."""
    warm_up: float = 0.0
    """Seconds of the untimed warm-up fit before it (imports, kernels, compilation)."""


class OptimiseClock:
    """Adds up the wall time spent in ``pipeline.optimise`` (waiting for the device at both ends)."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.total, self.inner = device, 0.0, pipeline.optimise

    def __call__(self, *args: object, **kwargs: object) -> object:
        synchronize(self.device)
        start = time.perf_counter()
        result = self.inner(*args, **kwargs)
        synchronize(self.device)
        self.total += time.perf_counter() - start
        return result


def run(data: Path, out: Path, preset: str, device: torch.device, batch_size: int | None = 64,
        compile: bool = False, **schedule: int) -> Timing:
    """Time one schedule on the test split (``batch_size`` None: the device's choice)."""
    config = get_preset(preset, batch_size=batch_size, compile=compile, **schedule)
    clock = OptimiseClock(device)
    pipeline.optimise = clock
    try:
        start = time.perf_counter()
        result = fit_dataset(data, "baseball_bat", "test", config, out, device=str(device))
        seconds = time.perf_counter() - start
    finally:
        pipeline.optimise = clock.inner
    n = len(result.results.image_ids)
    cols = result.results.columns
    truth = {s.image_id: s.gt.object_translation for s in load_dataset(data).samples("baseball_bat", "test")}
    errors = [np.linalg.norm(t - truth[str(i)]) for i, t in zip(cols["image_id"], cols["object_translation"])]
    return Timing(seconds / n, clock.total / n, 100 * float(np.mean(errors)))


def warm_and_run(data: Path, out: Path, preset: str, device: torch.device, batch_size: int | None = 64,
                 compile: bool = False) -> Timing:
    """An untimed warm-up fit (same batch shapes, a two-step schedule), then the timed default schedule."""
    start = time.perf_counter()
    run(data, out / "warm", preset, device, batch_size, compile, **WARM_STEPS)
    warm_up = time.perf_counter() - start
    timed = run(data, out / "timed", preset, device, batch_size, compile)
    timed.warm_up = warm_up
    return timed


def rate(t: Timing) -> str:
    return f"{1 / t.seconds:.1f} images/s (optimisation alone {1 / t.optimise_seconds:.1f} images/s)"


def throughput(data: Path, out: Path, preset: str, device: torch.device, ours: Timing) -> None:
    """Print images/s at the device's batch size and, on a GPU, at 64-image batches."""
    size = batch_size_for(get_preset(preset), device)
    chosen = ours if size == 64 else warm_and_run(data, out / "chosen", preset, device, None)
    line = f"throughput: {rate(chosen)} at the device's batch size ({size})"
    if device.type == "cuda":
        line += f"; {rate(ours)} at 64-image batches (target >= 100 images/s)"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=None,
                        help="test images (default: 64, or the device's batch size when larger)")
    parser.add_argument("--preset", default="contact")
    parser.add_argument("--device", default=None, help="auto | cpu | cuda (default: $HOIRECON_DEVICE, else auto)")
    parser.add_argument("--compile", action="store_true", help="also time the default schedule compiled")
    parser.add_argument("--skip-reference", action="store_true", help="time the default schedule only")
    args = parser.parse_args()
    device = resolve_device(args.device, "--device")
    images = args.images or max(64, batch_size_for(get_preset(args.preset), device))
    print(f"fit on {describe(device)}, load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        data = generate(Path(tmp) / "ds", SynthConfig(categories=("baseball_bat",), train=64, test=images,
                                                      image_size=160))
        ours = warm_and_run(data, Path(tmp) / "ours", args.preset, device)
        print(f"default schedule:   {ours.seconds:.3f} s/image ({1 / ours.seconds:.1f} images/s), "
              f"object translation error {ours.error_cm:.1f} cm")
        throughput(data, Path(tmp), args.preset, device, ours)
        if args.compile:
            fast = warm_and_run(data, Path(tmp) / "compiled", args.preset, device, compile=True)
            print(f"compiled loss:      {fast.seconds:.3f} s/image ({rate(fast)}), object translation error "
                  f"{fast.error_cm:.1f} cm; compiled/eager time {fast.seconds / ours.seconds:.3f}, optimisation "
                  f"alone {fast.optimise_seconds / ours.optimise_seconds:.3f}; warm-up (compilation) {fast.warm_up:.0f} s "
                  f"vs {ours.warm_up:.0f} s eager")
        print(f"load average {os.getloadavg()[0]:.1f} after the default schedule")
        if args.skip_reference:
            return
        reference = run(data, Path(tmp) / "ref", args.preset, device, object_steps=4000, joint_steps=1000)
    print(f"reference schedule: {reference.seconds:.3f} s/image, object translation error {reference.error_cm:.1f} cm")
    print(f"speed-up x{reference.seconds / ours.seconds:.1f}; error ratio ours/reference "
          f"{ours.error_cm / reference.error_cm:.3f} (targets: <= 0.1 s/image on 2 CPU cores, error ratio <= 1.0)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
