"""Condition encoders: registry, layout normalisation, shapes."""

from __future__ import annotations

import pytest
import torch

from hoirecon.prior.encoders import EncoderConfig, build_encoder, normalize_layout


def test_layout_normalisation_ignores_position_and_scale_and_missing_points() -> None:
    obs = torch.rand(3, 24, 3) + 0.1
    obs[:, 5, 2] = 0.0  # a missing keypoint
    moved = obs.clone()
    moved[..., :2] = 2.5 * obs[..., :2] + torch.tensor([0.3, -1.0])
    moved[:, 5, :2] = 100.0  # wherever a missing keypoint lies, it must not matter
    torch.testing.assert_close(normalize_layout(moved), normalize_layout(obs))
    assert (normalize_layout(obs)[:, 5] == 0).all()
    assert normalize_layout(torch.zeros(2, 24, 3)).abs().sum() == 0


def test_registry() -> None:
    enc = build_encoder(EncoderConfig(features=12, width=8, use_rays=True), 24)
    assert enc(torch.rand(5, 24, 3), torch.rand(5, 25, 3)).shape == (5, 12)
    with pytest.raises(ValueError, match="x25d"):
        enc(torch.rand(5, 24, 3))
    assert build_encoder(EncoderConfig(name="none"), 24)(torch.rand(5, 24, 3)).shape == (5, 0)
    assert build_encoder(EncoderConfig(), 24).backbone is None
    for name, dim in (("efficientnet-lite0", 1280), ("resnet50", 2048)):
        image = build_encoder(EncoderConfig(name=name, features=12, width=8), 24)
        assert image.backbone == name and image.image_features == dim
        assert image(torch.rand(5, 24, 3), None, torch.rand(5, dim)).shape == (5, 12)
        with pytest.raises(ValueError, match="needs the image features"):
            image(torch.rand(5, 24, 3))
        with pytest.raises(ValueError, match="features: expected shape"):
            image(torch.rand(5, 24, 3), None, torch.rand(5, 7))
    with pytest.raises(ValueError, match="unknown"):
        build_encoder(EncoderConfig(name="vit"), 24)


def test_image_encoder_sees_both_the_image_and_the_layout() -> None:
    encoder = build_encoder(EncoderConfig(name="efficientnet-lite0", features=12, width=16, use_rays=True), 24)
    obs, rays, feats = torch.rand(4, 24, 3) + 0.1, torch.rand(4, 25, 3), torch.rand(4, 1280)
    out = encoder(obs, rays, feats)
    assert not torch.allclose(encoder(obs, rays, torch.rand(4, 1280)), out, atol=1e-4)
    assert not torch.allclose(encoder(obs.flip(1), rays, feats), out, atol=1e-4)
    # the backbone feature is standardised per image: its scale does not matter
    torch.testing.assert_close(encoder(obs, rays, 3.0 * feats), out, atol=1e-4, rtol=1e-4)
    out.square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in encoder.parameters())
