"""Scale-out throughput on this machine: prior training with 1 vs 2 processes (torchrun, gloo)
and dataset fitting with the local backend vs 1 and 2 Ray workers. Prints figures and ratios.

    python bench/bench_scale.py [--train-images 4096] [--fit-images 32] [--skip-fit] [--skip-train]

Training is timed inside the workers over epochs 2.. (the first epoch pays for start-up), validation
included;
fitting is timed from submission to the last written batch, with Ray and its workers started.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_worker(images: int, epochs: int, out: Path) -> None:
    """Runs under torchrun (or alone): trains a paper-size flow and reports vectors/s from rank 0."""
    import torch

    from hoirecon.prior import FlowConfig, TrainConfig
    from hoirecon.prior.distributed import shutdown
    from hoirecon.prior.grouping.knn import GroupingConfig
    from hoirecon.prior.synthetic import synthetic_interactions
    from hoirecon.prior.train import train_prior

    torch.set_num_threads(1)
    data = synthetic_interactions(images, object_keypoints=8, pixel_noise=0.002)
    config = TrainConfig(flow=FlowConfig(depth=8, width=512), grouping=GroupingConfig(k=8), epochs=epochs,
                         batch_size=64, neighbours_per_step=8, val_fraction=0.05, patience=None)
    distributed = "WORLD_SIZE" in os.environ
    result = train_prior(data.x25d, data.observations, None, config, out, distributed=distributed)
    if distributed:
        shutdown()
    if int(os.environ.get("RANK", "0")) == 0:
        rows = [json.loads(line) for line in Path(result.metrics_path).read_text().splitlines()]
        seconds = rows[-1]["seconds"] - rows[0]["seconds"]  # cumulative; skip epoch 1
        vectors = (len(rows) - 1) * round(images * (1 - config.val_fraction)) * (1 + config.neighbours_per_step)
        (out.parent / "throughput.json").write_text(json.dumps({"vectors_per_s": vectors / seconds}))


def measure_train(processes: int, images: int, epochs: int, root: Path) -> float:
    """Training vectors/s with ``processes`` torchrun processes of one thread each."""
    work = root / f"train{processes}"
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
           f"--master_port={_free_port()}", __file__, "--train-worker", str(images), str(epochs),
           str(work / "prior.pt")]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads((work / "throughput.json").read_text())["vectors_per_s"]


def _warm_worker() -> int:
    import hoirecon.fitting.pipeline  # noqa: F401 - the import is what a worker's first task pays for

    return os.getpid()


def measure_fit(images: int, root: Path) -> dict[str, float]:
    """Fitted images/s: local backend (1 thread) and Ray with 1 and 2 workers."""
    import ray
    import torch

    from hoirecon.data import load_dataset
    from hoirecon.data.synthetic.generator import SynthConfig, generate
    from hoirecon.fitting.optimize import get_preset
    from hoirecon.fitting.pipeline import fit_split, load_context
    from hoirecon.fitting.ray_backend import RayConfig, fit_split_ray

    data = load_dataset(generate(root / "data", SynthConfig(categories=("baseball_bat",), train=0, test=images,
                                                            seed=0, image_size=128, workers=1)))
    ctx = load_context(data, "baseball_bat", replace(get_preset("none"), batch_size=8), None, None)
    samples = list(data.samples("baseball_bat", "test"))
    torch.set_num_threads(1)
    start = time.perf_counter()
    fit_split(ctx, samples, root / "local", "baseball_bat")
    out = {"local": images / (time.perf_counter() - start)}
    for workers in (1, 2):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        try:
            warm = ray.remote(num_cpus=1)(_warm_worker)
            ray.get([warm.remote() for _ in range(workers)])
            start = time.perf_counter()
            fit_split_ray(ctx, samples, root / f"ray{workers}", "baseball_bat", config=RayConfig(workers=workers))
            out[f"ray{workers}"] = images / (time.perf_counter() - start)
        finally:
            ray.shutdown()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-images", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fit-images", type=int, default=32)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-fit", action="store_true")
    parser.add_argument("--train-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_worker:
        images, epochs, out = args.train_worker
        return train_worker(int(images), int(epochs), Path(out))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if not args.skip_train:
            one, two = (measure_train(p, args.train_images, args.epochs, root) for p in (1, 2))
            print(f"train (depth 8, width 512, batch 64, {args.train_images} images): "
                  f"1 process {one:,.0f} vectors/s, 2 processes {two:,.0f} vectors/s, ratio {two / one:.2f}")
        if not args.skip_fit:
            fit = measure_fit(args.fit_images, root)
            print(f"fit ({args.fit_images} bat images, preset none, batch 8): local {fit['local']:.2f} img/s, "
                  f"ray 1 worker {fit['ray1']:.2f}, ray 2 workers {fit['ray2']:.2f}; "
                  f"ratio 2/1 workers {fit['ray2'] / fit['ray1']:.2f}, ray 1 worker / local {fit['ray1'] / fit['local']:.2f}")


if __name__ == "__main__":
    main()
