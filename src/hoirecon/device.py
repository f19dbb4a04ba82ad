"""The compute device every heavy stage runs on: ``auto`` | ``cpu`` | ``cuda``, from options or ``HOIRECON_DEVICE``.

Where a device comes from, first match wins:

1. an explicit argument (``--device`` on the command line, ``device=`` in the Python API);
2. the innermost :func:`device_scope` (what a command sets for the library code it calls);
3. the ``HOIRECON_DEVICE`` environment variable;
4. ``auto``: the first CUDA device when torch sees one, else the CPU.

Asking for ``cuda`` on a machine without a usable CUDA device raises :class:`DeviceError` at once:
a run never falls back to the CPU silently. Everything a stage creates (models, buffers, batches,
random generators) is put on the resolved device by the stage itself; :func:`generator` and
:func:`to_device` are the two helpers they share.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

import torch

log = logging.getLogger(__name__)

ENV = "HOIRECON_DEVICE"
"""Environment variable naming the default device."""
CHOICES = ("auto", "cpu", "cuda")
"""Device kinds a user may name (``cuda:N`` picks one GPU)."""
DeviceLike = str | torch.device | None
"""What functions accept as a device: a name, a ``torch.device``, or None (the default chain)."""

_SCOPE: contextvars.ContextVar[torch.device | None] = contextvars.ContextVar("hoirecon_device", default=None)


class DeviceError(ValueError):
    """A device was named that this machine does not have, or a name that is no device."""


def _parse(spec: str, where: str) -> str:
    """Normalise a device name, raising :class:`DeviceError` (naming ``where`` it came from) if unknown."""
    text = spec.strip().lower()
    kind, _, index = text.partition(":")
    if kind not in CHOICES or (index and (kind != "cuda" or not index.isdigit())):
        raise DeviceError(f"{where}: expected one of {', '.join(CHOICES)} (or cuda:N), got {spec!r}")
    return text


def _cuda(text: str, where: str) -> torch.device:
    """The CUDA device ``text`` ('cuda' or 'cuda:N'), or DeviceError when it is not there."""
    if not torch.cuda.is_available():
        raise DeviceError(f"{where}: {text!r} was asked for but torch sees no CUDA device "
                          f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                          f"use --device cpu or auto")
    device = torch.device(text)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"{where}: {text!r} was asked for but only {torch.cuda.device_count()} "
                          f"CUDA device(s) exist")
    return device if device.index is not None else torch.device("cuda", torch.cuda.current_device())


def resolve_device(spec: DeviceLike = None, where: str = "device") -> torch.device:
    """The ``torch.device`` to run on for ``spec`` (see the module docstring for the default chain).

    ``where`` names the option or argument in error messages (e.g. ``--device``).
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    if spec is None:
        scoped = _SCOPE.get()
        if scoped is not None:
            return scoped
        env = os.environ.get(ENV)
        if env:
            return resolve_device(env, ENV)
        spec = "auto"
    if not isinstance(spec, str):
        raise DeviceError(f"{where}: expected a device name, got {type(spec).__name__}")
    text = _parse(spec, where)
    if text == "cpu":
        return torch.device("cpu")
    if text == "auto":
        return _cuda("cuda", where) if torch.cuda.is_available() else torch.device("cpu")
    return _cuda(text, where)


@contextlib.contextmanager
def device_scope(spec: DeviceLike) -> Iterator[torch.device]:
    """Make ``spec`` (resolved now, so a missing GPU fails before any work) the default device of the
    code run inside the ``with`` block; yields the resolved device. ``None`` keeps the current default."""
    device = resolve_device(spec)
    token = _SCOPE.set(device)
    try:
        log.info("running on %s", describe(device))
        yield device
    finally:
        _SCOPE.reset(token)


def describe(device: torch.device) -> str:
    """A one-line description of ``device`` for logs and benchmark output (GPU name, CPU threads)."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def generator(device: torch.device, seed: int) -> torch.Generator:
    """A random generator on ``device`` seeded with ``seed`` (draws then happen where the data is)."""
    return torch.Generator(device=device).manual_seed(seed)


def to_device(value: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """``value`` with every tensor in it (nested in dicts, lists, tuples) moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=non_blocking)
    if isinstance(value, Mapping):
        return {k: to_device(v, device, non_blocking) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device, non_blocking) for v in value)
    return value


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (timing needs it on CUDA; nothing to do on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
