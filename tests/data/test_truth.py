"""Ground-truth access: the 3D keypoints in joint-then-object order, samples without truth named,
and the filters."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.data.truth import has_instances, has_truth, true_instances, true_x3d, with_truth


def test_true_keypoints_and_filters(tmp_path: Path) -> None:
    generate(tmp_path, SynthConfig(categories=("skateboard",), train=3, test=0, image_size=48, seed=2))
    samples = list(load_dataset(tmp_path).samples("skateboard", "train"))
    x3d = true_x3d(samples)
    assert x3d.shape == (3, 22 + 8, 3) and x3d.dtype == np.float32
    np.testing.assert_allclose(x3d[1, :22], samples[1].gt.joints_3d, atol=1e-6)
    np.testing.assert_allclose(x3d[1, 22:], samples[1].gt.object_keypoints_3d, atol=1e-6)
    np.testing.assert_allclose(x3d[:, 0], 0.0, atol=1e-5)  # the pelvis is the human frame's origin
    blind = dataclasses.replace(samples[2], gt=None)
    assert has_truth(samples) and not has_truth([samples[0], blind]) and not has_truth([])
    assert with_truth([samples[0], blind, samples[1]]) == [samples[0], samples[1]]
    with pytest.raises(ValueError, match=samples[2].image_id):
        true_x3d([samples[0], blind])


def test_true_instances_number_the_instance_ids(tmp_path: Path) -> None:
    generate(tmp_path, SynthConfig(categories=("skateboard",), train=4, test=0, image_size=48, seed=2,
                                   views_per_instance=2))
    samples = list(load_dataset(tmp_path).samples("skateboard", "train"))
    assert has_instances(samples) and true_instances(samples).tolist() == [0, 0, 1, 1]
    stripped = dataclasses.replace(samples[1], gt=dataclasses.replace(samples[1].gt, instance_id=None))
    assert not has_instances([samples[0], stripped]) and not has_instances([])
    with pytest.raises(ValueError, match=samples[1].image_id):
        true_instances([samples[0], stripped])
