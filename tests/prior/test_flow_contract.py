"""One contract test run over every flow configuration (depth, coupling, actnorm, condition)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from hoirecon.prior.flow import ConditionalFlow, FlowConfig

FEATURES, CONDITION = 6, 3

CONFIGS = [
    FlowConfig(features=FEATURES, condition=condition, depth=depth, width=16,
               coupling=coupling, actnorm=actnorm)
    for depth, coupling, actnorm, condition in itertools.product(
        (1, 3), ("affine", "additive"), ("data", "conditional", "none"), (CONDITION, 0))
    if not (actnorm == "conditional" and condition == 0)
]


def _ids(config: FlowConfig) -> str:
    return f"d{config.depth}-{config.coupling}-{config.actnorm}-c{config.condition}"


def _flow(config: FlowConfig) -> ConditionalFlow:
    """A float64 flow with data-initialised actnorms and randomised weights.

    Coupling outputs start at zero (identity steps); perturbing every parameter makes each
    check below able to fail.
    """
    flow = ConditionalFlow(config).double()
    flow.set_normalization(torch.full((FEATURES,), 0.5), torch.full((FEATURES,), 2.0))
    x, c = _batch(config, 64)
    flow.initialize(x, c)
    with torch.no_grad():
        for parameter in flow.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    return flow


def _batch(config: FlowConfig, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(size, FEATURES, dtype=torch.float64) * 1.5 + 0.3
    c = torch.randn(size, config.condition, dtype=torch.float64)
    return x, c


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_flow_contract(config: FlowConfig, tmp_path: Path) -> None:
    flow = _flow(config)
    x, c = _batch(config, 5)

    # Shapes, including broadcasting M vectors against one condition per row.
    out = flow(x, c)
    assert out.value.shape == (5, FEATURES) and out.log_det.shape == (5,)
    assert flow.log_prob(x, c).shape == (5,)
    many = x.unsqueeze(1).expand(5, 4, FEATURES)
    assert flow.log_prob(many, c.unsqueeze(1)).shape == (5, 4)
    assert flow.sample(c, 7).shape == (5, 7, FEATURES)

    # inverse(forward(x)) == x, and the inverse's log-det is the negated forward one.
    back = flow.inverse(out.value, c)
    torch.testing.assert_close(back.value, x, atol=1e-10, rtol=0)
    torch.testing.assert_close(back.log_det, -out.log_det, atol=1e-10, rtol=0)

    # log-det equals slogdet of the autograd Jacobian.
    for i in range(2):
        jacobian = torch.autograd.functional.jacobian(lambda v: flow(v, c[i]).value, x[i])
        sign, logabsdet = torch.linalg.slogdet(jacobian)
        assert sign != 0
        torch.testing.assert_close(out.log_det[i], logabsdet, atol=1e-9, rtol=0)

    # Gradients reach every parameter, finite and not all zero.
    flow.zero_grad()
    flow.log_prob(x, c).sum().backward()
    for name, parameter in flow.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name

    # Save/load through a file gives identical log-probabilities; everything stays float64.
    path = tmp_path / "flow.pt"
    torch.save(flow.state_dict(), path)
    loaded = ConditionalFlow(config).double()
    loaded.load_state_dict(torch.load(path))
    with torch.no_grad():
        expected = flow.log_prob(x, c)
        actual = loaded.log_prob(x, c)
    assert actual.dtype == torch.float64
    torch.testing.assert_close(actual, expected, atol=0, rtol=0)


def test_coupling_with_a_general_mask() -> None:
    """Couplings stored with an alternating mask (not a prefix/suffix) still invert exactly."""
    from hoirecon.prior.transforms import Coupling

    mask = torch.arange(FEATURES) % 2 == 0
    step = Coupling(FEATURES, CONDITION, mask, 8, 2, "affine").double()
    with torch.no_grad():
        for parameter in step.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    x = torch.randn(4, FEATURES, dtype=torch.float64)
    c = torch.randn(4, CONDITION, dtype=torch.float64)
    y, log_det = step(c).call_and_ladj(x)
    torch.testing.assert_close(step(c).inv(y), x, atol=1e-10, rtol=0)
    torch.testing.assert_close(y[:, mask], x[:, mask])
    jacobian = torch.autograd.functional.jacobian(lambda v: step(c[0])(v), x[0])
    torch.testing.assert_close(log_det[0], torch.linalg.slogdet(jacobian)[1], atol=1e-9, rtol=0)


@pytest.mark.parametrize("stored", ["alternating", "suffix"])
def test_a_coupling_follows_the_mask_of_the_file_it_loads(stored: str) -> None:
    """The split is read from the mask once, when made and again when a state dict is loaded (an older
    file may hold another mask than the constructor's): the loaded mask is the one that stays fixed."""
    from hoirecon.prior.transforms import Coupling, coupling_mask

    mask = torch.arange(FEATURES) % 2 == 0 if stored == "alternating" else coupling_mask(FEATURES, 1)
    source = Coupling(FEATURES, CONDITION, mask, 8, 2, "affine").double()
    with torch.no_grad():
        for parameter in source.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    target = Coupling(FEATURES, CONDITION, coupling_mask(FEATURES, 0), 8, 2, "affine").double()
    target.load_state_dict(source.state_dict())
    x = torch.randn(4, FEATURES, dtype=torch.float64)
    c = torch.randn(4, CONDITION, dtype=torch.float64)
    y, log_det = target(c).call_and_ladj(x)
    torch.testing.assert_close(y[:, mask], x[:, mask], atol=0, rtol=0)
    expected_y, expected_log_det = source(c).call_and_ladj(x)
    torch.testing.assert_close(y, expected_y, atol=1e-12, rtol=0)
    torch.testing.assert_close(log_det, expected_log_det, atol=1e-12, rtol=0)
