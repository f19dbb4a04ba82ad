"""Glow-style conditional normalizing flow on flattened 2.5D vectors (paper eq. 8-10).

``z = F(x; c)`` maps a vector ``x (..., D)`` (``D = 3 (K + 1)``: ``K`` unit rays and the camera
centre, flattened) to a standard normal ``z`` given a condition ``c (..., C)``. The flow is

    standardise (fixed buffers)  ->  depth x [actnorm -> LU linear -> coupling(c)]

and ``log p(x | c) = log N(z; 0, I) + log |det dF/dx|``. The standardisation statistics live in
buffers, so a saved ``state_dict`` is self-contained. Rays are kept as plain 3-vectors: the
dequantisation noise added in training gives the unit-norm shell a small thickness, which is
simpler than a tangent-space parameterisation and costs nothing at inference (samples are
re-normalised by :class:`hoirecon.prior.Prior`).

A flow with ``condition = 0`` is unconditional; it still takes a ``(..., 0)`` condition tensor
so that every caller can treat the two alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Transform
from zuko.lazy import LazyTransform
from zuko.transforms import ComposedTransform

from hoirecon.prior.transforms import (
    COUPLING_KINDS,
    ActNorm,
    ConditionalActNorm,
    Coupling,
    LULinear,
    Standardize,
    coupling_mask,
    gaussian_log_prob,
)

ACTNORM_KINDS = ("data", "conditional", "none")
"""Actnorm variants: data-initialised, condition-dependent (reference impl), or none."""


@dataclass(frozen=True)
class FlowConfig:
    """Architecture of a :class:`ConditionalFlow`."""

    features: int = 0
    """Dimension D of the modelled vectors: 3 (K + 1) for K keypoint rays plus the camera centre
    (0: not set yet; train_prior fills it in from the data)."""
    condition: int = 256
    """Dimension C of the condition vector; 0 makes the flow unconditional (train_prior sets it
    to the encoder's output size)."""
    depth: int = 8
    """Number of [actnorm, LU linear, coupling] steps (paper: 8)."""
    width: int = 512
    """Hidden width of each coupling network (paper: 512)."""
    hidden_layers: int = 2
    """Hidden layers per coupling network (Glow: 2)."""
    coupling: str = "affine"
    """Coupling map: 'affine' (scale and shift, Glow) or 'additive' (shift only, reference impl)."""
    actnorm: str = "data"
    """'data' (Glow's data-initialised actnorm), 'conditional' (shift/scale from the condition,
    reference impl) or 'none'."""
    seed: int = 0
    """Seed of the random rotations that initialise the LU linear steps."""

    def __post_init__(self) -> None:
        checks = {"features": self.features >= 2 or self.features == 0,
                  "condition": self.condition >= 0,
                  "depth": self.depth >= 1, "width": self.width >= 1,
                  "hidden_layers": self.hidden_layers >= 1}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name}: invalid value {getattr(self, name)!r}")
        if self.coupling not in COUPLING_KINDS:
            raise ValueError(f"coupling: expected one of {COUPLING_KINDS}, got {self.coupling!r}")
        if self.actnorm not in ACTNORM_KINDS:
            raise ValueError(f"actnorm: expected one of {ACTNORM_KINDS}, got {self.actnorm!r}")
        if self.actnorm == "conditional" and self.condition == 0:
            raise ValueError("actnorm: 'conditional' needs condition >= 1")


@dataclass
class FlowOutput:
    """Result of pushing a batch through the flow (or its inverse)."""

    value: Tensor
    """Transformed vectors ``(..., D)``."""
    log_det: Tensor
    """``log |det J|`` of the map that was applied, per vector ``(...)``."""


def _actnorm(config: FlowConfig) -> LazyTransform | None:
    """The actnorm step the config asks for, or None."""
    if config.actnorm == "data":
        return ActNorm(config.features)
    if config.actnorm == "conditional":
        return ConditionalActNorm(config.features, config.condition)
    return None


def _build_steps(config: FlowConfig) -> list[LazyTransform]:
    """The ``depth`` Glow steps, flattened into one list of lazy transforms."""
    generator = torch.Generator().manual_seed(config.seed)
    steps: list[LazyTransform] = []
    for i in range(config.depth):
        actnorm = _actnorm(config)
        if actnorm is not None:
            steps.append(actnorm)
        steps.append(LULinear(config.features, generator))
        steps.append(Coupling(config.features, config.condition,
                              coupling_mask(config.features, i), config.width,
                              config.hidden_layers, config.coupling))
    return steps


