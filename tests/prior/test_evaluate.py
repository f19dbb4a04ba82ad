"""Best-of-n evaluation: exact on known samples; a conditional prior beats an unconditional one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.evaluate import best_of_n_error, point_to_ray_error
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.prior import load_prior
from hoirecon.prior.synthetic import synthetic_interactions
from hoirecon.prior.train import train_prior
from hoirecon.prior.train_config import TrainConfig


class FixedSamples:
    """Stands in for a prior whose samples are known."""

    def __init__(self, samples: torch.Tensor) -> None:
        self.samples = samples
        self.n_keypoints = samples.shape[-2] - 1

    def sample(self, observations, n, observed_x25d=None, generator=None, features=None):
        return self.samples[:len(observations), :n]


def test_point_to_ray_error_geometry() -> None:
    x25d = torch.tensor([[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    points = torch.tensor([[[0.3, 0.0, 5.0], [2.0, 0.0, 0.0]]])  # 0.3 m off, on the ray
    torch.testing.assert_close(point_to_ray_error(x25d, points), torch.tensor([0.15]))
    behind = torch.tensor([[[0.0, 0.0, -2.0], [2.0, 0.0, 0.0]]])  # behind the camera: to the centre
    torch.testing.assert_close(point_to_ray_error(x25d, behind), torch.tensor([1.0]))


def test_best_of_n_finds_the_true_view_among_samples() -> None:
    data = synthetic_interactions(6, object_keypoints=2, n_clusters=6, jitter=0.0)
    other = synthetic_interactions(6 * 4, object_keypoints=2, n_clusters=6, seed=5).x25d.view(6, 4, 25, 3)
    with_truth = torch.cat([other[:, :2], data.x25d[:, None], other[:, 2:]], dim=1)
    for truth, kind in ((data.x3d, "point-to-ray"), (data.x25d, "ray")):
        hit = best_of_n_error(FixedSamples(with_truth), data.observations, truth, n=5)
        miss = best_of_n_error(FixedSamples(other), data.observations, truth, n=4)
        assert hit.distance == kind and hit.per_image.shape == (6,)
        assert hit.median < 1e-5 < 0.01 < miss.median


def test_prior_density_depends_on_the_image(tmp_path: Path) -> None:
    """The condition reaches the flow: the same 2.5D vector scores differently for different
    images under a conditional prior, identically under an unconditional one."""
    data = synthetic_interactions(40, object_keypoints=2, n_clusters=4, jitter=0.01)
    grouping = group_images(data.x25d, GroupingConfig(k=4))
    config = TrainConfig(flow=FlowConfig(depth=2, width=16), encoder=EncoderConfig(width=16, features=8),
                         epochs=1, batch_size=16, neighbours_per_step=2, patience=None)
    target = data.x25d[:1, None].expand(8, 1, -1, -1)
    spread = {}
    for name in ("keypoints", "none"):
        run = replace(config, encoder=replace(config.encoder, name=name))
        prior = load_prior(train_prior(data.x25d, data.observations, grouping, run, tmp_path / name).prior_path)
        spread[name] = float(prior.log_prob(data.observations[:8], target).detach().std())
        result = best_of_n_error(prior, data.observations[:8], data.x3d[:8], n=4)
        assert result.per_image.shape == (8,) and result.median > 0
    assert spread["keypoints"] > 1e-4 and spread["none"] < 1e-5
