"""CUDA runs against CPU runs, within stated tolerances (marker gpu: ``make test-gpu`` on a CUDA machine).

These are deselected from the CPU suite by selection (``-m 'not gpu'`` in the pytest options), never
skipped: on a machine without CUDA, ``make test-gpu`` fails loudly at the first test.
Tolerances: flow densities 1e-3 nats (float32, different kernels), gradients 1e-3 relative,
a short training run's validation NLL 0.5 nats, fitted object translations 2 cm mean (CUDA against
the CPU, and a compiled fit against an eager one); no fitting step may wait for the GPU.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.device import device_scope, resolve_device
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import DEVICE_BATCH_SIZES, fit_dataset, fit_samples, load_context
from hoirecon.objects import get_category_template
from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images
from hoirecon.prior.layout import KeypointLayout
from hoirecon.prior.prior import Prior, load_prior
from hoirecon.prior.synthetic import synthetic_interactions
from hoirecon.prior.train import Progress, train_prior
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.train_step import weighted_nll
from hoirecon.prior.training_set import TrainingSet

pytestmark = pytest.mark.gpu

CONFIG = TrainConfig(flow=FlowConfig(depth=4, width=64), encoder=EncoderConfig(width=32, features=16),
                     epochs=3, batch_size=32, neighbours_per_step=3, lr=1e-3, checkpoint_every=5,
                     init_images=128, val_fraction=0.2, patience=None)


@pytest.fixture(scope="module")
def cuda() -> torch.device:
    assert torch.cuda.is_available(), "the gpu tests need a CUDA device (run them with make test-gpu on one)"
    return resolve_device("cuda")


@pytest.fixture(scope="module")
def data():
    return synthetic_interactions(160, object_keypoints=2, n_clusters=8, jitter=0.02, pixel_noise=0.002)


@pytest.fixture(scope="module")
def grouping(data):
    return group_images(data.x25d, GroupingConfig(k=4))


def test_auto_and_scope_pick_cuda(cuda: torch.device) -> None:
    assert resolve_device("auto").type == "cuda"
    with device_scope("cuda") as scoped:
        assert scoped == cuda and resolve_device(None) == cuda


def test_loss_and_gradients_match_the_cpu(cuda: torch.device, data, grouping) -> None:
    torch.manual_seed(0)
    prior = Prior(CONFIG.flow, CONFIG.encoder, KeypointLayout.for_object(2))
    batch = TrainingSet(data.x25d, data.observations, grouping).batch(torch.arange(32), 3, torch.Generator().manual_seed(1))
    results = {}
    for device in (torch.device("cpu"), cuda):
        model = Prior(CONFIG.flow, CONFIG.encoder, KeypointLayout.for_object(2)).to(device)
        model.load_state_dict(prior.state_dict())
        moved = type(batch)(*(None if t is None else t.to(device) for t in
                              (batch.observations, batch.own, batch.targets, batch.weights, batch.features)))
        total, weight, nll = weighted_nll(model, moved)
        (total / weight).backward()
        assert all(p.grad.device == device for p in model.parameters() if p.grad is not None)
        results[device.type] = (nll.detach().cpu(), [p.grad.detach().cpu() for p in model.parameters() if p.grad is not None])
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], atol=1e-3, rtol=1e-4)
    for a, b in zip(results["cuda"][1], results["cpu"][1]):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-3)


def test_training_runs_on_cuda_and_matches_the_cpu(cuda: torch.device, data, grouping, tmp_path: Path) -> None:
    seen: list[torch.device] = []

    def where(event: Progress) -> None:
        if event.phase == "step":
            seen.append(event.nll_sums[0].device)

    gpu = train_prior(data.x25d, data.observations, grouping, CONFIG, tmp_path / "gpu", device="cuda", callback=where)
    cpu = train_prior(data.x25d, data.observations, grouping, CONFIG, tmp_path / "cpu", device="cpu")
    assert seen and all(d.type == "cuda" for d in seen)
    assert abs(gpu.history[-1]["val_nll"] - cpu.history[-1]["val_nll"]) < 0.5
    loaded = load_prior(gpu.prior_path)  # a prior trained on the GPU loads on the CPU
    assert next(loaded.parameters()).device.type == "cpu"


def test_a_cpu_checkpoint_is_not_resumed_on_cuda(cuda: torch.device, data, grouping, tmp_path: Path) -> None:
    train_prior(data.x25d, data.observations, grouping, CONFIG, tmp_path / "run", device="cpu")
    with pytest.raises(ValueError, match="another kind of device"):
        train_prior(data.x25d, data.observations, grouping, CONFIG, tmp_path / "run", device="cuda")


def test_fit_on_cuda_matches_the_cpu(cuda: torch.device, tmp_path: Path) -> None:
    config = SynthConfig(categories=("baseball_bat",), train=16, test=16, seed=3, image_size=128)
    ds = generate(tmp_path / "ds", config)
    preset = get_preset("contact", batch_size=16)
    gpu = fit_dataset(ds, "baseball_bat", "test", preset, tmp_path / "gpu", device="cuda").results.columns
    cpu = fit_dataset(ds, "baseball_bat", "test", preset, tmp_path / "cpu", device="cpu").results.columns
    assert list(gpu["image_id"]) == list(cpu["image_id"])
    gap = np.linalg.norm(gpu["object_translation"] - cpu["object_translation"], axis=1)
    assert gap.mean() < 0.02, gap
    assert np.isfinite(gpu["joints_3d"]).all()


@pytest.fixture(scope="module")
def bats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("baseball_bat",), train=8, test=12, seed=3, image_size=128)
    return generate(tmp_path_factory.mktemp("bats") / "ds", config)


def test_fit_steps_never_wait_for_the_gpu(cuda: torch.device, bats: Path, tmp_path: Path) -> None:
    """CUDA's own check of what tests/fitting/test_host_syncs.py spies on the CPU: with the sync debug
    mode at 'error', any step that waits for the GPU (a read back, a copy from pageable memory) raises."""
    keypoints = get_category_template("baseball_bat").num_keypoints
    Prior(FlowConfig(depth=2, width=32), EncoderConfig(features=8, width=8),
          KeypointLayout.for_object(keypoints)).save(tmp_path / "prior.pt")
    data = load_dataset(bats)
    for preset in ("contact", "prior+contact"):
        ctx = load_context(data, "baseball_bat", get_preset(preset, object_steps=3, joint_steps=3),
                           tmp_path / "prior.pt", None)
        ctx.device = "cuda"
        steps: list[int] = []

        def step(done: int, total: int) -> None:
            steps.append(done)
            torch.cuda.set_sync_debug_mode("error" if done < total else "default")

        try:
            cols, _ = fit_samples(ctx, list(data.samples("baseball_bat", "test")), step)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        assert steps == [1, 2, 3, 4, 5, 6] and np.isfinite(cols["object_translation"]).all()


def test_the_device_batch_size_and_the_compiled_fit_on_cuda(cuda: torch.device, bats: Path, tmp_path: Path) -> None:
    preset = get_preset("contact", object_steps=30, joint_steps=20)
    eager = fit_dataset(bats, "baseball_bat", "test", preset, tmp_path / "eager", device="cuda").results.columns
    entry = json.loads((tmp_path / "eager" / "fit.json").read_text())["categories"]["baseball_bat"]
    assert entry["config"]["batch_size"] == DEVICE_BATCH_SIZES["cuda"]
    fast = fit_dataset(bats, "baseball_bat", "test", replace(preset, compile=True), tmp_path / "fast",
                       device="cuda").results.columns
    gap = np.linalg.norm(fast["object_translation"] - eager["object_translation"], axis=1)
    assert gap.mean() < 0.02, gap


def test_chunked_grouping_on_cuda_matches_the_cpu(cuda: torch.device, data, tmp_path: Path) -> None:
    from hoirecon.prior.grouping.chunked import group_images_chunked

    config = GroupingConfig(k=8, method="exact", max_distance=None)
    gpu = group_images_chunked(data.x25d, config, 64, tmp_path / "gpu", device="cuda")
    cpu = group_images_chunked(data.x25d, config, 64, tmp_path / "cpu", device="cpu")
    torch.testing.assert_close(gpu.distances, cpu.distances, atol=1e-5, rtol=1e-4)
    same = (gpu.neighbours == cpu.neighbours).float().mean()
    assert same > 0.99  # exact ties may order differently under float32 rounding
