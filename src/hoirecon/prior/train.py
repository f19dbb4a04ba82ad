"""Training a prior on arrays: weighted NLL over each image's own and neighbouring 2.5D vectors.

The loss of a step over images ``i`` with targets ``j`` (the image itself and a random subset of
its group) is ``sum_ij w_ij (-log p(x_j | f_i)) / sum_ij w_ij`` (eq. 10 with the grouping of
eq. 12), where ``f_i`` is the condition of image ``i``: neighbours are scored under the condition
of the image whose group they belong to. Augmentation flips images (with their groups) and
re-labels symmetric object keypoints; dequantisation noise is added to the targets.

Long runs are safe to interrupt: ``out/checkpoint.pt`` (model, optimiser, RNG states, counters,
best weights, metrics history) is written atomically every epoch and every ``checkpoint_every``
steps, and calling :func:`train_prior` again with the same data, config and ``out`` resumes from
it and reproduces the uninterrupted run. ``out/metrics.jsonl`` has one line per epoch;
``out/prior.pt`` is the trained prior (best validation epoch when early stopping is on).

With ``distributed=True`` the same run is data-parallel over the processes that ``torchrun``
started (see ``hoirecon.prior.distributed``): each rank takes a shard of every step's images,
gradients and metrics are summed over ranks, and only rank 0 writes files.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from hoirecon.device import DeviceLike, describe, resolve_device
from hoirecon.prior.checkpoint import (
    TrainState,
    resume_checkpoint,
    save_checkpoint,
    write_metrics,
)
from hoirecon.prior.distributed import SINGLE, init_from_env
from hoirecon.prior.grouping import Grouping, group_images
from hoirecon.prior.layout import SMPL_JOINT_COUNT, KeypointLayout
from hoirecon.prior.prior import Prior
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.train_epoch import (
    end_epoch,
    epoch_order,
    initialize_prior,
    split_rows,
)
from hoirecon.prior.train_step import make_optimizer, train_step
from hoirecon.prior.training_set import TrainingSet, check_training_inputs

logger = logging.getLogger(__name__)


@dataclass
class Progress:
    """What a progress callback is told after every step and every epoch.

    The training NLL is read from the device only when asked for (:attr:`train_nll`): a callback
    that just moves a progress bar does not make a GPU run wait for every step.
    """

    phase: str
    """'step' or 'epoch'."""
    epoch: int
    """Epochs completed."""
    epochs: int
    """Epochs planned."""
    step: int
    """Steps completed (over the whole run)."""
    total_steps: int
    """Steps planned."""
    nll_sums: tuple[Tensor | float, Tensor | float]
    """Weighted NLL sum and weight sum of the current (or just finished) epoch so far."""
    val_nll: float | None = None
    """Validation NLL (only in 'epoch' events with a validation split)."""

    @property
    def train_nll(self) -> float:
        """Mean weighted training NLL of the current (or just finished) epoch so far."""
        return float(self.nll_sums[0]) / max(float(self.nll_sums[1]), 1e-12)


@dataclass
class TrainResult:
    """Outcome of :func:`train_prior`."""

    prior_path: Path
    """The trained prior (load with load_prior)."""
    metrics_path: Path
    """JSON lines, one per epoch: epoch, step, train_nll, val_nll, val_nll_own, seconds."""
    checkpoint_path: Path
    """Last checkpoint (resumable)."""
    epochs: int
    """Epochs completed."""
    steps: int
    """Optimiser steps completed."""
    best_epoch: int | None
    """Epoch (1-based) whose weights were kept, None without validation."""
    best_val_nll: float | None
    """Its validation NLL."""
    stopped_early: bool
    """Whether early stopping ended the run."""
    history: list[dict]
    """The metrics log lines."""


def _grouping_for(x25d: Tensor, grouping: Grouping | None, config: TrainConfig, out: Path,
                  video: Tensor | None, frame: Tensor | None, device: torch.device) -> Grouping | None:
    """The grouping to train with: given, cached in ``out``, or computed on ``device`` (and cached)."""
    if grouping is not None or config.supervision != "2d-knn":
        return grouping
    cached = out / "grouping.npz"
    key = {"x25d_sum": float(x25d.double().sum()), "n": len(x25d), "config": asdict(config.grouping)}
    if cached.is_file():
        try:
            grouping = Grouping.load(cached)
        except (ValueError, OSError, EOFError) as error:  # a damaged cache is recomputed
            logger.warning("%s: unreadable (%s); grouping again", cached, error)
        else:
            if grouping.stats.get("key") == key:
                return grouping
            logger.warning("%s was made for other data or settings; grouping again", cached)
    grouping = group_images(x25d, config.grouping, video, frame, device=device)
    grouping.stats["key"] = key
    grouping.save(cached)
    return grouping


def _resume(path: Path, prior: Prior, optimizer: torch.optim.Optimizer, generator: torch.Generator,
            config: TrainConfig, data: TrainingSet, device: torch.device) -> tuple[TrainState, dict | None] | None:
    """Restore a checkpoint; a run's random stream lives on its device, so a checkpoint written on
    another kind of device is refused with a clear error rather than continued with another stream."""
    try:
        return resume_checkpoint(path, prior, optimizer, generator, config, data.fingerprint())
    except RuntimeError as error:
        raise ValueError(f"out: {path} was written by a run on another kind of device than {device} "
                         f"(its random generator state does not fit: {str(error)[:120]}); resume it "
                         "with the device it started on, or use a new folder") from error


def train_prior(x25d: Tensor, observations: Tensor, grouping: Grouping | None,
                config: TrainConfig, out: str | Path, layout: KeypointLayout | None = None,
                video: Tensor | None = None, frame: Tensor | None = None,
                callback: Callable[[Progress], None] | None = None,
                distributed: bool = False, features: Tensor | None = None,
                device: DeviceLike = None) -> TrainResult:
    """Train a prior; see the module docstring.

    Shapes: ``x25d (N, K + 1, 3)`` (``(N, V, K + 1, 3)`` for '3d'), ``observations (N, K, 3)``
    with ``K = 22 + t``; ``grouping`` as required by ``config.supervision``; ``layout`` names the
    object keypoints and their flip/symmetry permutations (default: t unnamed keypoints,
    identity flip); ``video``/``frame (N,)`` are used by '2d-knn' grouping; ``features (N, F)``
    are the images' backbone features, needed by image encoders.

    With ``distributed``, every process started by ``torchrun`` calls this with the same
    arguments (the process group is joined from torchrun's environment variables if needed);
    the run is data-parallel over them, only rank 0 writes files, and every rank returns the
    same result.

    ``device`` (``hoirecon.device``: 'auto', 'cpu', 'cuda', default from ``HOIRECON_DEVICE``) holds
    the model, the optimiser, the data and the batch generator; the initial weights are drawn on
    the CPU from the seed, so every device starts from the same model.
    """
    device = resolve_device(device)
    check_training_inputs(x25d, observations, grouping, config.supervision)
    world = init_from_env() if distributed else SINGLE
    if config.batch_size < world.size:
        raise ValueError(f"batch_size: expected >= {world.size} (one image per process), "
                         f"got {config.batch_size}")
    n_keypoints = observations.shape[1]
    layout = layout or KeypointLayout.for_object(max(n_keypoints - SMPL_JOINT_COUNT, 0))
    if n_keypoints < SMPL_JOINT_COUNT or layout.n_keypoints != n_keypoints:
        raise ValueError(f"observations: expected {layout.n_keypoints} keypoints "
                         f"(22 SMPL joints + {layout.n_object} object), got {n_keypoints}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    x25d, observations = x25d.float(), observations.float()
    with world.main_first():  # rank 0 computes and caches the grouping, the others read it
        grouping = _grouping_for(x25d, grouping, config, out, video, frame, device)
    data = TrainingSet(x25d, observations, grouping, config.self_weight, features).to(device)
    train_rows, val_rows = split_rows(len(data), config.val_fraction, config.seed)
    if len(train_rows) == 0:
        raise ValueError("x25d: no training images")
    with torch.random.fork_rng():  # seeded initial weights without touching the caller's RNG
        torch.manual_seed(config.seed)
        prior = Prior(config.flow, config.encoder, layout)
    prior.to(device)
    logger.info("training on %s", describe(device))
    optimizer = make_optimizer(prior, config.lr)
    generator = torch.Generator(device=device).manual_seed(config.seed + 2)
    ckpt_path, metrics_path = out / "checkpoint.pt", out / "metrics.jsonl"
    resumed = None
    if ckpt_path.is_file():
        resumed = _resume(ckpt_path, prior, optimizer, generator, config, data, device)
    state, best = resumed if resumed is not None else (TrainState(), None)
    if resumed is None:
        initialize_prior(prior, data, train_rows, config)
    world.broadcast_state(prior)  # deterministic anyway; rank 0's weights make it certain
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    started = time.perf_counter()

    sums = torch.zeros(2, dtype=torch.float64, device=device)  # this epoch's NLL and weight sums since the last flush

    def flush() -> None:
        """Add the device-side sums into ``state`` (one host synchronisation)."""
        loss, weight = sums.tolist()
        state.loss_sum, state.weight_sum = state.loss_sum + loss, state.weight_sum + weight
        sums.zero_()

    def checkpoint() -> None:
        flush()
        if world.is_main:
            save_checkpoint(ckpt_path, prior, optimizer, generator, state, best, config,
                            data.fingerprint())

    prior.train()
    while state.epoch < config.epochs and not state.stopped:
        order = epoch_order(train_rows, config.seed, state.epoch).to(device)
        for s in range(state.step_in_epoch, steps_per_epoch):
            rows = world.shard(order[s * config.batch_size:(s + 1) * config.batch_size])
            step_generator = world.generator(generator, config.seed, state.step)
            total, weight = train_step(prior, optimizer, data, rows, config, step_generator, world)
            sums += torch.stack([total.detach(), weight.detach()]).to(sums)
            state.step_in_epoch, state.step = s + 1, state.step + 1
            if state.step % config.checkpoint_every == 0:
                checkpoint()
            if callback is not None:
                callback(Progress("step", state.epoch, config.epochs, state.step, total_steps,
                                  (sums[0] + state.loss_sum, sums[1] + state.weight_sum)))
        flush()
        best = end_epoch(prior, data, val_rows, config, state, best, started, world)
        checkpoint()
        if world.is_main:
            write_metrics(metrics_path, state.history)
        last = state.history[-1]
        logger.info("epoch %d: train NLL %.3f, val NLL %s", state.epoch, last["train_nll"],
                    last.get("val_nll"))
        if callback is not None:
            callback(Progress("epoch", state.epoch, config.epochs, state.step, total_steps,
                              (last["train_nll"], 1.0), last.get("val_nll")))
    if best is not None:
        prior.load_state_dict(best)
    prior_path = out / "prior.pt"
    if world.is_main:
        prior.save(prior_path, {"supervision": config.supervision, "epochs": state.epoch,
                                "steps": state.step, "best_epoch": state.best_epoch,
                                "history": state.history})
    world.barrier()  # the other ranks return the path of a complete file
    return TrainResult(prior_path, metrics_path, ckpt_path, state.epoch, state.step,
                       state.best_epoch, state.best_val if state.best_epoch else None,
                       state.stopped, state.history)