class ConditionalFlow(nn.Module):
    """Conditional normalizing flow ``p(x | c)`` on vectors ``(..., D)`` given ``(..., C)``.

    Leading dims of ``x`` and ``c`` broadcast: ``x (B, M, D)`` with ``c (B, 1, C)`` scores ``M``
    vectors per condition and evaluates the condition projections once per row of ``c``.
    """

    def __init__(self, config: FlowConfig) -> None:
        super().__init__()
        if config.features < 2:
            raise ValueError(f"features: a flow needs features >= 2, got {config.features}")
        self.config = config
        self.standardize = Standardize(config.features)
        self.steps = nn.ModuleList(_build_steps(config))

    def set_normalization(self, mean: Tensor, std: Tensor) -> None:
        """Store the fixed input statistics ``mean (D,)`` and ``std (D,)``."""
        self.standardize.set(mean.to(self.standardize.mean), std.to(self.standardize.std))

    def _check(self, x: Tensor, name: str, condition: Tensor) -> Tensor | None:
        """Validate ``x (..., D)`` and ``condition (..., C)``; return the condition to use."""
        if x.shape[-1:] != (self.config.features,):
            raise ValueError(f"{name}: expected shape (..., {self.config.features}), "
                             f"got {tuple(x.shape)}")
        if condition.shape[-1:] != (self.config.condition,):
            raise ValueError(f"condition: expected shape (..., {self.config.condition}), "
                             f"got {tuple(condition.shape)}")
        return condition if self.config.condition > 0 else None

    def transform(self, condition: Tensor | None) -> Transform:
        """The zuko/torch transform ``x -> z`` for a condition ``(..., C)`` (None if C == 0)."""
        parts = [self.standardize()] + [step(condition) for step in self.steps]
        return ComposedTransform(*parts)

    def forward(self, x: Tensor, condition: Tensor) -> FlowOutput:
        """``z = F(x; c)`` and ``log |det dz/dx|``: ``x (..., D), c (..., C) -> (..., D), (...)``."""
        c = self._check(x, "x", condition)
        z, log_det = self.transform(c).call_and_ladj(x)
        return FlowOutput(z, log_det)

    def inverse(self, z: Tensor, condition: Tensor) -> FlowOutput:
        """``x = F^-1(z; c)`` and ``log |det dx/dz|``: ``z (..., D), c (..., C) -> (..., D), (...)``."""
        c = self._check(z, "z", condition)
        x, log_det = self.transform(c).inv.call_and_ladj(z)
        return FlowOutput(x, log_det)

    def log_prob(self, x: Tensor, condition: Tensor) -> Tensor:
        """``log p(x | c)`` in nats: ``x (..., D), c (..., C) -> (...)``."""
        out = self.forward(x, condition)
        return gaussian_log_prob(out.value) + out.log_det

    def sample(self, condition: Tensor, n: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` vectors per condition: ``condition (B, C) -> (B, n, D)``.

        ``temperature`` scales the base noise (1 samples the model; < 1 concentrates samples).
        The noise is drawn on the ``generator``'s device and moved to the condition's, so a CPU
        generator gives the same samples whichever device the flow runs on.
        """
        if condition.dim() != 2:
            raise ValueError(f"condition: expected shape (B, {self.config.condition}), "
                             f"got {tuple(condition.shape)}")
        if n < 1:
            raise ValueError(f"n: expected >= 1, got {n}")
        shape = (condition.shape[0], n, self.config.features)
        where = generator.device if generator is not None else condition.device
        z = torch.randn(shape, generator=generator, dtype=condition.dtype, device=where)
        z = z.to(condition.device) * temperature
        return self.inverse(z, condition.unsqueeze(1)).value

    @torch.no_grad()
    def initialize(self, x: Tensor, condition: Tensor) -> None:
        """Data-initialise every actnorm from a batch ``x (B, D)`` with conditions ``(B, C)``."""
        c = self._check(x, "x", condition)
        h = self.standardize()(x)
        for step in self.steps:
            if isinstance(step, (ActNorm, ConditionalActNorm)):
                step.initialize(h, c)
            h = step(c)(h)
