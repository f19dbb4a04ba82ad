"""Epoch-level bookkeeping of prior training: the train/validation split, the epoch order,
data-dependent initialisation, validation and early stopping."""

from __future__ import annotations

import copy
import time

import torch
from torch import Tensor

from hoirecon.prior.augment import dequantize
from hoirecon.prior.checkpoint import TrainState
from hoirecon.prior.distributed import SINGLE, World
from hoirecon.prior.prior import Prior
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.train_step import weighted_nll
from hoirecon.prior.training_set import TrainingSet


def split_rows(n: int, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Random train/validation split of ``n`` images -> ``(train rows, val rows)``."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = min(max(1, round(fraction * n)), n - 1) if fraction > 0 and n > 1 else 0
    return order[n_val:].sort().values, order[:n_val].sort().values


def epoch_order(rows: Tensor, seed: int, epoch: int) -> Tensor:
    """Shuffled training rows of an epoch (a function of seed and epoch only)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch + 1)
    return rows[torch.randperm(len(rows), generator=g)]


@torch.no_grad()
def initialize_prior(prior: Prior, data: TrainingSet, rows: Tensor, config: TrainConfig) -> None:
    """Input normalisation from the training targets; data-initialised actnorms."""
    g = torch.Generator(device=data.device).manual_seed(config.seed + 1)
    rows = rows.to(data.device)[torch.randperm(len(rows), generator=g, device=data.device)[:config.init_images]]
    batch = data.batch(rows, config.neighbours_per_step, g)
    flat = batch.targets[batch.weights > 0].flatten(-2)
    flat = dequantize(flat, config.dequantization, g)
    prior.flow.set_normalization(flat.mean(0), flat.std(0).clamp_min(1e-3))
    condition = prior.condition(batch.observations, batch.own, batch.features)
    own = dequantize(batch.own.flatten(-2), config.dequantization, g)
    prior.flow.initialize(own, condition)


@torch.no_grad()
def validate(prior: Prior, data: TrainingSet, rows: Tensor, batch_size: int,
              world: World = SINGLE) -> dict:
    """Weighted NLL over all neighbours, and NLL of the own vectors, on held-out images ``rows``
    (each rank scores its shard and the sums are added over ranks)."""
    prior.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=data.device)  # summed where computed: no sync per batch
    shard = world.shard(rows.to(data.device))
    for start in range(0, len(shard), batch_size):
        batch = data.batch(shard[start:start + batch_size], None, None)
        t, w, nll = weighted_nll(prior, batch)
        sums += torch.stack([t, w, nll[:, 0].sum()]).double()
    prior.train()
    sums = world.all_reduce_sum(sums)
    total, weight, own = sums.tolist()
    return {"val_nll": total / max(weight, 1e-12), "val_nll_own": own / len(rows)}


def end_epoch(prior: Prior, data: TrainingSet, val_rows: Tensor, config: TrainConfig,
               state: TrainState, best: dict | None, started: float,
               world: World = SINGLE) -> dict | None:
    """Validation, metrics record and early-stopping bookkeeping; returns the best weights."""
    record = {"epoch": state.epoch + 1, "step": state.step,
              "train_nll": state.loss_sum / max(state.weight_sum, 1e-12)}
    if len(val_rows):
        record.update(validate(prior, data, val_rows, config.batch_size, world))
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
