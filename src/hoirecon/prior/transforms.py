"""The steps of the Glow-style conditional flow, as zuko lazy transformations.

Each step is a :class:`zuko.lazy.LazyTransform`: a module that, given a condition ``c`` of shape
``(..., C)``, returns a :class:`torch.distributions.Transform` on vectors ``(..., D)``. The
transform objects come from zuko and torch (``AffineTransform``, ``LULinearTransform``,
``CouplingTransform``, ``MonotonicAffineTransform``, ``AdditiveTransform``); this module holds
their parameters, the data-dependent initialisation that zuko does not provide (actnorm,
Glow's zero-initialised coupling output), and two thin subclasses that evaluate zuko's LU and
coupling transforms with fewer memory copies (they dominate CPU time at these sizes).

The condition enters through broadcasting: a condition of shape ``(B, 1, C)`` with inputs
``(B, M, D)`` is projected once per image, not once per row, which is what makes training on an
image together with its ``M`` neighbours cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch import BoolTensor, Tensor, nn
from torch.distributions import AffineTransform, Transform
from zuko.lazy import LazyTransform
from zuko.transforms import (
    AdditiveTransform,
    CouplingTransform,
    DependentTransform,
    LULinearTransform,
    MonotonicAffineTransform,
)

COUPLING_KINDS = ("affine", "additive")
"""Element-wise maps a coupling layer can apply to its transformed half."""


def _batch_std(x: Tensor, eps: float = 1e-6) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of ``x (..., D)`` over all leading dims -> ``(D,), (D,)``."""
    flat = x.reshape(-1, x.shape[-1])
    return flat.mean(dim=0), flat.std(dim=0, unbiased=False).clamp_min(eps)


class Standardize(LazyTransform):
    """Fixed input normalisation ``y = (x - mean) / std`` held in buffers.

    The statistics are computed once from training data (:meth:`set`) and saved with the flow,
    so a stored flow evaluates densities in the original units of its inputs.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))

    @torch.no_grad()
    def set(self, mean: Tensor, std: Tensor) -> None:
        """Store the statistics ``mean (D,)`` and ``std (D,)`` (``std`` must be positive)."""
        if mean.shape != self.mean.shape or std.shape != self.std.shape:
            raise ValueError(f"mean/std: expected shape {tuple(self.mean.shape)}, "
                             f"got {tuple(mean.shape)} and {tuple(std.shape)}")
        if not bool((std > 0).all()):
            raise ValueError("std: expected strictly positive values")
        self.mean.copy_(mean)
        self.std.copy_(std)

    def forward(self, c: Tensor | None = None) -> Transform:
        return AffineTransform(-self.mean / self.std, 1.0 / self.std, event_dim=1)


class ActNorm(LazyTransform):
    """Glow's activation normalisation ``y = x * exp(log_scale) + shift`` per feature.

    Initialised from data by :meth:`initialize` so that its first outputs have zero mean and
    unit variance; afterwards both vectors are ordinary trainable parameters.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(features))
        self.log_scale = nn.Parameter(torch.zeros(features))

    @torch.no_grad()
    def initialize(self, x: Tensor, c: Tensor | None = None) -> None:
        """Set the parameters from a batch ``x (..., D)`` of this step's inputs."""
        mean, std = _batch_std(x)
        self.log_scale.copy_(-std.log())
        self.shift.copy_(-mean / std)

    def forward(self, c: Tensor | None = None) -> Transform:
        return AffineTransform(self.shift, self.log_scale.exp(), event_dim=1)


class ConditionalActNorm(LazyTransform):
    """Actnorm whose shift and log-scale are affine functions of the condition.

    ``[shift, log_scale] = W c + b`` with ``W`` zero at initialisation and ``b`` set from data
    by :meth:`initialize`, so the step starts as a data-initialised :class:`ActNorm`.
    """

    def __init__(self, features: int, condition: int) -> None:
        super().__init__()
        if condition < 1:
            raise ValueError(f"condition: a conditional actnorm needs condition >= 1, got {condition}")
        self.linear = nn.Linear(condition, 2 * features)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    @torch.no_grad()
    def initialize(self, x: Tensor, c: Tensor | None = None) -> None:
        """Set the bias from a batch ``x (..., D)`` of this step's inputs (weights stay zero)."""
        mean, std = _batch_std(x)
        self.linear.weight.zero_()
        self.linear.bias.copy_(torch.cat([-mean / std, -std.log()]))

    def forward(self, c: Tensor | None = None) -> Transform:
        if c is None:
            raise ValueError("condition: a conditional actnorm needs a condition tensor")
        shift, log_scale = self.linear(c).chunk(2, dim=-1)
        return AffineTransform(shift, log_scale.exp(), event_dim=1)


