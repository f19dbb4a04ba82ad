"""Checkpoints and the metrics log of a prior training run (see ``hoirecon.prior.train``).

A checkpoint holds the model, the optimiser, the run's random generator, the counters, the best
weights so far, the config and a fingerprint of the data, and nothing that depends on the number
of processes: a run started with ``torchrun`` resumes in one process and the other way round.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from hoirecon.io.atomic import atomic_write_text
from hoirecon.prior.prior import Prior, atomic_save
from hoirecon.prior.train_config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Counters and bookkeeping saved in checkpoints (the same on every rank)."""

    epoch: int = 0
    step_in_epoch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    weight_sum: float = 0.0
    best_val: float = math.inf
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped: bool = False
    history: list[dict] = field(default_factory=list)


def save_checkpoint(path: Path, prior: Prior, optimizer: torch.optim.Optimizer,
                    generator: torch.Generator, state: TrainState, best: dict | None,
                    config: TrainConfig, fingerprint: list[float]) -> None:
    """Write everything :func:`resume_checkpoint` needs to ``path``, atomically."""
    atomic_save({"model": prior.state_dict(), "optimizer": optimizer.state_dict(),
                 "generator": generator.get_state(),
                 "state": asdict(state), "best": best, "config": asdict(config),
                 "fingerprint": fingerprint}, path)


def _comparable(config: dict) -> dict:
    """Config fields that must match to resume (the epoch budget may change)."""
    return {k: v for k, v in config.items() if k not in ("epochs", "patience")}


CHECKPOINT_KEYS = ("model", "optimizer", "generator", "state", "best", "config", "fingerprint")


def read_checkpoint(path: Path) -> dict | None:
    """A checkpoint's contents; None (after a warning, with the file removed) when it is
    truncated, corrupt or lacks a key, so the run starts over instead of trusting it."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        missing = [k for k in CHECKPOINT_KEYS if not isinstance(ckpt, dict) or k not in ckpt]
        if missing:
            raise ValueError(f"missing keys {missing}")
        TrainState(**ckpt["state"])
    except Exception as error:  # torch raises many types for a damaged file
        reason = str(error).strip().split("\n")[0].split(". ")[0][:160]
        logger.warning("%s: unreadable checkpoint (%s); removed, training starts over", path, reason)
        path.unlink(missing_ok=True)
        return None
    return ckpt


def resume_checkpoint(path: Path, prior: Prior, optimizer: torch.optim.Optimizer,
                      generator: torch.Generator, config: TrainConfig,
                      fingerprint: list[float]) -> tuple[TrainState, dict | None] | None:
    """Restore everything from a checkpoint written by :func:`save_checkpoint`.

    Returns None, leaving the arguments untouched, when the checkpoint is unreadable (see
    :func:`read_checkpoint`). Raises ``ValueError`` when it was written with another config or
    for other data.
    """
    ckpt = read_checkpoint(path)
    if ckpt is None:
        return None
    if _comparable(ckpt["config"]) != _comparable(asdict(config)):
        raise ValueError(f"out: {path} was written with a different config; use a new folder")
    if not torch.allclose(torch.tensor(ckpt["fingerprint"]), torch.tensor(fingerprint), rtol=1e-6):
        raise ValueError(f"out: {path} was written for different data; use a new folder")
    prior.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    generator.set_state(ckpt["generator"])
    logger.info("resuming from %s at step %d", path, ckpt["state"]["step"])
    return TrainState(**ckpt["state"]), ckpt["best"]


def write_metrics(path: Path, history: list[dict]) -> None:
    """Rewrite the JSON-lines metrics log atomically from the full history."""
    atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in history))
