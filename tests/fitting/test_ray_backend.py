import functools
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import ray
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.backends import split_runner
from hoirecon.fitting.optimize import FitConfig, get_preset
from hoirecon.fitting.pipeline import fit_dataset, fit_samples
from hoirecon.fitting.ray_backend import BackendUnavailableError, RayConfig, fit_split_ray
from hoirecon.io.fits import load_fits

CATEGORY = "baseball_bat"


@pytest.fixture(scope="module")
def cluster() -> object:
    """One local 2-CPU Ray instance for the whole module (startup takes seconds); workers use 1 thread."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=(CATEGORY,), train=4, test=6, seed=11, image_size=128)
    return generate(tmp_path_factory.mktemp("ray") / "ds", config)


@pytest.fixture(scope="module")
def config() -> FitConfig:
    # the contact preset reads each image's masks on the workers and uses the shared occlusion maps
    return replace(get_preset("contact", object_steps=8, joint_steps=4), batch_size=2)


@pytest.fixture(scope="module")
def local(data: Path, config: FitConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same split fitted in this process: the reference every Ray run must reproduce."""
    out = tmp_path_factory.mktemp("local")
    fit_dataset(data, CATEGORY, "test", config, out)
    return out


def _parts(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "fits" / ".parts").glob("*.npz"))


def _assert_same_fits(out: Path, reference: Path) -> None:
    got, want = load_fits(out, CATEGORY).columns, load_fits(reference, CATEGORY).columns
    assert sorted(got) == sorted(want)
    np.testing.assert_array_equal(got["image_id"], want["image_id"])
    for name in want:
        if name != "image_id":
            np.testing.assert_allclose(got[name], want[name], rtol=1e-7, atol=1e-10, err_msg=name)


def _ray(fit: object, **options: object) -> object:
    return functools.partial(fit_split_ray, config=RayConfig(**options), fit=fit)


def test_killed_worker_is_retried_and_every_image_is_fitted_once(cluster: object, data: Path, config: FitConfig,
                                                                 local: Path, tmp_path: Path) -> None:
    marker = tmp_path / "killed"

    def die_once(ctx: object, samples: list) -> tuple:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))  # only the first attempt anywhere claims it
        except FileExistsError:
            return fit_samples(ctx, samples)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    out = tmp_path / "out"
    run = fit_dataset(data, CATEGORY, "test", config, out, runner=_ray(die_once, max_retries=2))
    assert marker.is_file()  # a worker really was killed mid-run
    ids = [s.image_id for s in load_dataset(data).samples(CATEGORY, "test")]
    assert sorted(run.results.image_ids) == sorted(ids) and len(set(run.results.image_ids)) == len(ids)
    assert run.skipped == []
    assert _parts(out) == _parts(local)
    _assert_same_fits(out, local)


def test_batch_that_keeps_failing_is_reported_and_skipped(cluster: object, data: Path, config: FitConfig,
                                                          local: Path, tmp_path: Path) -> None:
    bad = [s.image_id for s in load_dataset(data).samples(CATEGORY, "test")][2:4]  # the second batch
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def fail_second_batch(ctx: object, samples: list) -> tuple:
        if samples[0].image_id == bad[0]:
            (attempts / str(len(list(attempts.iterdir())))).touch()
            raise RuntimeError("solver diverged")
        return fit_samples(ctx, samples)

    out = tmp_path / "out"
    run = fit_dataset(data, CATEGORY, "test", config, out, runner=_ray(fail_second_batch, max_retries=1))
    assert len(list(attempts.iterdir())) == 2  # first try + one retry
    assert [i for i, _ in run.skipped] == bad
    assert all("batch 2 failed" in r and "RuntimeError: solver diverged" in r for _, r in run.skipped)
    assert run.results.image_ids == [i for i in load_fits(local, CATEGORY).image_ids if i not in bad]
    assert len(_parts(out)) == len(_parts(local)) - 1


def test_rerun_fits_only_unfinished_batches_with_either_backend(cluster: object, data: Path, config: FitConfig,
                                                                local: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fit_dataset(data, CATEGORY, "test", config, out, runner=_ray(fit_samples))
    assert _parts(out) == _parts(local)
    removed = out / "fits" / ".parts" / _parts(out)[1]
    removed.unlink()
    fitted = tmp_path / "fitted"
    fitted.mkdir()

    def record(ctx: object, samples: list) -> tuple:
        for s in samples:
            (fitted / s.image_id).touch()
        return fit_samples(ctx, samples)

    fit_dataset(data, CATEGORY, "test", config, out, runner=_ray(record))
    ids = [s.image_id for s in load_dataset(data).samples(CATEGORY, "test")]
    assert sorted(p.name for p in fitted.iterdir()) == sorted(ids[2:4])
    _assert_same_fits(out, local)

    def refuse(ctx: object, samples: list) -> tuple:
        raise AssertionError("finished batches must not be refitted")

    run = fit_dataset(data, CATEGORY, "test", config, out, runner=_ray(refuse, max_retries=0))
    assert run.skipped == []
    fit_dataset(data, CATEGORY, "test", config, local)  # the local backend resumes from the same files
    _assert_same_fits(out, local)


def test_cli_fits_with_the_ray_backend(cluster: object, data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["fit", "--data", str(data), "--category", CATEGORY, "--out", str(tmp_path),
                                      "--preset", "none", "--object-steps", "3", "--joint-steps", "2",
                                      "--batch-size", "4", "--backend", "ray", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert len(load_fits(tmp_path, CATEGORY).image_ids) == 6


def test_missing_ray_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install 'hoirecon\[ray\]'"):
        split_runner("ray")
    result = CliRunner().invoke(app, ["fit", "--data", str(tmp_path), "--category", CATEGORY,
                                      "--out", str(tmp_path / "out"), "--backend", "ray"])
    assert result.exit_code == 2
    assert "pip install 'hoirecon[ray]'" in result.output


def test_bad_backend_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="--backend must be one of local, ray"):
        split_runner("dask")
    with pytest.raises(ValueError, match="need --backend ray"):
        split_runner("local", workers=2)
    with pytest.raises(ValueError, match="--workers must be at least 1"):
        RayConfig(workers=0)