class PermutedLUTransform(LULinearTransform):
    """``y = P L U x`` as a single matrix product (one GEMM for a whole batch).

    zuko's ``LULinearTransform`` (whose triangular solves and log-determinant are reused here)
    applies ``L U`` as a batched matrix-vector product, and a separate permutation would copy
    the batch once more; folding ``P`` into one dense weight is several times faster on CPU.
    """

    def __init__(self, LU: Tensor, order: Tensor, inverse_order: Tensor, **kwargs) -> None:
        super().__init__(LU, **kwargs)
        self.inverse_order = inverse_order
        self.weight = (self.L @ self.U)[order]

    def _call(self, x: Tensor) -> Tensor:
        return torch.nn.functional.linear(x, self.weight)

    def _inverse(self, y: Tensor) -> Tensor:
        return super()._inverse(y[..., self.inverse_order])


class SplitCouplingTransform(CouplingTransform):
    """zuko's coupling transform for a mask that keeps a prefix or a suffix of the features.

    The halves are slices and the result one concatenation, instead of the index copies and
    scatter of the general mask; the maths is zuko's. The split is given as plain numbers, found
    once from the mask by :class:`Coupling`: zuko's constructor reads the mask's entries (a wait
    for the device at every construction, i.e. at every fitting step on a GPU).
    """

    def __init__(self, meta: Callable[[Tensor], Transform], kept_first: bool, boundary: int, **kwargs) -> None:
        Transform.__init__(self, **kwargs)
        self.meta = meta
        self.kept_first = kept_first
        self.boundary = boundary

    def split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        first, second = x[..., :self.boundary], x[..., self.boundary:]
        return (first, second) if self.kept_first else (second, first)

    def merge(self, x_a: Tensor, x_b: Tensor, shape: torch.Size) -> Tensor:
        x_a = x_a.expand(*x_b.shape[:-1], x_a.shape[-1])
        return torch.cat([x_a, x_b] if self.kept_first else [x_b, x_a], dim=-1)


class IndexedCouplingTransform(CouplingTransform):
    """zuko's coupling transform for any mask, with the index lists of its two halves ``(D_a,)``
    and ``(D_b,)`` given (zuko finds them with ``nonzero`` at every construction, a device wait)."""

    def __init__(self, meta: Callable[[Tensor], Transform], idx_a: Tensor, idx_b: Tensor, **kwargs) -> None:
        Transform.__init__(self, **kwargs)
        self.meta = meta
        self.idx_a = idx_a
        self.idx_b = idx_b


