"""The ground-truth ablation inputs: oracle groups are the nearest true configurations, and the
virtual views of the '3d' mode are the exact rays of the true keypoints from their cameras."""

from __future__ import annotations

import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.data.truth import true_x3d
from hoirecon.geometry import points_to_rays
from hoirecon.prior.ablations import ground_truth_groups, virtual_views


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list:
    root = generate(tmp_path_factory.mktemp("ablations") / "ds",
                    SynthConfig(categories=("basketball",), train=12, test=0, seed=4, image_size=48))
    return list(load_dataset(root).samples("basketball", "train"))


def test_ground_truth_groups_are_nearest_in_3d(samples: list) -> None:
    groups = ground_truth_groups(samples, k=3)
    x = torch.as_tensor(true_x3d(samples)).flatten(1)
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    assert torch.equal(groups.neighbours[:, 0], d.argmin(dim=1))
    assert groups.neighbours.shape == (12, 3)
    assert (groups.weights[:, :-1] >= groups.weights[:, 1:]).all()  # nearer neighbours weigh more


def test_virtual_views_are_rays_of_the_true_points(samples: list) -> None:
    views = virtual_views(samples, views=5, seed=1)
    assert views.shape == (12, 5, 22 + 1 + 1, 3)
    x3d = torch.as_tensor(true_x3d(samples))
    centers = views[:, :, -1]
    expected = points_to_rays(x3d[:, None].expand(-1, 5, -1, -1), centers)
    torch.testing.assert_close(views[:, :, :-1], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(virtual_views(samples, views=5, seed=1), views)
