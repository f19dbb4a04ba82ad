"""Time KNN grouping and measure its recall (run: ``python bench/bench_grouping.py [--n 10000 100000] [--device cuda]``).

Synthetic clustered interactions (22 SMPL joints + 8 object keypoints; ~100 images per cluster,
3 cm jitter, random cameras 2-5 m away) are grouped with k = 16 by the approximate method
(in-house NN-descent by default) and, for a random subset of queries, by exact search.
Reported per N: seconds of the approximate grouping (end to end: search, exclusions, final
float64 distances, weights), seconds of exact search for the query subset and that figure
extrapolated to all N queries, and recall@16 of the approximate neighbours against the exact
ones. Target: 100k images in <= 10 min on 2 cores with recall >= 0.9. With ``--device cuda`` both
searches run on the GPU (after a small warm-up run, so that CUDA start-up is not timed), and the
device and the peak device memory of the grouping are printed.
"""

from __future__ import annotations

import argparse
import time

import torch

from hoirecon.device import describe, resolve_device
from hoirecon.prior.grouping.knn import GroupingConfig, group_images, recall_at_k
from hoirecon.prior.grouping.search import exact_knn
from hoirecon.prior.synthetic import synthetic_interactions

K = 16
TARGET_SECONDS_100K = 600.0
TARGET_RECALL = 0.9


def run(n: int, queries: int, method: str, seed: int = 0, device: torch.device | None = None) -> dict:
    """Group ``n`` synthetic images on ``device`` (default: the CPU); return timings and recall@16
    on ``queries`` images."""
    device = device or torch.device("cpu")
    data = synthetic_interactions(n, object_keypoints=8, n_clusters=max(1, n // 100),
                                  jitter=0.03, pixel_noise=0.002, seed=seed)
    rows = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:queries].sort().values
    start = time.perf_counter()
    exact, _ = exact_knn(data.x25d, K, queries=rows, device=device)
    exact_seconds = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    grouping = group_images(data.x25d, GroupingConfig(k=K, method=method, max_distance=None), device=device)
    approx_seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"n": n, "method": method, "seconds": approx_seconds, "peak_mb": peak,
            "exact_subset_seconds": exact_seconds, "queries": len(rows),
            "exact_all_seconds_estimate": exact_seconds * n / max(len(rows), 1),
            "recall": recall_at_k(grouping.neighbours[rows], exact)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10000], help="numbers of images")
    parser.add_argument("--queries", type=int, default=500, help="queries checked against exact search")
    parser.add_argument("--method", default="nndescent", choices=["nndescent", "pynndescent", "exact"])
    parser.add_argument("--device", default="cpu", help="where the searches run: cpu, cuda or cuda:N")
    args = parser.parse_args(argv)
    device = resolve_device(args.device, "--device")
    on = "" if device.type == "cpu" else f", device {describe(device)}"
    print(f"KNN grouping, k={K}, torch threads={torch.get_num_threads()}{on}")
    if device.type != "cpu":
        run(1000, 10, args.method, device=device)  # warm-up: CUDA start-up and first kernel loads
    for n in args.n:
        r = run(n, args.queries, args.method, device=device)
        print(f"N={r['n']:>7}  {r['method']}: {r['seconds']:7.1f} s  recall@{K}={r['recall']:.3f}  "
              f"| exact: {r['exact_subset_seconds']:.1f} s for {r['queries']} queries "
              f"(~{r['exact_all_seconds_estimate']:.0f} s for all)"
              + ("" if r["peak_mb"] is None else f"  | peak device memory {r['peak_mb']:.0f} MB"))
    print(f"target: N=100000 in <= {TARGET_SECONDS_100K:.0f} s with recall >= {TARGET_RECALL}")


if __name__ == "__main__":
    main()
