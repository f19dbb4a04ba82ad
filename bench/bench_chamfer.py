"""Chamfer distance: ours against a plain KD-tree chamfer (scipy cKDTree), and on the GPU when there is one.

Run: ``python bench/bench_chamfer.py [--points 10000 100000] [--device cuda]``

Each size: two random point clouds of ``--points`` points (a sphere shell and a jittered copy);
times, in the same run, ``hoirecon.eval.metrics.chamfer_distance`` (KD-trees built concurrently, queries
in leaf order on all cores), a plain scipy chamfer (two ``cKDTree`` builds, two one-thread queries), and
with ``--device cuda`` a blocked ``torch.cdist`` minimum on the GPU. Prints median milliseconds, ratios to
the plain KD-tree, and the largest difference of the values (they compute the same number).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from scipy.spatial import cKDTree

from hoirecon.device import describe, resolve_device, synchronize
from hoirecon.eval.metrics import chamfer_distance


def plain_kdtree(a: np.ndarray, b: np.ndarray) -> float:
    """Chamfer with scipy's KD-tree, nothing else: build, query both ways, one thread."""
    return float(cKDTree(b).query(a, k=1)[0].mean() + cKDTree(a).query(b, k=1)[0].mean())


def torch_chamfer(a: torch.Tensor, b: torch.Tensor, block: int = 8192) -> float:
    """Brute-force chamfer on ``a.device`` in blocks of ``block`` rows (exact, O(P Q))."""
    def one_way(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.cdist(x[s:s + block], y).min(1).values for s in range(0, len(x), block)]).mean()
    return float(one_way(a, b) + one_way(b, a))


def median_ms(fn: Callable[[], float], device: torch.device, repeats: int) -> tuple[float, float]:
    """Median milliseconds of ``fn()`` after one warm-up call, and its value."""
    value = fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times), value


def clouds(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 3))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    return a, a + rng.normal(scale=0.01, size=a.shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--device", default="cpu", help="cpu, or cuda to add the GPU brute force")
    args = parser.parse_args()
    device = resolve_device(args.device, "--device")
    print(f"chamfer distance on {describe(device)}, load average {os.getloadavg()[0]:.1f}")
    for n in args.points:
        a, b = clouds(n)
        ours, value = median_ms(lambda: chamfer_distance(a, b), torch.device("cpu"), args.repeats)
        plain, plain_value = median_ms(lambda: plain_kdtree(a, b), torch.device("cpu"), args.repeats)
        line = (f"{n:>8} points: ours {ours:8.1f} ms, plain cKDTree {plain:8.1f} ms (ours x{plain / ours:.2f} faster); "
                f"|difference| {abs(value - plain_value):.1e}")
        if device.type == "cuda":
            ta, tb = torch.as_tensor(a, device=device), torch.as_tensor(b, device=device)
            gpu, gpu_value = median_ms(lambda: torch_chamfer(ta, tb), device, args.repeats)
            line += f"; GPU brute force {gpu:8.1f} ms (x{plain / gpu:.2f} the plain cKDTree), |diff| {abs(gpu_value - value):.1e}"
        print(line)


if __name__ == "__main__":
    main()
