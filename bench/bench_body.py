"""Time the body model forward pass against the reference `smplx` package.

Builds a random SMPL-format model (V=6890, J=24, 10 betas, 207 pose correctives) in a
temporary folder, loads it with both implementations and times a batch-64 forward pass
(median of repeats after a warm-up) with and without an autograd graph, plus a
forward + backward pass. Target: ours / smplx <= 1.0.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from hoirecon.body import load_body_model

BATCH = 64
REPEATS = 30
WARMUP = 5
TARGET_RATIO = 1.0
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
                20, 21]


def write_random_smpl(folder: Path, seed: int = 0) -> Path:
    """Write a random SMPL-format pickle (real sizes, sparse-ish weights) and return it."""
    rng = np.random.default_rng(seed)
    n_verts, n_joints = 6890, len(SMPL_PARENTS)
    v_template = rng.uniform([-0.3, -0.85, -0.15], [0.3, 0.85, 0.15], size=(n_verts, 3))
    regressor = np.zeros((n_joints, n_verts))
    for j in range(n_joints):
        regressor[j, rng.choice(n_verts, 8, replace=False)] = 1.0 / 8
    weights = np.zeros((n_verts, n_joints))
    for _ in range(4):  # up to four influences per vertex, like SMPL
        weights[np.arange(n_verts), rng.integers(0, n_joints, n_verts)] += rng.uniform(size=n_verts)
    weights /= weights.sum(1, keepdims=True)
    table = np.stack([np.array(SMPL_PARENTS) % 4294967296, np.arange(n_joints)])
    model = {"v_template": v_template, "weights": weights, "J_regressor": regressor,
             "shapedirs": rng.normal(scale=0.01, size=(n_verts, 3, 10)),
             "posedirs": rng.normal(scale=0.01, size=(n_verts, 3, 207)),
             "kintree_table": table, "f": rng.integers(0, n_verts, size=(13776, 3))}
    path = folder / "SMPL_NEUTRAL.pkl"
    with open(path, "wb") as handle:
        pickle.dump(model, handle, protocol=2)
    return path


def random_inputs(batch: int, seed: int = 0, grad: bool = False) -> dict[str, torch.Tensor]:
    """Random SMPL betas, pose (69-d body pose) and translation for `batch` bodies."""
    gen = torch.Generator().manual_seed(seed)
    inputs = {"betas": torch.randn(batch, 10, generator=gen),
              "global_orient": 0.5 * torch.randn(batch, 3, generator=gen),
              "body_pose": 0.5 * torch.randn(batch, 69, generator=gen),
              "transl": torch.randn(batch, 3, generator=gen)}
    return {k: v.requires_grad_(grad) for k, v in inputs.items()}


def time_ms(fns: dict[str, Callable[[], object]], repeats: int = REPEATS,
            warmup: int = WARMUP) -> dict[str, tuple[float, float]]:
    """(median, min) wall time in ms of each function, called in turn on every repeat so
    that load from other processes hits all of them alike; `warmup` rounds first."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(1e3 * (time.perf_counter() - start))
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def _modes(model: torch.nn.Module) -> dict[str, Callable[[], object]]:
    """Three ways to run one model: no_grad, graph-building, and forward + backward."""
    plain, tracked = random_inputs(BATCH), random_inputs(BATCH, grad=True)

    def no_grad() -> None:
        with torch.no_grad():
            model(**plain)

    def backward() -> None:
        out = model(**tracked)
        (out.vertices.square().sum() + out.joints.square().sum()).backward()

    return {"forward (no_grad)": no_grad, "forward (autograd)": lambda: model(**tracked),
            "forward + backward": backward}


def bench_body_forward(folder: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """Time our body model and smplx's (when installed) on the same random SMPL file:
    {(implementation, mode): (median ms, min ms)}."""
    path = write_random_smpl(folder)
    models = {"ours": load_body_model(path)}
    try:
        import smplx
    except ImportError:
        smplx = None
    if smplx is not None:
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a size warning
            models["smplx"] = smplx.SMPL(model_path=str(path), batch_size=BATCH)
    fns = {(who, mode): fn for who, model in models.items()
           for mode, fn in _modes(model).items()}
    return time_ms(fns)


def report_body_forward() -> None:
    """Run the body benchmark; print ours, smplx's and the ratio per mode."""
    with tempfile.TemporaryDirectory() as tmp:
        results = bench_body_forward(Path(tmp))
    print(f"body forward, SMPL V=6890, batch {BATCH}, {torch.get_num_threads()} threads, "
          f"median (min) of {REPEATS}:")
    for (who, mode), (med, low) in results.items():
        if who != "ours":
            continue
        line = f"  {mode:20s} ours {med:7.2f} ({low:6.2f}) ms"
        if ("smplx", mode) in results:
            ref_med, ref_low = results["smplx", mode]
            ratio = med / ref_med
            verdict = "OK" if ratio <= TARGET_RATIO else "SLOWER"
            line += (f"   smplx {ref_med:7.2f} ({ref_low:6.2f}) ms   "
                     f"ours/smplx {ratio:.2f} [{verdict}]")
        print(line)


def main() -> None:
    """Run every benchmark of this script."""
    report_body_forward()


if __name__ == "__main__":
    main()
