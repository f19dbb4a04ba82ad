"""Condition encoders: what the flow sees of an image (the ``f`` of eq. 8).

Encoders are chosen by name from :data:`ENCODERS` and trained jointly with the flow. Each maps
an image's observations ``(B, K, 3)`` (normalised ``u, v`` and a confidence per keypoint) and,
optionally, its own 2.5D representation ``(B, K + 1, 3)`` to a feature ``(B, C)``.

* ``keypoints`` (default): an MLP over the observed 2D layout, centred and scaled by the
  bounding box of the confident keypoints (so it ignores where the person is in the image and
  how large), with the confidences; optionally also the observed rays and camera centre.
* ``none``: no condition (``C = 0``), for an unconditional flow of the same architecture.
* ``efficientnet-lite0``, ``resnet50``: image backbones of the reference implementation;
  registered names that need image input, which this build does not take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

CONFIDENCE_MIN = 0.05
"""Keypoints with a lower confidence are treated as missing."""


@dataclass(frozen=True)
class EncoderConfig:
    """Which condition encoder to build and its size."""

    name: str = "keypoints"
    """Registered encoder name (see ENCODERS)."""
    features: int = 256
    """Output feature dimension C (ignored by 'none', which has C = 0)."""
    width: int = 256
    """Hidden width of the MLP."""
    hidden_layers: int = 2
    """Hidden layers of the MLP."""
    use_rays: bool = False
    """Also feed the image's own observed 2.5D representation (rays and camera centre)."""


class ConditionEncoder(nn.Module):
    """Base class: ``forward(observations (B, K, 3), x25d (B, K + 1, 3) | None) -> (B, C)``."""

    features: int


def normalize_layout(observations: Tensor) -> Tensor:
    """Centre and scale ``(u, v)`` by the box of confident keypoints: ``(..., K, 3) -> (..., K, 3)``.

    Missing keypoints (confidence below CONFIDENCE_MIN) get ``(0, 0, 0)``.
    """
    uv, conf = observations[..., :2], observations[..., 2:3]
    seen = conf > CONFIDENCE_MIN
    big = torch.finfo(uv.dtype).max
    low = torch.where(seen, uv, big).amin(dim=-2, keepdim=True)
    high = torch.where(seen, uv, -big).amax(dim=-2, keepdim=True)
    any_seen = seen.any(dim=-2, keepdim=True)
    centre = torch.where(any_seen, 0.5 * (low + high), 0.0)
    scale = torch.where(any_seen, (high - low).amax(dim=-1, keepdim=True), 1.0).clamp_min(1e-6)
    return torch.cat([(uv - centre) / scale, conf], dim=-1) * seen


def _mlp(inputs: int, width: int, hidden_layers: int, outputs: int) -> nn.Sequential:
    """ReLU MLP with ``hidden_layers`` hidden layers of size ``width`` and a LayerNorm output.

    The final LayerNorm keeps the condition at unit scale, so the flow sees differences between
    images from the first step instead of a nearly constant vector.
    """
    sizes = [inputs] + [width] * hidden_layers
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], outputs), nn.LayerNorm(outputs))


class KeypointEncoder(ConditionEncoder):
    """MLP over the bbox-normalised 2D layout (and optionally the observed 2.5D vector)."""

    def __init__(self, config: EncoderConfig, n_keypoints: int) -> None:
        super().__init__()
        self.features = config.features
        self.use_rays = config.use_rays
        self.n_keypoints = n_keypoints
        inputs = 3 * n_keypoints + (3 * (n_keypoints + 1) if config.use_rays else 0)
        self.mlp = _mlp(inputs, config.width, config.hidden_layers, config.features)

    def forward(self, observations: Tensor, x25d: Tensor | None = None) -> Tensor:
        if observations.shape[-2:] != (self.n_keypoints, 3):
            raise ValueError(f"observations: expected shape (B, {self.n_keypoints}, 3), "
                             f"got {tuple(observations.shape)}")
        inputs = [normalize_layout(observations).flatten(-2)]
        if self.use_rays:
            if x25d is None or x25d.shape[-2:] != (self.n_keypoints + 1, 3):
                raise ValueError(f"x25d: encoder uses rays, expected shape "
                                 f"(B, {self.n_keypoints + 1}, 3)")
            inputs.append(x25d.flatten(-2))
        return self.mlp(torch.cat(inputs, dim=-1))


class NoEncoder(ConditionEncoder):
    """The empty condition ``(B, 0)`` of an unconditional prior."""

    def __init__(self, config: EncoderConfig, n_keypoints: int) -> None:
        super().__init__()
        self.features = 0

    def forward(self, observations: Tensor, x25d: Tensor | None = None) -> Tensor:
        return observations.new_zeros(observations.shape[:-2] + (0,))


def _needs_images(name: str) -> Callable[[EncoderConfig, int], ConditionEncoder]:
    """Factory for a registered image backbone that this build cannot run."""
    def build(config: EncoderConfig, n_keypoints: int) -> ConditionEncoder:
        raise ValueError(f"encoder: {name!r} needs image input; not available in this build "
                         f"(use 'keypoints' or 'none')")
    return build


ENCODERS: dict[str, Callable[[EncoderConfig, int], ConditionEncoder]] = {
    "keypoints": KeypointEncoder,
    "none": NoEncoder,
    "efficientnet-lite0": _needs_images("efficientnet-lite0"),
    "resnet50": _needs_images("resnet50"),
}
"""Encoder factories by name: ``factory(config, n_keypoints) -> ConditionEncoder``."""


def register_encoder(name: str, factory: Callable[[EncoderConfig, int], ConditionEncoder]) -> None:
    """Add (or replace) an encoder factory under ``name``."""
    ENCODERS[name] = factory


def build_encoder(config: EncoderConfig, n_keypoints: int) -> ConditionEncoder:
    """Instantiate the encoder named by ``config.name`` for ``n_keypoints`` keypoints."""
    if config.name not in ENCODERS:
        raise ValueError(f"encoder: unknown name {config.name!r}; registered: {sorted(ENCODERS)}")
    return ENCODERS[config.name](config, n_keypoints)