def _random_lu(features: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
    """LU factors of a random rotation: ``(order (D,), lower_with_diag (D, D), unit_upper (D, D))``.

    ``Q = P L U`` (``torch.linalg.lu``) is rewritten as ``P (L S) (S^-1 U)`` with ``S = diag(U)``
    because zuko's ``LULinearTransform`` keeps the diagonal in its lower factor.
    """
    gaussian = torch.randn(features, features, generator=generator, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(gaussian)
    permutation, lower, upper = torch.linalg.lu(rotation)
    diagonal = torch.diagonal(upper)
    order = permutation.argmax(dim=1)
    return order, lower * diagonal, upper / diagonal.unsqueeze(-1)


class LULinear(LazyTransform):
    """Invertible linear map ``y = P L U x`` (Glow's invertible 1x1 convolution on vectors).

    ``P`` is a fixed permutation, ``L`` lower triangular with diagonal ``sign * exp(log_diag)``
    and ``U`` unit upper triangular; initialised at a random rotation. The log-determinant is
    ``sum(log_diag)``, and inverting costs two triangular solves.
    """

    def __init__(self, features: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        order, lower, upper = _random_lu(features, generator)
        diagonal = torch.diagonal(lower)
        self.register_buffer("order", order)
        self.register_buffer("sign", diagonal.sign().float())
        self.register_buffer("strict_lower_mask", torch.tril(torch.ones(features, features), -1))
        self.log_diag = nn.Parameter(diagonal.abs().log().float())
        self.lower = nn.Parameter((lower * self.strict_lower_mask).float())
        self.upper = nn.Parameter((upper * self.strict_lower_mask.T).float())

    def factors(self) -> Tensor:
        """The packed factor matrix ``(D, D)`` zuko expects: ``L`` on and below the diagonal,
        the strict upper part of ``U`` above it."""
        diagonal = torch.diag_embed(self.sign * self.log_diag.exp())
        mask = self.strict_lower_mask
        return self.lower * mask + diagonal + self.upper * mask.T

    def forward(self, c: Tensor | None = None) -> Transform:
        return PermutedLUTransform(self.factors(), self.order, torch.argsort(self.order))


def split_point(mask: BoolTensor) -> tuple[bool, int] | None:
    """``(kept_first, boundary)`` when the True entries of ``mask (D,)`` form its beginning
    (``kept_first``) or its end, ``boundary`` being the size of the first part; None otherwise."""
    flags = mask.tolist()
    changes = sum(a != b for a, b in zip(flags, flags[1:]))
    if changes != 1:
        return None
    return flags[0], flags.index(not flags[0])


def coupling_mask(features: int, parity: int) -> BoolTensor:
    """Mask ``(D,)`` whose True entries (the first half for even ``parity``, the last part for
    odd) condition the others; the LU steps in between mix features across the split."""
    first = torch.arange(features) < (features + 1) // 2
    return first if parity % 2 == 0 else ~first


class Coupling(LazyTransform):
    """Affine or additive coupling whose network sees the condition.

    The kept half ``x_a`` and the condition go through an MLP ``h = relu(A x_a + C c + b)``,
    ``hidden_layers - 1`` more ``relu(W h)`` layers and a zero-initialised output layer (so the
    step starts as the identity, as in Glow) giving per-feature ``(shift, scale)`` (affine,
    zuko's soft-clamped ``MonotonicAffineTransform``) or ``shift`` (additive) for ``x_b``.
    """

    def __init__(self, features: int, condition: int, mask: BoolTensor, width: int,
                 hidden_layers: int, kind: str) -> None:
        super().__init__()
        if kind not in COUPLING_KINDS:
            raise ValueError(f"coupling: expected one of {COUPLING_KINDS}, got {kind!r}")
        if hidden_layers < 1:
            raise ValueError(f"hidden_layers: expected >= 1, got {hidden_layers}")
        self.register_buffer("mask", mask)
        self._layout_from_mask()
        self.kind = kind
        kept, changed = int(mask.sum()), int((~mask).sum())
        self.input = nn.Linear(kept, width)
        self.context = nn.Linear(condition, width, bias=False) if condition > 0 else None
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(hidden_layers - 1))
        self.output = nn.Linear(width, changed * (2 if kind == "affine" else 1))
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def network(self, context: Tensor | None, x_a: Tensor) -> Transform:
        """Element-wise transform of ``x_b`` given ``x_a (..., D_a)`` and the projected context."""
        h = self.input(x_a)
        if context is not None:
            h = h + context
        h = torch.relu_(h)
        for layer in self.hidden:
            h = torch.relu_(layer(h))
        phi = self.output(h)
        if self.kind == "additive":
            return DependentTransform(AdditiveTransform(phi), 1)
        shift, scale = phi.unflatten(-1, (-1, 2)).unbind(-1)
        return DependentTransform(MonotonicAffineTransform(shift, scale), 1)

    def _layout_from_mask(self) -> None:
        """Read the mask's split once (host reads), so building the transform at every call does not."""
        self.split_at = split_point(self.mask)
        self.register_buffer("idx_a", self.mask.nonzero().squeeze(-1), persistent=False)
        self.register_buffer("idx_b", (~self.mask).nonzero().squeeze(-1), persistent=False)

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._layout_from_mask()  # the file's mask may differ from the constructor's

    def forward(self, c: Tensor | None = None) -> Transform:
        context = self.context(c) if self.context is not None and c is not None else None
        meta = partial(self.network, context)
        if self.split_at is not None:
            return SplitCouplingTransform(meta, *self.split_at)
        return IndexedCouplingTransform(meta, self.idx_a, self.idx_b)  # e.g. an alternating mask from an older file


def gaussian_log_prob(z: Tensor) -> Tensor:
    """Log-density of the standard normal base: ``z (..., D) -> (...)``."""
    return -0.5 * (z.square().sum(dim=-1) + z.shape[-1] * math.log(2.0 * math.pi))
