"""Timing of the evaluation metrics (run: ``python bench/bench_eval.py``).

- chamfer distance, 10k vs 10k points (target <= 20 ms on 2 CPU cores);
- 1,000 frames x 24 joints of MPJPE-PA + PCK + AUC + MPJAE + MPJAE-PA;
- the RHOBIN joint protocol (and the human protocol) on 1,000 synthetic frames, end to end
  from the pickles, with a random body model of SMPL's topology.
"""

from __future__ import annotations

import os
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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


SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
SMPL_VERTS, SMPL_FACES = 6890, 13776
BENCH_OBJECT = "barbell"
"""Built-in template (1,262 vertices) used as the object of every benchmark sequence."""


def random_smpl_arrays(seed: int) -> dict[str, np.ndarray]:
    """A random model with SMPL's topology sizes: 6,890 vertices, 13,776 faces, SMPL's
    24-joint tree, 10 shape and 207 pose blend shapes (values random, not a real body)."""
    rng = np.random.default_rng(seed)
    verts = rng.uniform([-0.3, -0.9, -0.15], [0.3, 0.8, 0.15], size=(SMPL_VERTS, 3))
    regressor = np.zeros((24, SMPL_VERTS))
    for j in range(24):
        regressor[j, rng.choice(SMPL_VERTS, size=8, replace=False)] = rng.dirichlet(np.ones(8))
    d2 = ((verts[:, None] - (regressor @ verts)[None]) ** 2).sum(-1)
    weights = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / 0.02)
    parents = np.array(SMPL_PARENTS)
    return {
        "v_template": verts, "J_regressor": regressor,
        "shapedirs": rng.normal(scale=0.01, size=(SMPL_VERTS, 3, 10)),
        "posedirs": rng.normal(scale=0.001, size=(SMPL_VERTS, 3, 207)),
        "weights": weights / weights.sum(axis=1, keepdims=True),
        "kintree_table": np.stack([np.where(parents < 0, 4294967295, parents), np.arange(24)]),
        "f": rng.integers(0, SMPL_VERTS, size=(SMPL_FACES, 3)),
    }


def random_sequence(frames: int, seed: int, gender: str) -> dict:
    """A RHOBIN sequence of valid random parameters (camera frame, object 2-3 m away)."""
    rng = np.random.default_rng(seed)
    return {
        "frames": [f"t{i:05d}.000" for i in range(frames)], "gender": gender,
        "poses": rng.normal(scale=0.2, size=(frames, 72)),
        "betas": rng.normal(scale=0.5, size=(frames, 10)),
        "trans": rng.normal(scale=0.2, size=(frames, 3)) + [0.0, 0.0, 2.5],
        "obj_rots": Rotation.random(frames, random_state=seed).as_matrix(),
        "obj_trans": rng.normal(scale=0.2, size=(frames, 3)) + [0.0, 0.0, 2.5],
        "visible_ratios": np.ones(frames),
    }


def write_rhobin_case(folder: Path, frames: int, sequences: int = 4) -> tuple[Path, Path, Path]:
    """Model folder, ref.pkl and a perturbed results.pkl with ``frames`` frames in total."""
    models = folder / "models"
    models.mkdir(parents=True)
    for k, gender in enumerate(("male", "female")):
        np.savez(models / f"SMPL_{gender.upper()}.npz", **random_smpl_arrays(k))
    per_seq = frames // sequences
    genders = ("male", "female")
    ref = {f"Date01_Sub{k:02d}_{BENCH_OBJECT}_bench": random_sequence(per_seq, k, genders[k % 2])
           for k in range(sequences)}
    rng = np.random.default_rng(99)
    pred = {}
    for name, seq in ref.items():
        noisy = {key: value for key, value in seq.items() if key != "visible_ratios"}
        noisy["poses"] = seq["poses"] + rng.normal(scale=0.05, size=seq["poses"].shape)
        noisy["obj_trans"] = seq["obj_trans"] + rng.normal(scale=0.05, size=seq["obj_trans"].shape)
        pred[name] = noisy
    for path, obj in ((folder / "ref.pkl", ref), (folder / "results.pkl", pred)):
        with open(path, "wb") as handle:
            pickle.dump(obj, handle)
    return models, folder / "ref.pkl", folder / "results.pkl"


def bench_rhobin_protocol(frames: int = 1_000) -> dict[str, float] | None:
    """Wall time (s) of the RHOBIN joint (6k samples, Procrustes, chamfer) and human protocols
    on ``frames`` synthetic frames, loading included; None without ``hoirecon.eval.protocols``.

    Data: 4 sequences of random valid SMPL parameters (72-D poses) and ``barbell`` object poses,
    posed by a random model of SMPL's topology (see :func:`random_smpl_arrays`).
    """
    try:
        from hoirecon.eval import protocols
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        models, ref, pred = write_rhobin_case(Path(tmp), frames)
        start = time.perf_counter()
        joint = protocols.evaluate_joint_files(pred, ref, models)
        middle = time.perf_counter()
        protocols.evaluate_human_files(pred, ref, models)
        end = time.perf_counter()
    assert joint.counts["scored"] == frames
    return {"joint": middle - start, "human": end - middle}


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
        print("RHOBIN protocols, 1,000 frames: skipped (hoirecon.eval.protocols not available)")
        return
    model = f"random SMPL-topology model ({SMPL_VERTS} verts), object {BENCH_OBJECT!r}"
    print(f"RHOBIN joint protocol, 1,000 frames, 6k samples/mesh ({model}): "
          f"{protocol['joint']:.1f} s ({protocol['joint']:.1f} ms/frame)")
    print(f"RHOBIN human protocol, 1,000 frames ({model}): {protocol['human']:.2f} s")


if __name__ == "__main__":
    main()
