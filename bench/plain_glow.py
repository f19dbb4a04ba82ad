"""A plain conditional Glow written out by hand: the yardstick ``bench_flow.py`` times the prior against.

Same sizes as the prior's defaults: ``depth`` steps of [actnorm, LU-parameterised invertible
linear, affine coupling on half the features whose network sees the condition], coupling
networks with two hidden layers of ``width``, and a keypoint encoder (two hidden layers of 256)
giving a 256-d condition. Nothing is shared with ``hoirecon.prior``: plain ``nn.Linear`` layers and
tensor algebra, one forward that returns ``log p``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def mlp(inputs: int, width: int, outputs: int, hidden: int = 2) -> nn.Sequential:
    """``hidden`` ReLU layers of ``width`` then a linear output."""
    layers: list[nn.Module] = []
    for i in range(hidden):
        layers += [nn.Linear(inputs if i == 0 else width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, outputs))


class GlowStep(nn.Module):
    """Actnorm, LU linear and an affine coupling conditioned on ``c``."""

    def __init__(self, features: int, condition: int, width: int) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(features))
        self.log_scale = nn.Parameter(torch.zeros(features))
        q, _ = torch.linalg.qr(torch.randn(features, features))
        p, lower, upper = torch.linalg.lu(q)
        self.register_buffer("p", p)
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(upper.triu(1))
        self.log_diag = nn.Parameter(upper.diagonal().abs().log())
        self.register_buffer("sign", upper.diagonal().sign())
        self.half = features // 2
        self.net = mlp(self.half + condition, width, 2 * (features - self.half))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, D), c (B, C) -> z (B, D), log|det| (B,)``."""
        x = (x + self.loc) * self.log_scale.exp()
        eye = torch.eye(x.shape[-1], device=x.device, dtype=x.dtype)
        weight = self.p @ (self.lower.tril(-1) + eye) @ (self.upper.triu(1) + torch.diag(self.sign * self.log_diag.exp()))
        x = x @ weight.T
        a, b = x[:, :self.half], x[:, self.half:]
        shift, raw = self.net(torch.cat([a, c], -1)).chunk(2, -1)
        log_s = torch.tanh(raw)
        z = torch.cat([a, b * log_s.exp() + shift], -1)
        return z, self.log_scale.sum() + self.log_diag.sum() + log_s.sum(-1)


class PlainGlow(nn.Module):
    """Conditional Glow ``log p(x | observations)`` for ``x (B, D)`` and observations ``(B, K, 3)``."""

    def __init__(self, features: int, keypoints: int, depth: int = 8, width: int = 512, condition: int = 256) -> None:
        super().__init__()
        self.encoder = mlp(3 * keypoints, 256, condition)
        self.steps = nn.ModuleList(GlowStep(features, condition, width) for _ in range(depth))

    def log_prob(self, x: Tensor, observations: Tensor) -> Tensor:
        """``x (B, D)``, ``observations (B, K, 3)`` -> ``(B,)`` nats."""
        c = self.encoder(observations.flatten(1))
        total = x.new_zeros(x.shape[0])
        for step in self.steps:
            x, log_det = step(x, c)
            total = total + log_det
        return total - 0.5 * (x.square().sum(-1) + x.shape[-1] * math.log(2 * math.pi))
