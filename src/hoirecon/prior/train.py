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

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from hoirecon.prior.augment import augment_group, dequantize
from hoirecon.prior.checkpoint import TrainState, resume_checkpoint, save_checkpoint, write_metrics
from hoirecon.prior.distributed import SINGLE, World, init_from_env
from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping import Grouping, GroupingConfig, group_images
from hoirecon.prior.layout import SMPL_JOINT_COUNT, KeypointLayout
from hoirecon.prior.prior import Prior
from hoirecon.prior.training_set import SUPERVISIONS, Batch, TrainingSet, check_training_inputs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (the data aside)."""

    supervision: str = "2d-knn"
    """'2d-knn' (groups from KNN on the 2.5D vectors), '2d-gt-groups' (ground-truth groups passed
    as a Grouping) or '3d' (x25d carries ground-truth virtual views, see training_set)."""
    flow: FlowConfig = field(default_factory=FlowConfig)
    """Flow architecture; features and condition are filled in from the data and encoder."""
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    """Condition encoder ('none' trains an unconditional prior)."""
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    """KNN grouping used by '2d-knn' when no grouping is passed."""
    epochs: int = 30
    """Training epochs (paper: 30)."""
    batch_size: int = 64
    """Images per step."""
    neighbours_per_step: int = 7
    """Other views drawn per image per step (besides the image itself)."""
    self_weight: float = 1.0
    """Loss weight of an image's own 2.5D vector."""
    lr: float = 1e-4
    """Adam learning rate (paper: 1e-4)."""
    grad_clip: float | None = None
    """Clip the gradient norm to this value (None: no clipping)."""
    dequantization: float = 1e-3
    """Std of the Gaussian noise added to training targets."""
    flip_probability: float = 0.5
    """Probability of a horizontal flip per image."""
    val_fraction: float = 0.1
    """Fraction of images held out for validation and early stopping (0: none)."""
    patience: int | None = 5
    """Stop after this many epochs without a better validation NLL (None: never)."""
    checkpoint_every: int = 1000
    """Also checkpoint every this many steps (besides every epoch)."""
    init_images: int = 4096
    """Images used to compute the input normalisation and initialise actnorms."""
    seed: int = 0
    """Seed of the split, the batch order, the augmentations and the initial weights."""

    def __post_init__(self) -> None:
        if self.supervision not in SUPERVISIONS:
            raise ValueError(f"supervision: expected one of {SUPERVISIONS}, got {self.supervision!r}")
        for name in ("epochs", "batch_size", "checkpoint_every", "init_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction: expected in [0, 1), got {self.val_fraction}")

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of ``dataclasses.asdict``."""
        nested = {"flow": FlowConfig, "encoder": EncoderConfig, "grouping": GroupingConfig}
        return cls(**{k: nested[k](**v) if k in nested else v for k, v in data.items()})


@dataclass
class Progress:
    """What a progress callback is told after every step and every epoch."""

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
    train_nll: float
    """Mean weighted training NLL of the current (or just finished) epoch so far."""
    val_nll: float | None = None
    """Validation NLL (only in 'epoch' events with a validation split)."""


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


def make_optimizer(prior: Prior, lr: float) -> torch.optim.Optimizer:
    """Adam, with the fused kernel when this torch build has it (~10% faster steps on CPU)."""
    try:
        return torch.optim.Adam(prior.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(prior.parameters(), lr=lr)


def _split(n: int, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Random train/validation split of ``n`` images -> ``(train rows, val rows)``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = min(max(1, round(fraction * n)), n - 1) if fraction > 0 and n > 1 else 0
    return order[n_val:].sort().values, order[:n_val].sort().values


def _epoch_order(rows: Tensor, seed: int, epoch: int) -> Tensor:
    """Shuffled training rows of an epoch (a function of seed and epoch only)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch + 1)
    return rows[torch.randperm(len(rows), generator=g)]


@torch.no_grad()
def _initialize(prior: Prior, data: TrainingSet, rows: Tensor, config: TrainConfig) -> None:
    """Input normalisation from the training targets; data-initialised actnorms."""
    g = torch.Generator().manual_seed(config.seed + 1)
    rows = rows[torch.randperm(len(rows), generator=g)[:config.init_images]]
    batch = data.batch(rows, config.neighbours_per_step, g)
    flat = batch.targets[batch.weights > 0].flatten(-2)
    flat = dequantize(flat, config.dequantization, g)
    prior.flow.set_normalization(flat.mean(0), flat.std(0).clamp_min(1e-3))
    condition = prior.condition(batch.observations, batch.own, batch.features)
    own = dequantize(batch.own.flatten(-2), config.dequantization, g)
    prior.flow.initialize(own, condition)


