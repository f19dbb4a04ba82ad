"""Fitting a split on a Ray cluster: one Ray task per batch, saved by the driver as each returns.

The batches, their part files and the merged fits are exactly those of
:func:`hoirecon.fitting.pipeline.fit_split` (:func:`~hoirecon.fitting.pipeline.plan_split`), so
a run with either backend resumes the other's and both give the same fits. Fitting a batch
draws no global random state (RANSAC and prior camera samples are seeded per call), so its
result does not depend on which worker runs it or when.

Robustness: only the driver writes, once per batch and atomically, so a killed worker cannot
leave a partial or duplicate part. A batch whose worker dies, or whose fit raises, is retried
(``RayConfig.max_retries``); a batch that still fails is reported in the run's ``skipped`` list,
image by image, and the run goes on. The fitting context is put in the object store once and
each worker process deserialises it once. On a multi-node cluster, ``hoirecon`` must be
installed on every node and the dataset's masks readable at the same paths (the contact term
reads them).

``ray`` is an optional dependency (``pip install 'hoirecon[ray]'``), imported only when used.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from hoirecon.data import Sample
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.pipeline import (
    FitRun,
    Progress,
    SplitBatch,
    SplitPlan,
    fit_samples,
    init_notes,
    merge_split,
    plan_split,
    read_part,
)
from hoirecon.io.atomic import atomic_save_npz

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'hoirecon[ray]'"
BatchFit = Callable[[FitContext, list[Sample]], tuple[dict[str, np.ndarray], Any]]
"""Fits one batch: (context, samples) -> (result columns, ``InitBatch``); :func:`fit_samples` by default."""


class BackendUnavailableError(RuntimeError):
    """The optional dependency of a fitting backend is not installed."""


@dataclass(frozen=True)
class RayConfig:
    """Where and how a split is fitted with Ray."""

    address: str | None = None
    """Address of a running Ray cluster (``ray.init(address=...)``); None starts a local instance."""
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """CPUs (so concurrent batches) of the local instance (default: all); unused when joining a cluster."""
    max_retries: int = 2
    """Retries of a batch whose worker died or whose fit raised, before it is reported and skipped."""
    torch_threads: int = 1
    """Torch threads per worker; one per task keeps ``workers`` tasks from oversubscribing the CPUs."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {self.workers}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")


def require_ray() -> ModuleType:
    """The ``ray`` module, or a BackendUnavailableError that says how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as err:
        raise BackendUnavailableError(f"--backend ray needs the optional dependency ray: {INSTALL_HINT}") from err


_worker_context: dict[str, FitContext] = {}
"""Per worker process: the last fitting context it deserialised, by object id."""


def _context(box: list[Any]) -> FitContext:
    """The context behind ``box[0]`` (an object ref), fetched once per worker process and run."""
    ray = require_ray()
    key = box[0].hex()
    if key not in _worker_context:
        _worker_context.clear()
        _worker_context[key] = ray.get(box[0])
    return _worker_context[key]


def _fit_batch(box: list[Any], samples: list[Sample], fit: BatchFit, threads: int
               ) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Ray task body: fit one batch; returns its result columns and per-image notes."""
    torch.set_num_threads(threads)
    cols, init = fit(_context(box), samples)
    return cols, init_notes(init)


def _connect(ray: ModuleType, config: RayConfig) -> bool:
    """Join the configured cluster or start a local instance; True when this call started it."""
    if ray.is_initialized():
        return False
    if config.address is not None:
        ray.init(address=config.address, logging_level=logging.WARNING)
    else:
        ray.init(num_cpus=config.workers, include_dashboard=False, logging_level=logging.WARNING)
    return True


def _failure(err: Exception) -> str:
    """One line saying why a batch failed (the task's own error when it raised)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"


@dataclass
class _Tally:
    """What the driver has collected so far."""

    parts: dict[int, dict[str, np.ndarray]]
    skipped: list[tuple[str, str]]
    notes: dict[str, list[str]]
    done: int = 0


def _collect(ray: ModuleType, refs: dict[Any, SplitBatch], tally: _Tally, report: Callable[[], None]) -> None:
    """Save each batch as its task returns (once, atomically); record failed batches as skipped."""
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1)
        batch = refs.pop(ready[0])
        try:
            cols, notes = ray.get(ready[0])
        except ray.exceptions.RayError as err:
            reason = f"batch {batch.start} failed: {_failure(err)}"
            log.error("%s (%d images skipped)", reason, len(batch.samples))
            tally.skipped.extend((s.image_id, reason) for s in batch.samples)
        else:
            atomic_save_npz(batch.part, cols)
            tally.parts[batch.start] = cols
            tally.notes.update(notes)
        tally.done += len(batch.samples)
        report()


def _submit(ray: ModuleType, ctx: FitContext, todo: list[SplitBatch], config: RayConfig,
            fit: BatchFit) -> dict[Any, SplitBatch]:
    """One task per unfinished batch, all sharing one stored copy of the context."""
    box = [ray.put(ctx)]  # in a list so each task receives the ref and caches the context itself
    task = ray.remote(_fit_batch).options(num_cpus=1, max_retries=config.max_retries, retry_exceptions=True)
    return {task.remote(box, b.samples, fit, config.torch_threads): b for b in todo}


def _run(ray: ModuleType, ctx: FitContext, plan: SplitPlan, out: Path, progress: Progress | None,
         config: RayConfig, fit: BatchFit) -> FitRun:
    """Load finished parts, fit the others as tasks, merge in batch order."""
    tally = _Tally({}, list(plan.skipped), {})
    todo = []
    for batch in plan.batches:
        cols = read_part(batch)
        if cols is not None:
            tally.parts[batch.start] = cols
            tally.done += len(batch.samples)
        else:
            todo.append(batch)

    def report() -> None:
        if progress is not None:
            progress(tally.done, plan.total)

    report()
    refs = _submit(ray, ctx, todo, config, fit) if todo else {}
    try:
        _collect(ray, refs, tally, report)
    finally:
        for ref in refs:  # only left over when interrupted
            ray.cancel(ref, force=True)
    parts = [tally.parts[b.start] for b in plan.batches if b.start in tally.parts]
    return merge_split(ctx, out, parts, tally.skipped, tally.notes)


def fit_split_ray(ctx: FitContext, samples: list[Sample], out: Path, key: str, progress: Progress | None = None,
                  config: RayConfig | None = None, fit: BatchFit = fit_samples) -> FitRun:
    """Fit a split like :func:`~hoirecon.fitting.pipeline.fit_split`, one Ray task per batch.

    Uses the Ray instance this process is already connected to, if any; otherwise joins
    ``config.address`` or starts a local instance with ``config.workers`` CPUs, and shuts it
    down afterwards. ``fit`` must be importable or picklable by Ray (it runs on the workers).
    """
    config = config or RayConfig()
    ray = require_ray()
    plan = plan_split(ctx, samples, out, key)
    started = _connect(ray, config)
    try:
        return _run(ray, ctx, plan, Path(out), progress, config, fit)
    finally:
        if started:
            ray.shutdown()
