"""Training data with image features: batches carry them, training uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.prior import load_prior
from hoirecon.prior.synthetic import synthetic_interactions
from hoirecon.prior.train import train_prior
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.training_set import TrainingSet


def test_batches_carry_the_features_of_their_images() -> None:
    data = synthetic_interactions(12, object_keypoints=2, n_clusters=2)
    grouping = group_images(data.x25d, GroupingConfig(k=3))
    features = torch.arange(12.0)[:, None].expand(12, 5)
    with_features = TrainingSet(data.x25d, data.observations, grouping, features=features)
    rows = torch.tensor([7, 2, 9])
    batch = with_features.batch(rows, 2, torch.Generator().manual_seed(0))
    torch.testing.assert_close(batch.features, features[rows])
    plain = TrainingSet(data.x25d, data.observations, grouping)
    assert plain.batch(rows, 2, None).features is None
    assert plain.fingerprint() != with_features.fingerprint()  # resuming on other features is refused
    for bad in (torch.zeros(11, 5), torch.zeros(12), torch.full((12, 5), float("nan"))):
        with pytest.raises(ValueError, match="features"):
            TrainingSet(data.x25d, data.observations, grouping, features=bad)


def test_image_prior_learns_from_features_what_the_layout_does_not_show(tmp_path: Path) -> None:
    """With the keypoints hidden, only the image feature (here: a fixed random code of each image's
    own 2.5D vector) tells the images apart: an image's own vector must score higher under its own
    feature than under another image's."""
    data = synthetic_interactions(96, object_keypoints=2, n_clusters=4, jitter=0.02)
    hidden = torch.zeros_like(data.observations)
    code = torch.randn(data.x25d[0].numel(), 1280, generator=torch.Generator().manual_seed(1))
    features = data.x25d.flatten(1) @ code
    base = TrainConfig(supervision="3d", flow=FlowConfig(depth=2, width=32), epochs=15, batch_size=16,
                       encoder=EncoderConfig(name="efficientnet-lite0", width=32, features=16), lr=3e-3,
                       init_images=64, val_fraction=0.25, patience=None)
    targets, other = data.x25d[:, None], torch.roll(torch.arange(96), 1)
    image = load_prior(train_prior(targets, hidden, None, base, tmp_path / "image", features=features).prior_path)
    assert image.backbone == "efficientnet-lite0"
    with torch.no_grad():
        gain = image.log_prob(hidden, targets, features=features) - \
            image.log_prob(hidden, targets, features=features[other])
    assert gain.mean() > 0.5 and (gain > 0).float().mean() > 0.55
    with pytest.raises(ValueError, match="needs the image features"):
        image.log_prob(hidden[:2], targets[:2])
