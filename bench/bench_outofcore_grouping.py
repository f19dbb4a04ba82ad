"""Out-of-core NN-descent grouping at scale: time, recall@16 against exact search, and the in-memory searches.

Run: ``python bench/bench_outofcore_grouping.py --n 100000 300000 [--compare]``

Synthetic clustered interactions (22 SMPL joints + 8 object keypoints, ~100 images per cluster,
3 cm jitter; the set-up of ``bench_grouping.py``) are written to a ``.npy`` file and grouped with
k = 16 by :func:`hoirecon.prior.grouping.outofcore.group_images_outofcore` (blocks of 65,536 rows,
state saved after every round). Exact search on ``--queries`` random images gives recall@16 and an
estimate of exact search over all images (the same run, the same machine). ``--compare`` also runs the
in-memory NN-descent and pynndescent (in a subprocess: its numba kernels for a custom metric compile in
each process and sometimes fail to in a long-lived one) and prints the ratios.
Target: 1M images in <= 30 min on 2 cores with recall@16 >= 0.9.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hoirecon.prior.grouping.knn import GroupingConfig, group_images, recall_at_k
from hoirecon.prior.grouping.outofcore import group_images_outofcore
from hoirecon.prior.grouping.search import exact_knn
from hoirecon.prior.synthetic import synthetic_interactions

K = 16
PYNN = """
import sys, time, numpy as np, torch
from hoirecon.prior.grouping.search import pynndescent_knn
x = torch.from_numpy(np.load(sys.argv[1]))
t = time.perf_counter(); idx, _ = pynndescent_knn(x, {k}); s = time.perf_counter() - t
np.save(sys.argv[2], idx.numpy()); print(s)
"""


def make_rows(n: int, path: Path, seed: int = 0, block: int = 100_000) -> None:
    """Write ``n`` synthetic rows ``(n, 31, 3)`` to ``path``, generated a block of clusters at a time."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 31, 3))
    for start in range(0, n, block):
        m = min(block, n - start)
        data = synthetic_interactions(m, object_keypoints=8, n_clusters=max(1, m // 100), jitter=0.03,
                                      pixel_noise=0.002, seed=seed + start)
        out[start:start + m] = data.x25d.numpy()
    out.flush()


def pynndescent_seconds(rows: Path, work: Path) -> tuple[float, np.ndarray] | None:
    """Seconds and neighbours of pynndescent in a fresh process, or None when it fails there."""
    result = subprocess.run([sys.executable, "-c", PYNN.format(k=K), str(rows), str(work / "pynn.npy")],
                            capture_output=True, text=True, env=os.environ.copy())
    if result.returncode != 0:
        print(f"  pynndescent failed: {result.stderr.strip().splitlines()[-1:]}")
        return None
    return float(result.stdout.strip().splitlines()[-1]), np.load(work / "pynn.npy")


def run(n: int, queries: int, compare: bool, work: Path) -> None:
    rows_path = work / f"x25d-{n}.npy"
    make_rows(n, rows_path)
    sample = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:queries].sort().values
    rows = np.load(rows_path, mmap_mode="r")
    start = time.perf_counter()
    exact, _ = exact_knn(torch.from_numpy(np.array(rows)), K, queries=sample)
    exact_all = (time.perf_counter() - start) * n / queries
    config = GroupingConfig(k=K, max_distance=None)
    start = time.perf_counter()
    grouping = group_images_outofcore(rows_path, config, work / f"work-{n}")
    seconds = time.perf_counter() - start
    recall = recall_at_k(grouping.neighbours[sample], exact)
    print(f"N={n:>8}  out-of-core nn-descent: {seconds:8.1f} s  recall@{K}={recall:.3f}  "
          f"| exact search ~{exact_all:.0f} s for all ({exact_all / seconds:.1f}x slower)")
    if compare:
        start = time.perf_counter()
        memory = group_images(torch.from_numpy(np.array(rows)), GroupingConfig(k=K, method="nndescent", max_distance=None))
        mem_s = time.perf_counter() - start
        print(f"           in-memory nn-descent: {mem_s:8.1f} s  recall@{K}="
              f"{recall_at_k(memory.neighbours[sample], exact):.3f}  (out-of-core / in-memory time {seconds / mem_s:.2f})")
        pynn = pynndescent_seconds(rows_path, work)
        if pynn is not None:
            print(f"           pynndescent:          {pynn[0]:8.1f} s  recall@{K}="
                  f"{recall_at_k(torch.from_numpy(pynn[1][sample.numpy()]), exact):.3f}  "
                  f"(out-of-core / pynndescent time {seconds / pynn[0]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--compare", action="store_true", help="also in-memory NN-descent and pynndescent")
    args = parser.parse_args()
    print(f"out-of-core grouping, k={K}, torch threads={torch.get_num_threads()}, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            run(n, args.queries, args.compare, Path(tmp))
    print("target: N=1,000,000 in <= 1800 s with recall@16 >= 0.9")


if __name__ == "__main__":
    main()
