"""Data-parallel training on ``torch.distributed``, with processes started by ``torchrun``.

A :class:`World` is one process's view of the job: its rank, the number of processes, and the
few collectives that training needs (sums of scalars and of gradients, broadcast of a module's
state, barrier). In :data:`SINGLE`, the world of one process, every collective is a no-op. The
training loop calls the same hooks with or without ``torch.distributed``, and a run in one
process is unchanged.

How the ranks split the work (see ``hoirecon.prior.train``):

* each step's global batch (the same on every rank: the epoch order depends only on seed and
  epoch) is split into ``size`` contiguous shards, so a rank computes about ``batch / size`` images;
* each rank divides its weighted NLL sum by the weight sum of the *global* batch, so summing the
  ranks' gradients gives exactly the gradient of the single-process weighted mean;
* rank 0 continues the run's random generator (the one saved in checkpoints); rank ``r > 0``
  draws from a generator seeded by ``(seed, step, r)``. Nothing rank-specific is saved, so a
  checkpoint resumes with any number of processes.

Collectives use ``gloo`` for CPU tensors and, when CUDA is available, ``nccl`` for CUDA tensors.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

logger = logging.getLogger(__name__)

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
"""Environment variables that ``torchrun`` sets for every process it starts."""


@dataclass(frozen=True)
class World:
    """This process's rank among ``size`` training processes (``SINGLE``: one process)."""

    rank: int = 0
    """Index of this process, 0 .. size - 1; rank 0 writes all files."""
    size: int = 1
    """Number of processes."""

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the only process that writes files."""
        return self.rank == 0

    def shard(self, rows: Tensor) -> Tensor:
        """This rank's contiguous share of ``rows (B,)``: ``(B_r,)``, sizes differ by at most 1."""
        return rows if self.size == 1 else rows.tensor_split(self.size)[self.rank]

    def all_reduce_sum(self, values: Tensor) -> Tensor:
        """Sum of ``values (*)`` over all ranks (a new tensor; ``values`` itself in one process)."""
        if self.size == 1:
            return values
        total = values.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total

    def sum_gradients(self, module: nn.Module) -> None:
        """Replace each parameter's gradient by its sum over all ranks (missing ones count as 0).

        Flattened into one buffer per dtype and device, so a step costs one collective.
        """
        if self.size == 1:
            return
        params = [p for p in module.parameters() if p.requires_grad]
        for p in params:
            if p.grad is None:  # e.g. a rank with no images in a short last batch
                p.grad = torch.zeros_like(p)
        groups: dict[tuple, list[nn.Parameter]] = {}
        for p in params:
            groups.setdefault((p.dtype, p.device), []).append(p)
        for group in groups.values():
            flat = torch.cat([p.grad.reshape(-1) for p in group])
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            for p, g in zip(group, flat.split([p.numel() for p in group])):
                p.grad.copy_(g.view_as(p))

    def broadcast_state(self, module: nn.Module) -> None:
        """Overwrite every parameter and buffer of ``module`` with rank 0's values, in place."""
        if self.size == 1:
            return
        with torch.no_grad():
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's value of ``flag`` (a control-flow decision every rank must take alike)."""
        if self.size == 1:
            return flag
        value = torch.tensor([int(flag)])
        dist.broadcast(value, src=0)
        return bool(value.item())

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        if self.size > 1:
            dist.barrier()

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Run the body on rank 0 first, then on the others (e.g. rank 0 writes a cache they read)."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()

    def generator(self, base: torch.Generator, seed: int, step: int) -> torch.Generator:
        """The random stream of this rank for global step ``step``.

        Rank 0 continues ``base`` (the run's generator, saved in checkpoints), so one process
        reproduces a run without ``torch.distributed`` exactly; rank ``r > 0`` gets a fresh
        generator seeded by ``(seed, step, r)``, which resumes at any step with nothing saved.
        """
        if self.is_main:
            return base
        entropy = np.random.SeedSequence([seed % (1 << 64), step, self.rank])
        return torch.Generator(device=base.device).manual_seed(int(entropy.generate_state(1, np.uint64)[0]))


SINGLE = World()
"""The world of a single process: every collective is a no-op."""


def backend() -> str:
    """``gloo`` for CPU tensors, plus ``nccl`` for CUDA tensors when CUDA is available."""
    if torch.cuda.is_available() and dist.is_nccl_available():
        return "cpu:gloo,cuda:nccl"
    return "gloo"


def init_from_env() -> World:
    """Join the process group described by ``torchrun``'s environment variables (idempotent).

    Raises ``ValueError`` naming the missing variables when the process was not started by
    ``torchrun`` (or ``python -m torch.distributed.run``).
    """
    if not dist.is_available():
        raise ValueError("distributed: this torch build has no torch.distributed")
    if dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    env = os.environ
    missing = [name for name in TORCHRUN_VARIABLES if name not in env]
    if missing:
        raise ValueError(f"distributed: environment variables {', '.join(missing)} are not set; "
                         f"start the processes with torchrun, e.g. 'torchrun --nproc_per_node 2 "
                         f"-m hoirecon.cli.app train ... --distributed'")
    rank, size = int(env["RANK"]), int(env["WORLD_SIZE"])
    if torch.cuda.is_available():
        torch.cuda.set_device(int(env["LOCAL_RANK"]) % torch.cuda.device_count())
    dist.init_process_group(backend(), rank=rank, world_size=size)  # env://, torchrun's store
    logger.debug("joined process group as rank %d of %d (%s)", rank, size, backend())
    return World(rank, size)


def shutdown() -> None:
    """Leave the process group (no-op when none was joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
