"""The optimisation loop never makes the host wait for the device.

On a GPU a step is queued and runs while the host queues the next one, unless something in the
step reads a device value back (``.item()``, ``bool(tensor)``, ``.tolist()``, ``nonzero``, ...) or
builds a tensor from Python data (a copy to the device). Those calls are the same on the CPU, so
a spy catches them here: it records every such call made between two step callbacks of
``optimise``, for the presets with a contact term and with a prior, and there must be none.
Adam's own step counters (CPU tensors read by ``torch.optim``) are left out: on a GPU the fit uses
the fused Adam, which keeps them on the device.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting import optimize
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_samples, load_context
from hoirecon.objects import get_category_template
from hoirecon.prior import EncoderConfig, FlowConfig, KeypointLayout, Prior

T = torch.Tensor
READS_BACK = {T.item, T.__bool__, T.__int__, T.__float__, T.__index__, T.tolist, T.numpy, T.cpu, T.nonzero,
              torch.nonzero, torch.argwhere, T.unique, torch.unique, torch.masked_select, T.masked_select,
              torch.tensor, torch.as_tensor}
"""Tensor functions that read device values on the host, or make a tensor of host data."""
SYNCING_OPS = {"_local_scalar_dense", "nonzero", "masked_select", "_unique2", "unique_dim", "unique_consecutive",
               "is_nonzero", "equal"}
"""The aten operators under them (the dispatcher sees the backward pass too)."""


def _from_optimiser() -> bool:
    """Whether the current call comes from ``torch.optim`` (Adam's CPU step counters)."""
    frame = sys._getframe()
    while frame is not None:
        if "torch/optim/" in frame.f_code.co_filename.replace("\\", "/"):
            return True
        frame = frame.f_back
    return False


def _syncing_index(index: object) -> str | None:
    """What makes an index wait for the host: a Python list or numpy array (copied to the device at each
    use) or a boolean mask (its size is read back); None for a plain index."""
    if isinstance(index, (list, np.ndarray)):
        return "indexing with a Python list"
    if isinstance(index, torch.Tensor) and index.dtype == torch.bool:
        return "indexing with a boolean mask"
    if isinstance(index, tuple):
        return next((r for r in map(_syncing_index, index) if r is not None), None)
    return None


@dataclass
class HostReads:
    """Records host reads and host-made tensors while ``on``."""

    on: bool = False
    seen: list[str] = field(default_factory=list)

    def note(self, name: str) -> None:
        if self.on and not _from_optimiser():
            self.seen.append(name)


class _Functions(TorchFunctionMode):
    def __init__(self, log: HostReads) -> None:
        super().__init__()
        self.log = log

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's signature
        if func in READS_BACK:
            self.log.note(getattr(func, "__name__", str(func)))
        elif func in (T.__getitem__, T.__setitem__) and len(args) > 1 and _syncing_index(args[1]) is not None:
            self.log.note(_syncing_index(args[1]))
        return func(*args, **(kwargs or {}))


class _Operators(TorchDispatchMode):
    def __init__(self, log: HostReads) -> None:
        super().__init__()
        self.log = log

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's signature
        if func._overloadpacket.__name__ in SYNCING_OPS:
            self.log.note(f"aten.{func._overloadpacket.__name__}")
        return func(*args, **(kwargs or {}))


def spy_steps(fit: Callable[[Callable[[int, int], None]], object]) -> tuple[list[str], int]:
    """Run ``fit(step_callback)`` under the spy; the host reads made from the end of the first step to
    the end of the last one, and the number of steps."""
    log, steps = HostReads(), []

    def step(done: int, total: int) -> None:
        steps.append(done)
        log.on = done < total

    with _Functions(log), _Operators(log):
        fit(step)
    return log.seen, len(steps)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("baseball_bat",), train=4, test=3, seed=5, image_size=96)
    return generate(tmp_path_factory.mktemp("syncs") / "ds", config)


@pytest.fixture(scope="module")
def prior_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    keypoints = get_category_template("baseball_bat").num_keypoints
    prior = Prior(FlowConfig(depth=2, width=8), EncoderConfig(features=8, width=8), KeypointLayout.for_object(keypoints))
    path = tmp_path_factory.mktemp("prior") / "prior.pt"
    prior.save(path)
    return path


@pytest.mark.parametrize("preset", ["contact", "prior+contact"])
def test_no_step_reads_a_value_back(data: Path, prior_file: Path, preset: str) -> None:
    config = get_preset(preset, object_steps=3, joint_steps=3)
    ctx = load_context(load_dataset(data), "baseball_bat", config, prior_file, None)
    ctx.device = "cpu"
    assert ctx.config.weights.contact > 0 and (ctx.prior is not None) == (preset == "prior+contact")
    samples = list(load_dataset(data).samples("baseball_bat", "test"))
    seen, steps = spy_steps(lambda step: fit_samples(ctx, samples, step))
    assert steps == 6
    assert seen == []


def test_the_spy_sees_a_value_read_back_in_a_step(data: Path, prior_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same run with one ``.item()`` and one list index slipped into the loss is caught at every step."""
    terms = optimize.loss_terms

    def reading(*args: object, **kwargs: object) -> dict[str, torch.Tensor]:
        out = terms(*args, **kwargs)
        if out["regularisers"].sum().item() < 0:  # never true: only the read matters
            raise AssertionError
        out["regularisers"] = out["regularisers"][[0, 1, 2]]
        return out

    monkeypatch.setattr(optimize, "loss_terms", reading)
    ctx = load_context(load_dataset(data), "baseball_bat", get_preset("contact", object_steps=3, joint_steps=3),
                       None, None)
    ctx.device = "cpu"
    samples = list(load_dataset(data).samples("baseball_bat", "test"))
    seen, _ = spy_steps(lambda step: fit_samples(ctx, samples, step))
    assert seen.count("item") == 5 and seen.count("indexing with a Python list") == 5, seen
    assert seen.count("aten._local_scalar_dense") == 5


def test_the_spy_sees_each_kind_of_read() -> None:
    x = torch.arange(4.0, requires_grad=True)
    reads = [lambda: x.sum().item(), lambda: bool(x.sum() > 0), lambda: x.tolist(), lambda: x.detach().numpy(),
             lambda: x.nonzero(), lambda: torch.tensor([1.0, 2.0]), lambda: x[[0, 2]], lambda: int(x[1]),
             lambda: (x * x)[x.detach() > 1].sum().backward()]
    for read in reads:
        seen, _ = spy_steps(lambda step, read=read: (step(1, 2), read()))
        assert seen, read
    index = torch.arange(0, 4, 2)
    quiet, _ = spy_steps(lambda step: (step(1, 2), (x[index] * 2).sum().backward()))
    assert quiet == []
