"""Out-of-core exact grouping vs in-memory exact: seconds and peak memory.

Run: ``python bench/bench_chunked_grouping.py [--n 10000 20000] [--chunk 2048] [--repeats 2] [--probe 100000]``.

The synthetic interactions of ``bench_grouping.py`` (22 SMPL joints + 8 object keypoints, so
``x25d`` is ``(N, 31, 3)`` float32) are saved to a ``.npy`` file, then grouped with k = 16 in a
fresh process each: in memory (``group_images`` with ``method="exact"`` on the loaded array) and
out of core (``group_images_chunked`` on the file). Reported: seconds, the peak resident memory
above the process's memory before loading the data (``VmHWM`` minus ``VmRSS``; not ``ru_maxrss``,
which after a fork and exec can hold the parent's peak), their ratios, and whether the two
groupings are identical. With ``--repeats R`` the pair runs R times in alternating order and the
fastest run of each counts (the machine is shared). ``--probe N`` also runs the out-of-core
search on N images for its first query block only: that block already streams every candidate
block, so its peak is the whole run's, and it shows the peak does not grow with N.
glibc keeps freed heap blocks, which adds allocator noise to the peaks;
``MALLOC_MMAP_THRESHOLD_=1048576`` in the environment brings them closer to the memory in use.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hoirecon.prior.grouping.chunked import group_images_chunked
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.synthetic import synthetic_interactions

CONFIG = GroupingConfig(k=16, method="exact")


class _Stop(Exception):
    """Ends a probe run after its first query block."""


def _status_mb(key: str) -> float:
    """A memory figure of this process from ``/proc/self/status`` (MB): VmRSS now, VmHWM peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stop(done: int, total: int) -> None:
    raise _Stop


def measure(mode: str, path: str, chunk: int, probe: bool = False, device: str = "cpu") -> dict:
    """Group the rows in ``path`` in this (fresh) process; seconds, extra peak MB, the result."""
    base = _status_mb("VmRSS")
    start = time.perf_counter()
    grouping = None
    if mode == "memory":
        grouping = group_images(torch.from_numpy(np.load(path)), CONFIG, device="cpu")
    else:
        with tempfile.TemporaryDirectory() as work, contextlib.suppress(_Stop):
            grouping = group_images_chunked(path, CONFIG, chunk, work, callback=_stop if probe else None, device=device)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "extra_mb": _status_mb("VmHWM") - base,
            "neighbours": None if grouping is None else grouping.neighbours.numpy(),
            "distances": None if grouping is None else grouping.distances.numpy()}


def in_fresh_process(*args: object) -> dict:
    """Run :func:`measure` in a new process, so that its peak memory is its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, args)


def compare(path: str, chunk: int, repeats: int, device: str = "cpu") -> tuple[dict, dict]:
    """In-memory and chunked runs, ``repeats`` times in alternating order; the fastest of each."""
    runs: dict[str, list[dict]] = {"memory": [], "chunked": []}
    for r in range(repeats):
        for mode in ("memory", "chunked") if r % 2 == 0 else ("chunked", "memory"):
            runs[mode].append(in_fresh_process(mode, path, chunk, False, device))
    return tuple(min(runs[mode], key=lambda run: run["seconds"]) for mode in ("memory", "chunked"))


def write_rows(n: int, folder: Path, seed: int = 0) -> str:
    """Synthetic ``x25d (n, 31, 3)`` saved as ``.npy``; returns the path."""
    data = synthetic_interactions(n, object_keypoints=8, n_clusters=max(1, n // 100),
                                  jitter=0.03, pixel_noise=0.002, seed=seed)
    path = folder / f"x25d_{n}.npy"
    np.save(path, data.x25d.numpy())
    return str(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="*", default=[10000], help="numbers of images (none: only the probe)")
    parser.add_argument("--chunk", type=int, default=2048, help="images per block of the out-of-core run")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each method (alternating order)")
    parser.add_argument("--probe", type=int, default=0, help="also measure one query block at this N")
    parser.add_argument("--device", default="cpu", help="where the chunked search runs (cpu, cuda)")
    args = parser.parse_args(argv)
    print(f"exact grouping, k={CONFIG.k}, chunk={args.chunk}, torch threads={torch.get_num_threads()}, "
          f"chunked on {args.device}, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        for n in args.n:
            path = write_rows(n, Path(folder))
            memory, chunked = compare(path, args.chunk, args.repeats, args.device)
            same = (np.array_equal(memory["neighbours"], chunked["neighbours"])
                    and np.array_equal(memory["distances"], chunked["distances"]))
            print(f"N={n:>7}  in memory: {memory['seconds']:6.1f} s {memory['extra_mb']:7.0f} MB | "
                  f"chunked: {chunked['seconds']:6.1f} s {chunked['extra_mb']:7.0f} MB | "
                  f"time x{chunked['seconds'] / memory['seconds']:.2f}, "
                  f"memory x{chunked['extra_mb'] / memory['extra_mb']:.3f}, identical: {same}")
        if args.probe:
            path = write_rows(args.probe, Path(folder))
            probe = in_fresh_process("chunked", path, args.chunk, True, args.device)
            print(f"N={args.probe:>7}  chunked, first block of {args.chunk}: {probe['seconds']:6.1f} s "
                  f"{probe['extra_mb']:7.0f} MB peak (the whole run's peak; in memory needs the "
                  f"full matrix, Pluecker lines and float64 refinement at once)")


if __name__ == "__main__":
    main()
