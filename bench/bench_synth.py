"""Synthetic data generation speed: images per second at 256x256 on this machine, and bytes per image.

Run: python bench/bench_synth.py [--images N] [--workers W]   (target: >= 20 images/s on 2 cores)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hoirecon.data.synthetic.generator import SynthConfig, generate


def measure(images: int, workers: int, size: int) -> tuple[float, float]:
    """Images per second and disk bytes per image for one fresh generation."""
    with tempfile.TemporaryDirectory() as tmp:
        config = SynthConfig(categories=("skateboard",), train=images, test=0, image_size=size, workers=workers)
        start = time.perf_counter()
        generate(Path(tmp) / "ds", config)
        seconds = time.perf_counter() - start
        files = [p for p in (Path(tmp) / "ds").rglob("*") if p.is_file() and ".parts" not in p.parts]
        return images / seconds, sum(p.stat().st_size for p in files) / images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    for workers in (1, 2):
        rate, size = measure(args.images, workers, args.size)
        print(f"synth {args.size}x{args.size}, {workers} worker(s): {rate:.1f} images/s (target >= 20), "
              f"{size / 1024:.1f} KiB per image on disk")


if __name__ == "__main__":
    main()