def _weighted_nll(prior: Prior, batch: Batch) -> tuple[Tensor, Tensor, Tensor]:
    """Weighted NLL sum ``()``, weight sum ``()`` and per-target NLL ``(B, M)`` of a batch."""
    condition = prior.condition(batch.observations, batch.own, batch.features)
    nll = -prior.flow.log_prob(batch.targets.flatten(-2), condition.unsqueeze(1))
    nll_w = torch.where(batch.weights > 0, nll * batch.weights, 0.0)
    return nll_w.sum(), batch.weights.sum(), nll


def _train_step(prior: Prior, optimizer: torch.optim.Optimizer, data: TrainingSet, rows: Tensor,
                config: TrainConfig, generator: torch.Generator,
                world: World = SINGLE) -> tuple[float, float]:
    """One optimiser step on images ``rows`` (this rank's shard of the step's images); returns
    the step's (weighted NLL sum, weight sum) over all ranks."""
    if len(rows) == 0:  # a short last batch can leave a rank idle; it still joins the collectives
        return _apply_gradients(prior, optimizer, torch.zeros(()), torch.zeros(()), config, world)
    batch = data.batch(rows, config.neighbours_per_step, generator)
    obs, own, targets = augment_group(batch.observations, batch.own, batch.targets,
                                      prior.layout.flip_permutation(),
                                      prior.layout.symmetry_permutations(),
                                      config.flip_probability, generator)
    targets = dequantize(targets, config.dequantization, generator)
    total, weight, _ = _weighted_nll(prior, Batch(obs, own, targets, batch.weights, batch.features))
    return _apply_gradients(prior, optimizer, total, weight, config, world)


def _apply_gradients(prior: Prior, optimizer: torch.optim.Optimizer, total: Tensor, weight: Tensor,
                     config: TrainConfig, world: World) -> tuple[float, float]:
    """Optimiser step on the weighted mean NLL of the global batch, from this rank's sums ``()``.

    Each rank back-propagates its NLL sum over the weight sum ``W`` of all ranks, so the sum of
    the ranks' gradients is the gradient of ``sum(total) / W``: the single-process loss.
    Returns the global (weighted NLL sum, weight sum).
    """
    sums = world.all_reduce_sum(torch.stack([total.detach(), weight]))
    optimizer.zero_grad(set_to_none=True)
    if total.requires_grad:
        (total / sums[1].clamp_min(1e-12)).backward()
    world.sum_gradients(prior)
    if config.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(prior.parameters(), config.grad_clip)
    optimizer.step()
    return float(sums[0]), float(sums[1])


@torch.no_grad()
def _validate(prior: Prior, data: TrainingSet, rows: Tensor, batch_size: int,
              world: World = SINGLE) -> dict:
    """Weighted NLL over all neighbours, and NLL of the own vectors, on held-out images ``rows``
    (each rank scores its shard and the sums are added over ranks)."""
    prior.eval()
    total = weight = own = 0.0
    shard = world.shard(rows)
    for start in range(0, len(shard), batch_size):
        batch = data.batch(shard[start:start + batch_size], None, None)
        t, w, nll = _weighted_nll(prior, batch)
        total, weight, own = total + float(t), weight + float(w), own + float(nll[:, 0].sum())
    prior.train()
    sums = world.all_reduce_sum(torch.tensor([total, weight, own], dtype=torch.float64))
    total, weight, own = sums.tolist()
    return {"val_nll": total / max(weight, 1e-12), "val_nll_own": own / len(rows)}


def _grouping_for(x25d: Tensor, grouping: Grouping | None, config: TrainConfig, out: Path,
                  video: Tensor | None, frame: Tensor | None) -> Grouping | None:
    """The grouping to train with: given, cached in ``out``, or computed (and cached)."""
    if grouping is not None or config.supervision != "2d-knn":
        return grouping
    cached = out / "grouping.npz"
    key = {"x25d_sum": float(x25d.double().sum()), "n": len(x25d), "config": asdict(config.grouping)}
    if cached.is_file():
        grouping = Grouping.load(cached)
        if grouping.stats.get("key") == key:
            return grouping
        logger.warning("%s was made for other data or settings; grouping again", cached)
    grouping = group_images(x25d, config.grouping, video, frame)
    grouping.stats["key"] = key
    grouping.save(cached)
    return grouping


