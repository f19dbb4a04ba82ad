"""Condition encoders: what the flow sees of an image (the ``f`` of eq. 8).

Encoders are chosen by name from :data:`ENCODERS` and trained jointly with the flow. Each maps
an image's observations ``(B, K, 3)`` (normalised ``u, v`` and a confidence per keypoint),
optionally its own 2.5D representation ``(B, K + 1, 3)`` and, for image encoders, a backbone
feature of the image ``(B, F)`` to a condition ``(B, C)``.

* ``keypoints`` (default): an MLP over the observed 2D layout, centred and scaled by the
  bounding box of the confident keypoints (so it ignores where the person is in the image and
  how large), with the confidences; optionally also the observed rays and camera centre.
* ``none``: no condition (``C = 0``), for an unconditional flow of the same architecture.
* ``efficientnet-lite0`` (``F = 1280``), ``resnet50`` (``F = 2048``): the same MLP over the layout
  and, concatenated, the image's feature from a frozen ImageNet backbone (``backbones``), computed
  once per image on the crop around person and object and cached (``features``). Only the MLP
  is trained: on a CPU a jointly trained CNN would dominate the run time; with the layout as an
  input the head can represent what ``keypoints`` does. A prior file stores the head, not the
  backbone weights: those come from the ``images`` extra (EfficientNet-Lite0) or a local
  torchvision ResNet-50 file (``EncoderConfig.weights``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from hoirecon.prior.backbones import backbone_features

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
    weights: str | None = None
    """Local backbone weights file of an image encoder (None: the default source; see backbones)."""


class ConditionEncoder(nn.Module):
    """Base class: ``forward(observations (B, K, 3), x25d (B, K + 1, 3) | None,
    features (B, F) | None) -> (B, C)``."""

    features: int
    backbone: str | None = None
    """Name of the backbone whose image features the encoder needs (None: no image input)."""


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

    def __init__(self, config: EncoderConfig, n_keypoints: int, extra_inputs: int = 0) -> None:
        super().__init__()
        self.features = config.features
        self.use_rays = config.use_rays
        self.n_keypoints = n_keypoints
        inputs = 3 * n_keypoints + (3 * (n_keypoints + 1) if config.use_rays else 0)
        self.mlp = _mlp(inputs + extra_inputs, config.width, config.hidden_layers, config.features)

    def layout_inputs(self, observations: Tensor, x25d: Tensor | None) -> Tensor:
        """MLP inputs ``(B, 3K)`` (``(B, 3K + 3(K + 1))`` with rays) of observations ``(B, K, 3)``."""
        if observations.shape[-2:] != (self.n_keypoints, 3):
            raise ValueError(f"observations: expected shape (B, {self.n_keypoints}, 3), "
                             f"got {tuple(observations.shape)}")
        inputs = [normalize_layout(observations).flatten(-2)]
        if self.use_rays:
            if x25d is None or x25d.shape[-2:] != (self.n_keypoints + 1, 3):
                raise ValueError(f"x25d: encoder uses rays, expected shape "
                                 f"(B, {self.n_keypoints + 1}, 3)")
            inputs.append(x25d.flatten(-2))
        return torch.cat(inputs, dim=-1)

    def forward(self, observations: Tensor, x25d: Tensor | None = None,
                features: Tensor | None = None) -> Tensor:
        return self.mlp(self.layout_inputs(observations, x25d))


class ImageEncoder(KeypointEncoder):
    """MLP over the layout inputs of :class:`KeypointEncoder` and a backbone feature ``(B, F)``.

    The feature is standardised per image (a LayerNorm without parameters): pooled backbone
    activations are non-negative with a scale that differs between backbones.
    """

    def __init__(self, config: EncoderConfig, n_keypoints: int, backbone: str) -> None:
        super().__init__(config, n_keypoints, extra_inputs=backbone_features(backbone))
        self.backbone = backbone
        self.image_features = backbone_features(backbone)
        self.standardize = nn.LayerNorm(self.image_features, elementwise_affine=False)

    def forward(self, observations: Tensor, x25d: Tensor | None = None,
                features: Tensor | None = None) -> Tensor:
        if features is None:
            raise ValueError(f"features: encoder {self.backbone!r} needs the image features (B, "
                             f"{self.image_features}) of its backbone (see hoirecon.prior.features)")
        if features.shape != observations.shape[:-2] + (self.image_features,):
            raise ValueError(f"features: expected shape {tuple(observations.shape[:-2])} + "
                             f"({self.image_features},), got {tuple(features.shape)}")
        layout = self.layout_inputs(observations, x25d)
        return self.mlp(torch.cat([layout, self.standardize(features.to(layout))], dim=-1))


class NoEncoder(ConditionEncoder):
    """The empty condition ``(B, 0)`` of an unconditional prior."""

    def __init__(self, config: EncoderConfig, n_keypoints: int) -> None:
        super().__init__()
        self.features = 0

    def forward(self, observations: Tensor, x25d: Tensor | None = None,
                features: Tensor | None = None) -> Tensor:
        return observations.new_zeros(observations.shape[:-2] + (0,))


def _image_encoder(backbone: str) -> Callable[[EncoderConfig, int], ConditionEncoder]:
    """Factory of an :class:`ImageEncoder` on ``backbone``."""
    def build(config: EncoderConfig, n_keypoints: int) -> ConditionEncoder:
        return ImageEncoder(config, n_keypoints, backbone)
    return build


ENCODERS: dict[str, Callable[[EncoderConfig, int], ConditionEncoder]] = {
    "keypoints": KeypointEncoder,
    "none": NoEncoder,
    "efficientnet-lite0": _image_encoder("efficientnet-lite0"),
    "resnet50": _image_encoder("resnet50"),
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
