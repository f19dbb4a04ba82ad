"""Training throughput of the prior (run: ``python bench/bench_flow.py``).

Times full training steps (encoder + flow forward, backward, Adam; augmentation and batch
assembly included) of the paper-sized flow (depth 8, width 512, 256-d keypoint condition) on
2.5D vectors of 22 SMPL joints + 8 object keypoints (D = 93), 256 vectors per step, in two
layouts: 256 images with one target each, and 32 images with their own vector + 7 neighbours
(the training default; the condition is then computed once per image). Reports samples
(2.5D vectors) per second for the median and the fastest timed step after a warm-up (on a
shared machine the fastest step is the better estimate of what the code can do). In the same run,
a plain hand-written conditional Glow of the same size (``bench/plain_glow.py``: no augmentation, one
target per image) is timed on the same vectors and the ratio printed. ``--device cuda`` runs both on a
GPU (timings synchronise the device) and ``--vectors`` sets the vectors per step (e.g. 1024 32768).
Targets: >= 4,000/s on 2 cores at 256 vectors; on one data-centre GPU >= 100,000/s at 1,024 and
>= 1,000,000/s at 32,768.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from plain_glow import PlainGlow

from hoirecon.device import describe, resolve_device, synchronize
from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.layout import KeypointLayout
from hoirecon.prior.prior import Prior
from hoirecon.prior.synthetic import synthetic_interactions
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.train_step import make_optimizer, train_step
from hoirecon.prior.training_set import TrainingSet

TARGET = 4000.0
VECTORS_PER_STEP = 256


def _data(images: int):
    data = synthetic_interactions(max(2048, images), object_keypoints=8, n_clusters=20, jitter=0.03, seed=0)
    return data, group_images(data.x25d, GroupingConfig(k=8, method="nndescent" if len(data.x25d) > 20000 else "auto"))


def _rates(step, vectors: int, repeats: int, device: torch.device) -> tuple[float, float]:
    """Samples/s of ``step()`` (median, fastest) after 3 warm-up steps, the device synchronised per timing."""
    times = []
    for i in range(repeats + 3):
        synchronize(device)
        start = time.perf_counter()
        step()
        synchronize(device)
        if i >= 3:
            times.append(time.perf_counter() - start)
    return vectors / statistics.median(times), vectors / min(times)


def throughput(images: int, per_image: int, repeats: int, depth: int, width: int,
               device: torch.device) -> tuple[float, float]:
    """Training samples/s (median step, fastest step) with ``images`` x (1 + ``per_image``)
    vectors per step."""
    data, grouping = _data(images)
    config = TrainConfig(flow=FlowConfig(depth=depth, width=width), encoder=EncoderConfig(),
                         neighbours_per_step=per_image)
    prior = Prior(config.flow, config.encoder, KeypointLayout.for_object(8)).to(device)
    optimizer = make_optimizer(prior, config.lr)
    training = TrainingSet(data.x25d, data.observations, grouping).to(device)
    generator = torch.Generator(device=device).manual_seed(0)

    def step() -> None:
        rows = torch.randint(0, len(training), (images,), generator=generator, device=device)
        train_step(prior, optimizer, training, rows, config, generator)

    return _rates(step, images * (1 + per_image), repeats, device)


def plain_throughput(vectors: int, repeats: int, depth: int, width: int, device: torch.device) -> tuple[float, float]:
    """Samples/s of the plain Glow (median, fastest) with ``vectors`` images per step."""
    data, _ = _data(vectors)
    x, obs = data.x25d.flatten(1).to(device), data.observations.to(device)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-3)
    model = PlainGlow(x.shape[1], obs.shape[1], depth, width).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    generator = torch.Generator(device=device).manual_seed(0)

    def step() -> None:
        rows = torch.randint(0, len(x), (vectors,), generator=generator, device=device)
        loss = -model.log_prob(x[rows], obs[rows]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return _rates(step, vectors, repeats, device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default=None, help="auto | cpu | cuda (default: $HOIRECON_DEVICE, else auto)")
    parser.add_argument("--vectors", type=int, nargs="+", default=[VECTORS_PER_STEP], help="vectors per step")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device, "--device")
    print(f"prior training throughput: depth {args.depth}, width {args.width}, on {describe(device)}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    for vectors in args.vectors:
        plain, plain_best = plain_throughput(vectors, args.repeats, args.depth, args.width, device)
        print(f"{vectors} vectors/step; plain Glow: {plain:8.0f} samples/s (fastest step {plain_best:.0f}/s)")
        for images, per_image in ((vectors, 0), (vectors // 8, 7)):
            median, best = throughput(images, per_image, args.repeats, args.depth, args.width, device)
            print(f"  {images:>5} images x {1 + per_image} targets: {median:8.0f} samples/s "
                  f"(median step; fastest step {best:.0f}/s; x{median / plain:.2f} the plain Glow)")
    print(f"target: >= {TARGET:.0f} samples/s (load average at the end: "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())})")


if __name__ == "__main__":
    main()
