"""Training throughput of the prior (run: ``python bench/bench_flow.py``).

Times full training steps (encoder + flow forward, backward, Adam; augmentation and batch
assembly included) of the paper-sized flow (depth 8, width 512, 256-d keypoint condition) on
2.5D vectors of 22 SMPL joints + 8 object keypoints (D = 93), 256 vectors per step, in two
layouts: 256 images with one target each, and 32 images with their own vector + 7 neighbours
(the training default; the condition is then computed once per image). Reports samples
(2.5D vectors) per second for the median and the fastest timed step after a warm-up (on a
shared machine the fastest step is the better estimate of what the code can do). Target:
>= 4,000/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

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


def throughput(images: int, per_image: int, repeats: int, depth: int, width: int) -> tuple[float, float]:
    """Training samples/s (median step, fastest step) with ``images`` x (1 + ``per_image``)
    vectors per step."""
    data = synthetic_interactions(2048, object_keypoints=8, n_clusters=20, jitter=0.03, seed=0)
    grouping = group_images(data.x25d, GroupingConfig(k=8))
    config = TrainConfig(flow=FlowConfig(depth=depth, width=width), encoder=EncoderConfig(),
                         neighbours_per_step=per_image)
    prior = Prior(config.flow, config.encoder, KeypointLayout.for_object(8))
    optimizer = make_optimizer(prior, config.lr)
    training = TrainingSet(data.x25d, data.observations, grouping)
    generator = torch.Generator().manual_seed(0)
    times = []
    for i in range(repeats + 3):
        rows = torch.randint(0, len(training), (images,), generator=generator)
        start = time.perf_counter()
        train_step(prior, optimizer, training, rows, config, generator)
        if i >= 3:
            times.append(time.perf_counter() - start)
    vectors = images * (1 + per_image)
    return vectors / statistics.median(times), vectors / min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"prior training throughput: depth {args.depth}, width {args.width}, "
          f"{VECTORS_PER_STEP} vectors/step, torch threads={torch.get_num_threads()}")
    for images, per_image in ((VECTORS_PER_STEP, 0), (VECTORS_PER_STEP // 8, 7)):
        median, best = throughput(images, per_image, args.repeats, args.depth, args.width)
        print(f"  {images:>3} images x {1 + per_image} targets: {median:8.0f} samples/s "
              f"(median step; fastest step {best:.0f}/s)")
    print(f"target: >= {TARGET:.0f} samples/s (load average at the end: "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())})")


if __name__ == "__main__":
    main()
