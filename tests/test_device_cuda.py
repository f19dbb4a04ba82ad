"""CUDA runs against CPU runs, within stated tolerances (marker gpu: ``make test-gpu`` on a CUDA machine).

These are deselected from the CPU suite by selection (``-m 'not gpu'`` in the pytest options), never
skipped: on a machine without CUDA, ``make test-gpu`` fails loudly at the first test.
Tolerances: flow densities 1e-3 nats (float32, different kernels), gradients 1e-3 relative,
a short training run's validation NLL 0.5 nats, fitted object translations 2 cm mean (CUDA against
the CPU, also for the ``phosa`` preset, and a compiled fit against an eager one), PHOSA terms 1e-4
relative, exact grouping the same neighbours except ties with distances 1e-4 relative, NN-descent
recall@16 >= 0.95; no fitting step may wait for the GPU (between two PHOSA ray casts).
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.body import load_body_model
from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.device import device_scope, resolve_device
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.init import init_batch
from hoirecon.fitting.optimize import FitConfig, get_preset
from hoirecon.fitting.phosa import attach_phosa
from hoirecon.fitting.pipeline import DEVICE_BATCH_SIZES, fit_dataset, fit_samples, load_context
from hoirecon.fitting.prepare import build_batch
from hoirecon.fitting.state import FitBatch, FitState
from hoirecon.objects import get_category_template
from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping.knn import GroupingConfig, group_images, recall_at_k
from hoirecon.prior.grouping.search import exact_knn
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
    gpu = _fits_agree(ds, get_preset("contact", batch_size=16), tmp_path)
    assert np.isfinite(gpu["joints_3d"]).all()


def _fits_agree(ds: Path, preset: FitConfig, tmp_path: Path) -> dict[str, np.ndarray]:
    """Fit the bat test split on CUDA and on the CPU; the same images, object translations within
    2 cm on average. Returns the CUDA columns."""
    gpu = fit_dataset(ds, "baseball_bat", "test", preset, tmp_path / "gpu", device="cuda").results.columns
    cpu = fit_dataset(ds, "baseball_bat", "test", preset, tmp_path / "cpu", device="cpu").results.columns
    assert list(gpu["image_id"]) == list(cpu["image_id"])
    gap = np.linalg.norm(gpu["object_translation"] - cpu["object_translation"], axis=1)
    assert gap.mean() < 0.02, gap
    return gpu


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


@pytest.fixture(scope="module")
def clustered():
    """The clustered set of ``bench/bench_grouping.py`` at 3,000 images, with videos of 20 frames."""
    data = synthetic_interactions(3000, object_keypoints=8, n_clusters=30, jitter=0.03, pixel_noise=0.002, seed=0)
    return data.x25d, torch.arange(3000) // 20, torch.arange(3000) % 20


def assert_same_but_ties(gpu, cpu) -> None:
    """Distances (float64 ones of each side's own neighbours) within 1e-4 relative: where the
    neighbours differ, they are ties."""
    assert gpu.neighbours.device.type == "cpu" and gpu.distances.device.type == "cpu"
    torch.testing.assert_close(gpu.distances, cpu.distances, rtol=1e-4, atol=1e-7)
    assert (gpu.neighbours == cpu.neighbours).float().mean() > 0.99


def test_exact_grouping_on_cuda_matches_the_cpu(cuda: torch.device, clustered) -> None:
    x, video, frame = clustered
    config = GroupingConfig(k=16, method="exact", max_distance=0.05)
    gpu = group_images(x, config, video, frame, device=cuda)
    cpu = group_images(x, config, video, frame, device="cpu")
    assert_same_but_ties(gpu, cpu)
    assert gpu.stats["dropped_far"] == cpu.stats["dropped_far"]


def test_exact_search_on_cuda_merges_many_tiles(cuda: torch.device, clustered) -> None:
    x, _, _ = clustered
    queries = torch.arange(0, 3000, 7)
    cpu_i, cpu_d = exact_knn(x, 16, queries=queries)
    for tiles in ({}, {"query_chunk": 100, "base_chunk": 512}):
        gpu_i, gpu_d = exact_knn(x, 16, queries=queries, device=cuda, **tiles)
        assert gpu_i.device.type == "cpu"
        torch.testing.assert_close(gpu_d, cpu_d, rtol=1e-4, atol=1e-6)
        assert (gpu_i == cpu_i).float().mean() > 0.99


@pytest.mark.parametrize("score", ["distance", "reference"])
def test_nndescent_on_cuda_finds_the_exact_neighbours(cuda: torch.device, clustered, score: str) -> None:
    x, video, frame = clustered
    exact = group_images(x, GroupingConfig(k=16, method="exact", max_distance=None), video, frame, device="cpu")
    config = GroupingConfig(k=16, method="nndescent", score=score, max_distance=None)
    gpu = group_images(x, config, video, frame, device=cuda)
    cpu = group_images(x, config, video, frame, device="cpu")
    assert gpu.neighbours.device.type == "cpu" and gpu.stats["method"] == "nndescent"
    assert recall_at_k(gpu.neighbours, cpu.neighbours) >= 0.95
    if score == "distance":
        assert recall_at_k(gpu.neighbours, exact.neighbours) >= 0.95
    n = gpu.neighbours.clamp_min(0)   # adjacent frames stay excluded on the device
    close = (video[n] == video[:, None]) & ((frame[n] - frame[:, None]).abs() <= 1)
    assert not (close & gpu.valid).any()


def test_pynndescent_is_refused_on_cuda(cuda: torch.device, clustered) -> None:
    with pytest.raises(ValueError, match="CPU only"):
        group_images(clustered[0], GroupingConfig(k=4, method="pynndescent"), device=cuda)


def test_group_command_runs_in_memory_on_cuda(cuda: torch.device, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hoirecon.cli.app import app

    ds = generate(tmp_path / "ds", SynthConfig(categories=("baseball_bat",), train=24, test=1, seed=3, image_size=64))
    args = ["group", "--data", str(ds), "--category", "baseball_bat", "--k", "4", "--out"]
    gpu = CliRunner().invoke(app, [*args, str(tmp_path / "gpu.npz"), "--device", "cuda"])
    cpu = CliRunner().invoke(app, [*args, str(tmp_path / "cpu.npz"), "--device", "cpu"])
    assert gpu.exit_code == 0 and cpu.exit_code == 0, gpu.output + cpu.output
    with np.load(tmp_path / "gpu.npz") as a, np.load(tmp_path / "cpu.npz") as b:
        np.testing.assert_allclose(a["distances"], b["distances"], rtol=1e-4, atol=1e-7)


def _phosa_steps(ds: Path, device: torch.device, quiet_steps: bool) -> tuple[dict[str, list], object]:
    """The PHOSA terms of 4 images over 4 steps on ``device`` (the object pushed 5 cm deeper before
    each; a ray cast at step 1), and the terms; with ``quiet_steps`` the steps that cast no rays run
    in CUDA's sync-debug mode 'error' (a host synchronisation there raises)."""
    samples = list(load_dataset(ds).samples("baseball_bat", "test"))
    template, body = get_category_template("baseball_bat"), load_body_model()
    ctx = attach_phosa(FitContext("baseball_bat", template, body, get_preset("phosa", object_steps=1, joint_steps=2)))
    init = init_batch(samples, template, body)
    batch = build_batch(ctx, samples, init)
    batch = FitBatch(**{f.name: getattr(batch, f.name).to(device) for f in fields(batch)})
    state = FitState(batch, torch.zeros(batch.size, 1, 3, device=device))
    terms = ctx.extra_terms(ctx, samples, init, batch)
    got: dict[str, list] = {}
    for step in range(4):
        with torch.no_grad():
            state.obj_translation += torch.tensor([0.0, 0.0, 0.05], device=device)
        quiet = quiet_steps and step != 1
        if quiet:
            torch.cuda.set_sync_debug_mode("error")
        try:
            out = terms(state)
        finally:
            if quiet:
                torch.cuda.set_sync_debug_mode("default")
        for name, value in out.items():
            assert value.device == device
            got.setdefault(name, []).append(value.detach().cpu())
    return {k: torch.stack(v) for k, v in got.items()}, terms


def test_phosa_terms_on_cuda_match_the_cpu(cuda: torch.device, tmp_path: Path) -> None:
    ds = generate(tmp_path / "ds", SynthConfig(categories=("baseball_bat",), train=0, test=4, seed=7, image_size=96))
    gpu, terms = _phosa_steps(ds, cuda, quiet_steps=True)
    cpu, _ = _phosa_steps(ds, torch.device("cpu"), quiet_steps=False)
    assert terms.pixels.valid.device == cuda and terms.template_vertices.device == cuda
    assert set(gpu) == {"coarse_interaction", "fine_interaction", "ordinal_depth"}
    for name in cpu:
        torch.testing.assert_close(gpu[name], cpu[name], rtol=1e-4, atol=1e-8, msg=name)


def test_phosa_fit_on_cuda_matches_the_cpu(cuda: torch.device, tmp_path: Path) -> None:
    ds = generate(tmp_path / "ds", SynthConfig(categories=("baseball_bat",), train=0, test=8, seed=3, image_size=128))
    gpu = _fits_agree(ds, get_preset("phosa", batch_size=8), tmp_path)
    assert np.isfinite(gpu["loss_ordinal_depth"]).all()
