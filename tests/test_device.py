"""Device resolution: explicit names, the scope and environment defaults, and clear errors."""

from __future__ import annotations

import pytest
import torch

from hoirecon import device as dev


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend this machine has no CUDA device (also true of the CPU test machines)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_cpu_and_auto_without_cuda(no_cuda: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dev.ENV, raising=False)
    assert dev.resolve_device("cpu") == torch.device("cpu")
    assert dev.resolve_device("auto") == torch.device("cpu")
    assert dev.resolve_device(None) == torch.device("cpu")
    assert dev.resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert dev.resolve_device(" CPU ") == torch.device("cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_raises(no_cuda: None, name: str) -> None:
    with pytest.raises(dev.DeviceError, match="--device.*no CUDA device"):
        dev.resolve_device(name, "--device")


def test_cuda_from_environment_without_cuda_names_the_variable(no_cuda: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dev.ENV, "cuda")
    with pytest.raises(dev.DeviceError, match=dev.ENV):
        dev.resolve_device(None)


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "cpu:0", "", "mps"])
def test_unknown_names_raise(name: str) -> None:
    with pytest.raises(dev.DeviceError, match="expected one of auto, cpu, cuda"):
        dev.resolve_device(name, "--device")


def test_auto_prefers_cuda_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert dev.resolve_device("auto") == torch.device("cuda", 0)
    with pytest.raises(dev.DeviceError, match="only 1 CUDA"):
        dev.resolve_device("cuda:1")


def test_precedence_argument_scope_environment(no_cuda: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dev.ENV, "bogus")
    with pytest.raises(dev.DeviceError, match=dev.ENV):
        dev.resolve_device(None)
    with dev.device_scope("cpu") as scoped:
        assert scoped == torch.device("cpu")
        assert dev.resolve_device(None) == torch.device("cpu")  # the scope wins over the environment
    assert dev.resolve_device("cpu") == torch.device("cpu")  # an argument wins over both


def test_scope_fails_before_the_block_runs(no_cuda: None) -> None:
    ran = []
    with pytest.raises(dev.DeviceError), dev.device_scope("cuda"):
        ran.append(True)
    assert ran == []


def test_generator_and_to_device() -> None:
    cpu = torch.device("cpu")
    a = torch.rand(3, generator=dev.generator(cpu, 5))
    b = torch.rand(3, generator=dev.generator(cpu, 5))
    assert torch.equal(a, b)
    moved = dev.to_device({"x": [torch.ones(2), (torch.zeros(1), 3)], "n": "text"}, cpu)
    assert moved["x"][0].device == cpu and moved["x"][1][1] == 3 and moved["n"] == "text"
    assert "cpu" in dev.describe(cpu)
    dev.synchronize(cpu)
