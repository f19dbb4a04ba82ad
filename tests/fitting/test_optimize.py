"""The two-phase optimisation on a template that has no keypoints (a user's mesh): only
correspondences place the object, and the fit must still recover it."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.body import load_body_model
from hoirecon.data import load_dataset
from hoirecon.data.sample import Sample
from hoirecon.data.synthetic.estimators import EstimatorNoise
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.init import init_batch
from hoirecon.fitting.optimize import get_preset, optimise
from hoirecon.fitting.pipeline import build_batch
from hoirecon.fitting.state import FitState
from hoirecon.objects import ObjectTemplate, get_category_template

CLEAN = EstimatorNoise(keypoint_px=0.0, body_pose_rad=0.0, body_shape=0.0, orient_deg=0.0, depth_rel=0.0,
                       corr_px=0.0, corr_outliers=0.0, object_keypoint_px=0.0)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("skateboard",), train=0, test=3, seed=5, image_size=128, noise=CLEAN)
    return generate(tmp_path_factory.mktemp("clean") / "ds", config)


def without_keypoints(template: ObjectTemplate) -> ObjectTemplate:
    """The template's mesh and symmetries with no keypoint at all."""
    return replace(template, keypoint_vertex_ids=(), keypoint_names=(),
                   keypoint_permutations=np.zeros((len(template.symmetries), 0), dtype=np.int64))


def body_only(sample: Sample) -> Sample:
    """The sample's 22 body keypoints and no object keypoint (correspondences kept)."""
    estimate = replace(sample.estimate, object_keypoints_2d=np.zeros((0, 2)), object_keypoint_conf=np.zeros(0))
    return replace(sample, keypoints_2d=sample.keypoints_2d[:22], keypoint_conf=sample.keypoint_conf[:22],
                   keypoint_visible=sample.keypoint_visible[:22], estimate=estimate)


def test_a_template_without_keypoints_is_fitted_from_its_correspondences(clean: Path) -> None:
    template = without_keypoints(get_category_template("skateboard"))
    assert template.num_keypoints == 0
    samples = [body_only(s) for s in load_dataset(clean).samples("skateboard", "test")]
    assert all(len(s.estimate.corr_points) > 0 for s in samples)
    body = load_body_model()
    ctx = FitContext("skateboard", template, body, get_preset("none", object_steps=200, joint_steps=10, lr=0.01))
    batch = build_batch(ctx, samples, init_batch(samples, template, body))
    batch.init_obj_translation = batch.init_obj_translation + torch.tensor([0.1, -0.05, 0.05])
    state = FitState(batch, torch.zeros(len(samples), 8, 3))
    terms = optimise(state, batch, body, template, ctx.config)
    assert all(torch.isfinite(value).all() for value in terms.values())
    scale = state.obj_scale().detach().numpy()
    for i, s in enumerate(samples):
        got = state.to_camera(state.obj_translation[:, None])[i, 0].detach().numpy() / scale[i]
        want = s.object_pose_camera().translation / s.gt.object_scale
        assert np.linalg.norm(got - want) < 0.03, (i, got, want)
