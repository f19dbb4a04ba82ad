"""The two-phase optimisation on a template that has no keypoints (a user's mesh): only
correspondences place the object, and the fit must still recover it."""

from collections.abc import Callable
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
from hoirecon.fitting.optimize import (
    CompileError,
    _phase,
    compiled,
    evaluate,
    fit_constants,
    get_preset,
    loss_terms,
    optimise,
)
from hoirecon.fitting.pipeline import load_context
from hoirecon.fitting.prepare import build_batch
from hoirecon.fitting.state import FitBatch, FitState
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


def _bat_batch(data: Path, preset: str) -> tuple[FitContext, FitBatch]:
    samples = list(load_dataset(data).samples("baseball_bat", "test"))
    template, body = get_category_template("baseball_bat"), load_body_model()
    ctx = load_context(load_dataset(data), "baseball_bat", get_preset(preset, object_steps=6, joint_steps=6), None, None)
    return ctx, build_batch(ctx, samples, init_batch(samples, template, body))


@pytest.fixture(scope="module")
def bats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("baseball_bat",), train=4, test=3, seed=5, image_size=96)
    return generate(tmp_path_factory.mktemp("bats") / "ds", config)


@pytest.mark.slow
def test_the_compiled_loss_gradients_and_steps_match_eager(bats: Path) -> None:
    """One compilation (the slow part) serves three checks: the loss, its gradients, and a few Adam steps."""
    ctx, batch = _bat_batch(bats, "contact")
    assert batch.contact_body_ids.shape[1] > 0  # the contact term is in the graph
    constants = fit_constants(batch, ctx.body, ctx.template, torch.float32, torch.device("cpu"))
    states = [FitState(batch, torch.zeros(batch.size, 8, 3)) for _ in range(2)]

    def loss_of(state: FitState) -> Callable[[], torch.Tensor]:
        def loss() -> torch.Tensor:
            ev = evaluate(state, batch, ctx.body, constants)
            terms = loss_terms(state, batch, ev, ctx.config.weights, constants.permutations, None)
            return sum(t.sum() for t in terms.values())
        return loss

    eager, fast = loss_of(states[0]), compiled(loss_of(states[1]))
    for state, fn in zip(states, (eager, fast)):
        fn().backward()
    torch.testing.assert_close(fast(), eager(), rtol=1e-5, atol=1e-6)
    grads = [[p.grad for p in state.parameters() if p.grad is not None] for state in states]
    assert len(grads[0]) == len(grads[1]) == 7  # every parameter but the virtual cameras (no prior term)
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    for state, fn in zip(states, (eager, fast)):
        _phase(state, list(state.parameters()), 10, ctx.config.lr, fn, None, 0, 10)
    torch.testing.assert_close(states[1].obj_translation, states[0].obj_translation, rtol=0, atol=1e-3)  # metres
    # Adam moves a parameter whose gradient is near 0 by up to lr per step whatever the gradient's size, so
    # rounding differences show there: 1e-2 rad is 5% of the 0.2 rad ten steps can move a joint at most
    torch.testing.assert_close(states[1].body_pose, states[0].body_pose, rtol=0, atol=1e-2)
    torch.testing.assert_close(fast(), eager(), rtol=1e-3, atol=1e-6)


def test_compile_where_it_cannot_run_is_a_clear_error(bats: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch._dynamo

    ctx, batch = _bat_batch(bats, "none")
    config = replace(ctx.config, compile=True)
    monkeypatch.setattr(torch._dynamo, "is_dynamo_supported", lambda: False)
    with pytest.raises(CompileError, match="compile: torch.compile does not support this Python"):
        optimise(FitState(batch, torch.zeros(batch.size, 8, 3)), batch, ctx.body, ctx.template, config)
    monkeypatch.undo()

    def no_compiler(fn: object) -> object:
        def fail() -> None:
            raise torch._dynamo.exc.TorchDynamoException("InvalidCxxCompiler: No working C++ compiler found")
        return fail

    monkeypatch.setattr(torch, "compile", no_compiler)
    with pytest.raises(CompileError, match=r"compile: torch.compile failed \(InvalidCxxCompiler.*needs a C\+\+ compiler"):
        optimise(FitState(batch, torch.zeros(batch.size, 8, 3)), batch, ctx.body, ctx.template, config)
