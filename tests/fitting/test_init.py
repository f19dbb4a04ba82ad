"""Batch initialisation: body from an estimate, human-frame object poses, per-sample fallbacks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hoirecon.body import load_body_model
from hoirecon.data.dataset import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.body_init import init_body_from_estimate, rest_pelvis
from hoirecon.fitting.init import init_batch, init_object_pnp, object_pose_in_human_frame
from hoirecon.geometry import RigidTransform
from hoirecon.objects import get_category_template

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate(root, SynthConfig(categories=("baseball_bat",), train=4, test=0, image_size=96))
    return load_dataset(root)


class _Est:
    def __init__(self, betas, body_pose, global_orient, transl):
        self.betas, self.body_pose, self.global_orient, self.transl = betas, body_pose, global_orient, transl


def test_body_init_pelvis_is_transl_plus_rest_pelvis(body) -> None:
    rng = np.random.default_rng(0)
    est = _Est(rng.normal(0, 1, 10), rng.normal(0, 0.3, 63), rng.normal(0, 1, 3), np.array([0.1, 0.2, 3.0]))
    init = init_body_from_estimate(est, body)
    as_t = lambda a: torch.tensor(a[None], dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        out = body(betas=as_t(est.betas), body_pose=as_t(est.body_pose), global_orient=as_t(est.global_orient),
                   transl=as_t(est.transl))
    np.testing.assert_allclose(init.pelvis_cam, out.joints[0, 0].double().numpy(), atol=1e-5)
    np.testing.assert_allclose(init.pelvis_cam - init.transl, rest_pelvis(body, est.betas), atol=1e-12)
    long_pose = init_body_from_estimate(_Est(est.betas[:4], np.zeros(69), est.global_orient, est.transl), body)
    assert long_pose.body_pose.shape == (63,) and long_pose.betas.shape == (10,)
    with pytest.raises(ValueError, match="transl"):
        init_body_from_estimate(_Est(est.betas, est.body_pose, est.global_orient, np.zeros(2)), body)


def test_object_pose_in_human_frame_round_trips_the_ground_truth(synth, body) -> None:
    template = get_category_template("baseball_bat")
    for sample in synth.samples("baseball_bat", "train"):
        gt = sample.gt
        pose_cam = sample.object_pose_camera()
        R_cam, t_cam = pose_cam.rotation, pose_cam.translation
        uvw = (gt.object_scale * template.vertices @ R_cam.T + t_cam) @ sample.intrinsics.T
        pixels = uvw[:, :2] / uvw[:, 2:]
        pnp = init_object_pnp(template.vertices, pixels, np.ones(len(pixels)), sample.intrinsics,
                              scale=gt.object_scale)
        pose_h = object_pose_in_human_frame(pnp.pose, init_body_from_estimate(gt, body))
        np.testing.assert_allclose(pose_h.rotation, gt.object_rotation, atol=1e-4)
        np.testing.assert_allclose(pose_h.translation, gt.object_translation, atol=1e-4)


def test_init_batch_uses_estimates_and_falls_back_per_sample(synth, body) -> None:
    template = get_category_template("baseball_bat")
    samples = list(synth.samples("baseball_bat", "train"))
    est = samples[2].estimate
    broken = dataclasses.replace(est, corr_weight=np.zeros_like(est.corr_weight))
    samples[1] = dataclasses.replace(samples[1], estimate=None)
    samples[2] = dataclasses.replace(samples[2], estimate=broken)
    batch = init_batch(samples, template, body)
    assert len(batch) == 4 and batch.betas.shape == (4, 10) and batch.object_rotation.shape == (4, 3, 3)
    assert batch.body_source == ["estimate", "smplify", "estimate", "estimate"]
    assert any("SMPLify" in n for n in batch.notes[1])
    assert batch.object_success.tolist() == [True, False, False, True]
    assert batch.object_method[0] == "ransac" and batch.notes[0] == [] and batch.notes[2]
    for i in (0, 3):
        t_gt = samples[i].object_pose_camera().translation
        assert abs(batch.object_translation_cam[i, 2] / t_gt[2] - 1) < 0.35
        pose_cam = RigidTransform(rotation=batch.object_rotation_cam[i], translation=batch.object_translation_cam[i])
        pose_h = object_pose_in_human_frame(pose_cam, batch.body(i))
        np.testing.assert_allclose(batch.object_rotation[i], pose_h.rotation)
        np.testing.assert_allclose(batch.object_translation[i], pose_h.translation)
    with pytest.raises(ValueError, match="samples"):
        init_batch([], template, body)


# ---- estimator files -------------------------------------------------------------------------
