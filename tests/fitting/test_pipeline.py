import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.body import load_body_model
from hoirecon.data import load_dataset
from hoirecon.data.synthetic.estimators import EstimatorNoise
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting import pipeline
from hoirecon.fitting import prepare as prepare_module
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.init import init_batch
from hoirecon.fitting.optimize import get_preset, optimise
from hoirecon.fitting.pipeline import fit_dataset, fit_split, load_context
from hoirecon.fitting.prepare import build_batch
from hoirecon.fitting.state import FitState
from hoirecon.io.fits import load_fits
from hoirecon.objects import get_category_template

CLEAN = EstimatorNoise(keypoint_px=0.0, body_pose_rad=0.0, body_shape=0.0, orient_deg=0.0, depth_rel=0.0,
                       corr_px=0.0, corr_outliers=0.0, object_keypoint_px=0.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("baseball_bat",), train=4, test=5, seed=11, image_size=128)
    return generate(tmp_path_factory.mktemp("fit") / "ds", config)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("skateboard",), train=0, test=4, seed=2, image_size=128, noise=CLEAN)
    return generate(tmp_path_factory.mktemp("clean") / "ds", config)


def test_optimiser_recovers_a_perturbed_object_from_clean_observations(clean: Path) -> None:
    samples = list(load_dataset(clean).samples("skateboard", "test"))
    template, body = get_category_template("skateboard"), load_body_model()
    ctx = FitContext("skateboard", template, body, get_preset("none", object_steps=300, joint_steps=0, lr=0.01))
    batch = build_batch(ctx, samples, init_batch(samples, template, body))
    batch.init_obj_translation = batch.init_obj_translation + torch.tensor([0.15, -0.1, 0.1])
    state = FitState(batch, torch.zeros(len(samples), 8, 3))
    optimise(state, batch, body, template, ctx.config)
    # a pinhole image fixes the object's translation only up to its scale: compare t / s
    scale = state.obj_scale().detach().numpy()
    for i, s in enumerate(samples):
        got = state.to_camera(state.obj_translation[:, None])[i, 0].detach().numpy() / scale[i]
        want = s.object_pose_camera().translation / s.gt.object_scale
        assert np.linalg.norm(got - want) < 0.02, (i, got, want)


def test_fit_dataset_writes_all_columns_and_resumes(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = replace(get_preset("none", object_steps=20, joint_steps=10), batch_size=2)
    run = fit_dataset(tiny, "baseball_bat", "test", config, tmp_path)
    fits = load_fits(tmp_path, "baseball_bat")
    assert fits.image_ids == [s.image_id for s in load_dataset(tiny).samples("baseball_bat", "test")]
    assert set(fits.loss_terms()) == {"body_keypoints", "object_reprojection", "regularisers"}
    assert run.skipped == []
    assert len(list((tmp_path / "fits" / ".parts").glob("*.npz"))) == 3

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("finished batches must not be refitted")

    monkeypatch.setattr(pipeline, "fit_samples", refuse)
    again = fit_dataset(tiny, "baseball_bat", "test", config, tmp_path)
    np.testing.assert_array_equal(again.results.columns["object_translation"], fits.columns["object_translation"])


def test_bad_sample_is_skipped_and_reported(tiny: Path, tmp_path: Path) -> None:
    data = load_dataset(tiny)
    samples = list(data.samples("baseball_bat", "test"))
    broken = replace(samples[0], keypoints_2d=np.full_like(samples[0].keypoints_2d, np.nan))
    ctx = FitContext("baseball_bat", get_category_template("baseball_bat"), load_body_model(),
                     get_preset("none", object_steps=5, joint_steps=0))
    run = pipeline.fit_split(ctx, [broken, *samples[1:]], tmp_path, "k")
    assert [i for i, _ in run.skipped] == [samples[0].image_id]
    assert "NaN" in run.skipped[0][1]
    assert len(run.results.image_ids) == len(samples) - 1


def test_prior_preset_without_prior_falls_back_with_a_warning(tiny: Path, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    config = get_preset("prior+contact", object_steps=3, joint_steps=2)
    with caplog.at_level("WARNING"):
        fit_dataset(tiny, "baseball_bat", "test", config, tmp_path)
    assert "no trained prior" in caplog.text and "'contact'" in caplog.text
    info = json.loads((tmp_path / "fit.json").read_text())
    assert info["preset"] == "contact" and info["config"]["weights"]["prior"] == 0.0


def test_prefetching_the_next_batch_gives_the_sequential_result(tiny: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_dataset(tiny)
    config = replace(get_preset("contact", object_steps=15, joint_steps=10), batch_size=2)
    ctx = load_context(data, "baseball_bat", config, None, None)
    samples = list(data.samples("baseball_bat", "test"))
    threads: list[str] = []
    prepare = prepare_module.prepare_samples

    def spy(*args: object) -> object:
        threads.append(threading.current_thread().name)
        return prepare(*args)

    plain = fit_split(ctx, samples, tmp_path / "plain", "test", prefetch=False)
    monkeypatch.setattr(prepare_module, "prepare_samples", spy)
    ahead = fit_split(ctx, samples, tmp_path / "ahead", "test", prefetch=True)
    assert len(threads) == 3 and all(name.startswith("hoirecon-prepare") for name in threads)
    for name, column in plain.results.columns.items():
        np.testing.assert_array_equal(ahead.results.columns[name], column, err_msg=name)
