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
    for name in ("efficientnet-lite0", "resnet50"):
        with pytest.raises(ValueError, match="needs image input"):
            build_encoder(EncoderConfig(name=name), 24)
    with pytest.raises(ValueError, match="unknown"):
        build_encoder(EncoderConfig(name="vit"), 24)
