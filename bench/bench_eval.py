"""Timing of the evaluation metrics (run: ``python bench/bench_eval.py``).

- chamfer distance, 10k vs 10k points (target <= 20 ms on 2 CPU cores);
- 1,000 frames x 24 joints of MPJPE-PA + PCK + AUC + MPJAE + MPJAE-PA;
- the RHOBIN human protocol on 1,000 frames (placeholder until protocols exist).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.eval import metrics

CHAMFER_TARGET_MS = 20.0


def median_ms(fn: Callable[[], object], repeats: int = 15, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def bench_chamfer(n_points: int = 10_000) -> float:
    """Median time of one chamfer distance between two n_points clouds, ms."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n_points, 3)), rng.normal(size=(n_points, 3))
    return median_ms(lambda: metrics.chamfer_distance(a, b))


def bench_human_metrics(frames: int = 1_000, joints: int = 24) -> float:
    """Median time of MPJPE-PA + PCK + AUC + MPJAE + MPJAE-PA over all frames, ms."""
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(frames, joints, 3)) * 300.0
    pred = gt + rng.normal(size=gt.shape) * 40.0
    shape = (frames, joints, 3, 3)
    gt_rots = Rotation.random(frames * joints, random_state=2).as_matrix().reshape(shape)
    pred_rots = Rotation.random(frames * joints, random_state=3).as_matrix().reshape(shape)

    def run() -> None:
        metrics.mpjpe_pa(pred, gt)
        metrics.pck(pred, gt, metrics.PCK_THRESHOLD_MM)
        metrics.auc(pred, gt, metrics.AUC_MAX_MM)
        metrics.mpjae(pred_rots, gt_rots)
        metrics.mpjae_pa(pred_rots, gt_rots, pred, gt)

    return median_ms(run, repeats=7)


def bench_rhobin_protocol(frames: int = 1_000) -> float | None:
    """Median time of the full RHOBIN human protocol on ``frames`` frames, ms.

    Returns None until ``hoirecon.eval.protocols`` exists; fill this in with a call of its
    RHOBIN human-track entry point (joint selection, pelvis alignment, all six metrics).
    """
    try:
        from hoirecon.eval import protocols  # noqa: F401
    except ImportError:
        return None
    return None


def main() -> None:
    """Run every benchmark and print the timings next to their targets."""
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    chamfer = bench_chamfer()
    verdict = "ok" if chamfer <= CHAMFER_TARGET_MS else "SLOWER THAN TARGET"
    print(f"chamfer 10k vs 10k: {chamfer:.2f} ms (target <= {CHAMFER_TARGET_MS:.0f} ms) {verdict}")
    human = bench_human_metrics()
    print(
        f"1,000 frames x 24 joints MPJPE-PA + PCK + AUC + MPJAE + MPJAE-PA: {human:.2f} ms "
        "(no target set)"
    )
    protocol = bench_rhobin_protocol()
    if protocol is None:
        print("RHOBIN human protocol, 1,000 frames: skipped (hoirecon.eval.protocols not available)")
    else:
        print(f"RHOBIN human protocol, 1,000 frames: {protocol:.2f} ms")


if __name__ == "__main__":
    main()
