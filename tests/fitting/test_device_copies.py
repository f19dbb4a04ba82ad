"""Device copies of shared models: the CPU model itself, one cached copy per other device."""

from __future__ import annotations

import copy

import torch

from hoirecon.fitting.device_copies import model_on_device


class _Wrapper:
    """Stands for a FittingPrior: not a module, holds one (``prior``), moves with ``to``."""

    def __init__(self, prior: torch.nn.Module) -> None:
        self.prior = prior

    def to(self, device: torch.device) -> _Wrapper:
        return _Wrapper(copy.deepcopy(self.prior).to(device))


def test_the_cpu_gets_the_model_itself() -> None:
    model = torch.nn.Linear(2, 2)
    assert model_on_device(model, torch.device("cpu")) is model


def test_another_device_gets_one_cached_copy_and_the_model_stays() -> None:
    model = torch.nn.Linear(2, 2)
    meta = torch.device("meta")
    moved = model_on_device(model, meta)
    assert moved is not model and moved.weight.device == meta
    assert model.weight.device.type == "cpu"
    assert model_on_device(model, meta) is moved


def test_a_wrapper_is_cached_by_the_module_it_holds() -> None:
    wrapper = _Wrapper(torch.nn.Linear(2, 2))
    meta = torch.device("meta")
    first = model_on_device(wrapper, meta)
    assert first.prior.weight.device == meta and wrapper.prior.weight.device.type == "cpu"
    assert model_on_device(_Wrapper(wrapper.prior), meta) is first