def _end_epoch(prior: Prior, data: TrainingSet, val_rows: Tensor, config: TrainConfig,
               state: TrainState, best: dict | None, started: float,
               world: World = SINGLE) -> dict | None:
    """Validation, metrics record and early-stopping bookkeeping; returns the best weights."""
    record = {"epoch": state.epoch + 1, "step": state.step,
              "train_nll": state.loss_sum / max(state.weight_sum, 1e-12)}
    if len(val_rows):
        record.update(_validate(prior, data, val_rows, config.batch_size, world))
        if record["val_nll"] < state.best_val:
            state.best_val, state.best_epoch, state.bad_epochs = record["val_nll"], state.epoch + 1, 0
            best = copy.deepcopy(prior.state_dict())
        else:
            state.bad_epochs += 1
            state.stopped = config.patience is not None and state.bad_epochs >= config.patience
        state.stopped = world.broadcast_flag(state.stopped)  # every rank stops at the same epoch
    record["seconds"] = round(time.perf_counter() - started, 3)
    state.history.append(record)
    state.epoch, state.step_in_epoch, state.loss_sum, state.weight_sum = state.epoch + 1, 0, 0.0, 0.0
    return best


def train_prior(x25d: Tensor, observations: Tensor, grouping: Grouping | None,
                config: TrainConfig, out: str | Path, layout: KeypointLayout | None = None,
                video: Tensor | None = None, frame: Tensor | None = None,
                callback: Callable[[Progress], None] | None = None,
                distributed: bool = False, features: Tensor | None = None) -> TrainResult:
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
    """
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
        grouping = _grouping_for(x25d, grouping, config, out, video, frame)
    data = TrainingSet(x25d, observations, grouping, config.self_weight, features)
    train_rows, val_rows = _split(len(data), config.val_fraction, config.seed)
    if len(train_rows) == 0:
        raise ValueError("x25d: no training images")
    with torch.random.fork_rng():  # seeded initial weights without touching the caller's RNG
        torch.manual_seed(config.seed)
        prior = Prior(config.flow, config.encoder, layout)
    optimizer = make_optimizer(prior, config.lr)
    generator = torch.Generator().manual_seed(config.seed + 2)
    ckpt_path, metrics_path = out / "checkpoint.pt", out / "metrics.jsonl"
    state, best = TrainState(), None
    if ckpt_path.is_file():
        state, best = resume_checkpoint(ckpt_path, prior, optimizer, generator, config,
                                        data.fingerprint())
    else:
        _initialize(prior, data, train_rows, config)
    world.broadcast_state(prior)  # deterministic anyway; rank 0's weights make it certain
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    started = time.perf_counter()

    def checkpoint() -> None:
        if world.is_main:
            save_checkpoint(ckpt_path, prior, optimizer, generator, state, best, config,
                            data.fingerprint())

    prior.train()
    while state.epoch < config.epochs and not state.stopped:
        order = _epoch_order(train_rows, config.seed, state.epoch)
        for s in range(state.step_in_epoch, steps_per_epoch):
            rows = world.shard(order[s * config.batch_size:(s + 1) * config.batch_size])
            step_generator = world.generator(generator, config.seed, state.step)
            total, weight = _train_step(prior, optimizer, data, rows, config, step_generator, world)
            state.loss_sum, state.weight_sum = state.loss_sum + total, state.weight_sum + weight
            state.step_in_epoch, state.step = s + 1, state.step + 1
            if state.step % config.checkpoint_every == 0:
                checkpoint()
            if callback is not None:
                callback(Progress("step", state.epoch, config.epochs, state.step, total_steps,
                                  state.loss_sum / max(state.weight_sum, 1e-12)))
        best = _end_epoch(prior, data, val_rows, config, state, best, started, world)
        checkpoint()
        if world.is_main:
            write_metrics(metrics_path, state.history)
        last = state.history[-1]
        logger.info("epoch %d: train NLL %.3f, val NLL %s", state.epoch, last["train_nll"],
                    last.get("val_nll"))
        if callback is not None:
            callback(Progress("epoch", state.epoch, config.epochs, state.step, total_steps,
                              last["train_nll"], last.get("val_nll")))
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
