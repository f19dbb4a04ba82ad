"""Image features for image encoders: the crop, mirror invariance, and the resumable cache."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.sample import Sample
from hoirecon.data.synthetic.estimators import EstimatorNoise
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.prior import features
from hoirecon.prior.features import (
    compute_features,
    crop_box,
    image_features,
    load_crop,
    mask_box,
    read_cache,
)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    clean = EstimatorNoise(keypoint_px=0.0, object_keypoint_px=0.0)
    config = SynthConfig(categories=("basketball",), train=6, test=0, seed=2, image_size=96, noise=clean)
    return list(load_dataset(generate(tmp_path_factory.mktemp("features") / "ds", config)).samples("basketball"))


class FakeBackbone:
    """Stands in for a backbone: mean colour of each image quadrant, ``(B, 3, S, S) -> (B, 12)``."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        s = images.shape[-1] // 2
        quads = [images[..., :s, :s], images[..., :s, s:], images[..., s:, :s], images[..., s:, s:]]
        return torch.cat([q.mean(dim=(-2, -1)) for q in quads], dim=-1)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Swap in the fake backbone; the returned list collects the batch size of every computation."""
    calls: list[int] = []
    monkeypatch.setattr(features, "load_backbone", lambda name, weights=None: FakeBackbone())
    monkeypatch.setattr(features, "backbone_features", lambda name: 12)

    def counting(backbone, crops: torch.Tensor) -> torch.Tensor:
        calls.append(len(crops))
        return compute_features(backbone, crops)

    monkeypatch.setattr(features, "compute_features", counting)
    return calls


def test_crop_is_a_square_around_person_and_object(samples: list[Sample]) -> None:
    for sample in samples:
        box = crop_box(sample)
        assert box[2] - box[0] == box[3] - box[1] > 0
        for part in (mask_box(sample.human_mask_path), mask_box(sample.object_mask_path)):
            assert part is not None
            assert (box[:2] <= part[:2]).all() and (part[2:] <= box[2:]).all()
        no_masks = replace(sample, human_mask_path=None, object_mask_path=None)
        seen = no_masks.keypoints_2d[no_masks.keypoint_conf > 0.05]
        from_keypoints = crop_box(no_masks)
        assert (from_keypoints[:2] <= seen.min(0)).all() and (seen.max(0) <= from_keypoints[2:]).all()


def test_crop_outside_the_image_is_black(samples: list[Sample]) -> None:
    width, height = samples[0].image_size
    crop = load_crop(samples[0], np.array([-width, 0, width, 2 * width]), size=32)
    assert crop.shape == (3, 32, 32) and crop.min() >= 0 and crop.max() <= 1
    assert crop[:, :, :14].abs().max() == 0 and crop[:, :14, 18:].abs().max() > 0
    with pytest.raises(ValueError, match="image file missing"):
        load_crop(replace(samples[0], image_path=Path("/nonexistent.png")), crop_box(samples[0]))


def test_features_do_not_change_when_the_crop_is_mirrored(samples: list[Sample]) -> None:
    crops = torch.stack([load_crop(s, crop_box(s), size=64) for s in samples[:2]])
    backbone = FakeBackbone()
    torch.testing.assert_close(compute_features(backbone, crops.flip(-1)), compute_features(backbone, crops))
    assert not torch.allclose(backbone(crops.flip(-1)), backbone(crops))  # the backbone alone is not


def test_cache_round_trip_reuse_and_resume(samples: list[Sample], counted: list[int], tmp_path: Path) -> None:
    cache = tmp_path / "features.npz"
    first = image_features(samples[:2], "fake", cache, chunk=4)
    assert counted == [2] and first.shape == (2, 12)
    both = image_features(samples, "fake", cache, chunk=3)  # resumes: only the 4 new images
    assert sum(counted) == 6
    torch.testing.assert_close(both[:2], first)
    counted.clear()
    again = image_features(samples, "fake", cache)
    assert counted == [] and torch.equal(again, both)
    assert len(read_cache(cache, "fake")) == len(samples) and read_cache(cache, "other") == {}
    assert not [p for p in tmp_path.iterdir() if p.name != "features.npz"]  # no temporary files left


def test_cache_recomputes_edited_images_and_survives_corruption(samples: list[Sample], counted: list[int],
                                                               tmp_path: Path) -> None:
    copies = []
    for sample in samples[:3]:
        copy = tmp_path / sample.image_path.name
        copy.write_bytes(sample.image_path.read_bytes())
        copies.append(replace(sample, image_path=copy))
    cache = tmp_path / "features.npz"
    image_features(copies, "fake", cache)
    os.utime(copies[1].image_path, ns=(0, 10**9))  # the file changed (as far as its stat tells)
    counted.clear()
    image_features(copies, "fake", cache)
    assert counted == [1]
    cache.write_bytes(b"not an npz")
    counted.clear()
    image_features(copies, "fake", cache)
    assert counted == [3]
