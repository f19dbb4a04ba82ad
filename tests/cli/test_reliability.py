"""The five reliability reproductions, each now a clear error or a flagged result, plus the
kill/resume and concurrent-writer cases (a real second process) and the top-level handler."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hoirecon.cli import fit_cmd
from hoirecon.cli.app import app
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting import pipeline
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.io.arrays import load_columns
from hoirecon.io.lock import FOLDER_LOCK_NAME, lock_path, output_lock, read_holder

CATEGORY = "skateboard"
FAST = ["--object-steps", "3", "--joint-steps", "2"]
TINY_TRAIN = ["--epochs", "1", "--batch-size", "8", "--val-fraction", "0", "--flow-depth", "1", "--flow-width", "16",
              "--encoder-features", "16", "--encoder-width", "16", "--no-compare-unconditional"]
runner = CliRunner()


def plain(text: str) -> str:
    """Output without panel borders, whitespace collapsed."""
    return " ".join(re.sub("[│╭╮╰╯─┃┏┓┗┛━]", " ", text).split())


def invoke(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})
    assert "Traceback" not in result.output
    return result.exit_code, plain(result.output)


def fit_args(data: Path, out: Path, *extra: object) -> list:
    return ["fit", "--data", data, "--category", CATEGORY, "--out", out, "--preset", "none", *FAST, *extra]


def columns(out: Path) -> dict[str, np.ndarray]:
    return load_columns(out / "fits" / f"{CATEGORY}.npz")


# 1. provenance: fits of another dataset, a finished dataset regenerated in place, a relative path


def test_eval_refuses_fits_of_another_dataset_unless_forced_and_records_it(world, tmp_path: Path) -> None:  # noqa: ANN001
    info = json.loads((world.other_fits / "fit.json").read_text())
    entry = info["categories"][CATEGORY]
    assert Path(info["dataset"]).is_absolute() and entry["dataset"] == str(world.other_data.resolve())
    assert len(entry["dataset_hash"]) == 16 and entry["config_hash"] and entry["images"] == 4
    code, output = invoke("eval", "wildhoi", "--data", world.data, "--fits", world.other_fits, "--samples", 100)
    assert code == 2 and "datasets disagree" in output and "other_fits/fit.json" in output
    code, output = invoke("eval", "wildhoi", "--data", world.data, "--fits", world.other_fits, "--samples", 100,
                          "--force", "--report", tmp_path / "rep")
    assert code == 0, output
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["settings"]["provenance"]["forced"] and "datasets disagree" in summary["notes"][0]
    assert summary["settings"]["provenance"]["fits"][CATEGORY]["dataset_hash"] == entry["dataset_hash"]
    assert summary["settings"]["provenance"]["dataset"]["hash"] != entry["dataset_hash"]


def test_synth_refuses_to_regenerate_a_finished_dataset_unless_forced(world, tmp_path: Path) -> None:  # noqa: ANN001
    data = Path(shutil.copytree(world.data, tmp_path / "ds"))
    before = (data / "annotations" / f"{CATEGORY}.npz").read_bytes()
    args = ["synth", "--out", data, "--categories", CATEGORY, "--train", "6", "--test", "4", "--image-size", "64"]
    code, output = invoke(*args, "--seed", "2")
    assert code == 2 and "seed: 0 -> 2" in output
    assert (data / "annotations" / f"{CATEGORY}.npz").read_bytes() == before
    code, output = invoke(*args, "--seed", "0")  # the same settings resume (nothing to do)
    assert code == 0 and (data / "annotations" / f"{CATEGORY}.npz").read_bytes() == before
    code, output = invoke(*args, "--seed", "2", "--force")
    assert code == 0 and (data / "annotations" / f"{CATEGORY}.npz").read_bytes() != before
    assert json.loads((data / "dataset.json").read_text())["generator"]["config"]["seed"] == 2


def test_prior_and_maps_record_their_dataset_and_a_prior_of_other_data_is_noted(world, tmp_path: Path) -> None:  # noqa: ANN001
    from hoirecon.io.occlusion_files import load_occlusion_maps
    from hoirecon.prior.prior import load_prior

    origin = load_prior(world.prior).metadata["provenance"]
    maps = load_occlusion_maps(world.occlusion, CATEGORY)
    assert origin["category"] == CATEGORY and origin["dataset"]["hash"] == maps.provenance["dataset"]["hash"]
    run = fit_dataset(world.other_data, CATEGORY, "test", get_preset("prior", object_steps=2, joint_steps=1),
                      tmp_path / "f", prior_path=world.prior)
    assert any("was trained on dataset" in note for note in run.provenance)
    record = json.loads((tmp_path / "f" / "fit.json").read_text())["categories"][CATEGORY]["prior_record"]
    assert record["category"] == CATEGORY and record["dataset_hash"] == origin["dataset"]["hash"]


# 2. a NaN in one image's correspondences: a named, skipped image; eval counts it against coverage


def test_a_nan_correspondence_is_a_named_skipped_image_and_costs_coverage(world, tmp_path: Path) -> None:  # noqa: ANN001
    data = Path(shutil.copytree(world.data, tmp_path / "ds"))
    npz = data / "annotations" / f"{CATEGORY}.npz"
    cols = load_columns(npz)
    row = int(np.flatnonzero(cols["split"] == "test")[1])
    cols["est_corr_pixels"][row, 5, 0] = np.nan
    np.savez(npz, **cols)
    bad = str(cols["image_id"][row])
    code, output = invoke(*fit_args(data, tmp_path / "f"))
    assert code == 0 and f"skipped {bad}: est_corr_pixels" in output and "skipped 1" in output
    fits = columns(tmp_path / "f")
    assert bad not in fits["image_id"] and len(fits["image_id"]) == 3
    assert all(np.isfinite(v).all() for v in fits.values() if v.dtype.kind == "f")
    skipped = json.loads((tmp_path / "f" / "fit.json").read_text())["categories"][CATEGORY]["skipped"]
    assert [s[0] for s in skipped] == [bad]
    code, output = invoke("eval", "wildhoi", "--data", data, "--fits", tmp_path / "f", "--samples", 100)
    assert code == 2 and "3 of 4" in output and "1 missing" in output and bad in output
    code, output = invoke("eval", "wildhoi", "--data", data, "--fits", tmp_path / "f", "--samples", 100,
                          "--min-coverage", "0.5")
    assert code == 0 and "75.0% (3/4)" in output


def test_a_diverged_fit_is_skipped_never_written(world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    real = pipeline.fit_samples

    def diverging(ctx, samples, step=None, prepared=None):  # noqa: ANN001, ANN202
        cols, init = real(ctx, samples, step, prepared)
        cols["object_translation"][0] = np.nan
        return cols, init

    monkeypatch.setattr(pipeline, "fit_samples", diverging)
    run = fit_dataset(world.data, CATEGORY, "test", get_preset("none", object_steps=2, joint_steps=1), tmp_path)
    assert len(run.results.image_ids) == 3 and "non-finite values in object_translation" in run.skipped[0][1]
    assert np.isfinite(columns(tmp_path)["object_translation"]).all()


# 3. one writer per output


def _wait_for(path_glob: tuple[Path, str], proc: subprocess.Popen, timeout: float = 180.0) -> None:
    folder, pattern = path_glob
    deadline = time.monotonic() + timeout
    while not list(folder.glob(pattern)):
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "the fit ended early"
        assert time.monotonic() < deadline, "the fit wrote nothing in time"
        time.sleep(0.05)


def test_a_killed_fit_resumes_to_the_same_fits_and_a_second_writer_is_refused(world, tmp_path: Path) -> None:  # noqa: ANN001
    out, reference = tmp_path / "killed", tmp_path / "reference"
    slow = ["--batch-size", "1", "--limit", "3", "--object-steps", "300", "--joint-steps", "200"]
    args = [str(a) for a in ["fit", "--data", world.data, "--category", CATEGORY, "--out", out, "--preset", "none",
                             *slow]]
    proc = subprocess.Popen([sys.executable, "-m", "hoirecon.cli.app", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    try:
        _wait_for((out / "fits" / ".parts", "*.npz"), proc)
        code, output = invoke(*args)  # a second writer while the first one runs
        assert code == 2 and "is being written by" in output and f"pid {proc.pid}" in output
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert read_holder(out / FOLDER_LOCK_NAME).pid == proc.pid  # left behind by the killed run
    assert not (out / "fits" / f"{CATEGORY}.npz").exists()
    code, output = invoke(*args)  # takes over the stale lock and resumes
    assert code == 0, output
    assert not (out / FOLDER_LOCK_NAME).exists()
    code, output = invoke(*[reference if a == str(out) else a for a in args])
    assert code == 0, output
    resumed, uninterrupted = columns(out), columns(reference)
    assert resumed.keys() == uninterrupted.keys()
    for key, value in uninterrupted.items():
        assert np.array_equal(resumed[key], value), key  # bitwise


def test_a_second_train_on_the_same_out_is_refused(world, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "prior.pt"
    with output_lock(out, folder=False, command="hoirecon train"):
        code, output = invoke("train", "--data", world.data, "--category", CATEGORY, "--out", out, *TINY_TRAIN)
    assert code == 2 and "is being written by" in output and "prior.pt.lock" in output
    assert not lock_path(out, folder=False).exists() and not out.exists()


def test_a_second_fit_with_another_preset_is_refused_not_lost(world, tmp_path: Path) -> None:  # noqa: ANN001
    out = Path(shutil.copytree(world.fits, tmp_path / "f"))
    before = columns(out)
    code, output = invoke(*fit_args(world.data, out, "--preset", "contact", "--occlusion", world.occlusion))
    assert code == 2 and "preset none" in output and "--force" in output
    assert all(np.array_equal(before[k], v) for k, v in columns(out).items())
    code, output = invoke(*fit_args(world.data, out, "--preset", "contact", "--occlusion", world.occlusion, "--force"))
    assert code == 0 and "forced" in output
    forced = json.loads((out / "fit.json").read_text())["categories"][CATEGORY]["forced"]
    assert forced and "configurations of skateboard fits disagree" in forced[0]


# 4. eval with frames missing, export of inf values and partial sequences


def test_eval_with_half_the_frames_missing_fails_and_prints_coverage_when_allowed(world, tmp_path: Path) -> None:  # noqa: ANN001
    out = Path(shutil.copytree(world.fits, tmp_path / "f"))
    cols = columns(out)
    np.savez(out / "fits" / f"{CATEGORY}.npz", **{k: v[:2] for k, v in cols.items()})
    code, output = invoke("eval", "wildhoi", "--data", world.data, "--fits", out, "--samples", 100)
    assert code == 2 and "2 of 4" in output and "--min-coverage" in output
    code, output = invoke("eval", "behave", "--data", world.data, "--fits", out, "--samples", 100,
                          "--min-coverage", "0.5", "--report", tmp_path / "rep")
    assert code == 0 and "coverage 50.0% (2/4)" in output
    assert "| 50.0% (2/4) |" in (tmp_path / "rep" / "summary.md").read_text()


def test_export_refuses_inf_and_partial_sequences_unless_forced(world, tmp_path: Path) -> None:  # noqa: ANN001
    out = Path(shutil.copytree(world.fits, tmp_path / "f"))
    cols = columns(out)
    cols["object_translation_cam"][0, 2] = np.inf
    np.savez(out / "fits" / f"{CATEGORY}.npz", **cols)
    pkl = tmp_path / "results.pkl"
    code, output = invoke("export-rhobin", "--fits", out, "--out", pkl)
    assert code == 2 and "object_translation_cam is not finite" in output and not pkl.exists()
    code, output = invoke("export-rhobin", "--fits", out, "--out", pkl, "--min-coverage", "0.5", "--force")
    assert code == 0 and "75.0%" in output
    from hoirecon.eval.protocols.submission import load_rhobin_file

    seq = load_rhobin_file(pkl, need_body=True, need_object=True).sequences[CATEGORY]
    assert len(seq.frames) == 3 and np.isfinite(seq.obj_trans).all()
    record = json.loads((tmp_path / "results.pkl.provenance.json").read_text())
    assert record["forced"] and record["categories"][CATEGORY]["images"] == 4
    assert record["dataset_hash"] == json.loads((out / "fit.json").read_text())["dataset_hash"]


# 5. no traceback: the top-level handler, corrupt checkpoints and part files


def test_an_unexpected_error_is_one_line_unless_debug(world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something nobody thought of\nsecond line")

    monkeypatch.setattr(fit_cmd, "fit_dataset", broken)
    code, output = invoke(*fit_args(world.data, tmp_path / "f"))
    assert code == 1 and "unexpected RuntimeError: something nobody thought of" in output and "--debug" in output
    assert "second line" not in output
    result = runner.invoke(app, ["--debug", *map(str, fit_args(world.data, tmp_path / "f"))])
    assert isinstance(result.exception, RuntimeError)  # the trace is there to see


def test_a_truncated_checkpoint_is_reported_and_training_starts_over(world, tmp_path: Path,  # noqa: ANN001
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    folder = Path(shutil.copytree(world.prior.parent, tmp_path / "prior"))
    checkpoint = folder / "prior.pt.work" / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    (folder / "prior.pt").unlink()
    with caplog.at_level("WARNING"):
        code, output = invoke("train", "--data", world.data, "--category", CATEGORY, "--out", folder / "prior.pt",
                              *TINY_TRAIN)
    assert code == 0, output
    assert "checkpoint.pt: unreadable checkpoint" in caplog.text and "training starts over" in caplog.text
    assert (folder / "prior.pt").is_file() and checkpoint.stat().st_size > 200


def test_a_corrupt_part_file_is_refitted(world, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    out = tmp_path / "f"
    code, _ = invoke(*fit_args(world.data, out, "--batch-size", "2"))
    first = columns(out)
    parts = sorted((out / "fits" / ".parts").glob("*.npz"))
    parts[1].write_bytes(parts[1].read_bytes()[:50])
    with caplog.at_level("WARNING"):
        code, output = invoke(*fit_args(world.data, out, "--batch-size", "2"))
    assert code == 0 and "fitting the batch again" in caplog.text and parts[1].name in caplog.text
    assert all(np.array_equal(first[k], v) for k, v in columns(out).items())


def test_a_corrupt_synth_part_is_made_again(tmp_path: Path) -> None:
    config = SynthConfig(categories=(CATEGORY,), train=2, test=1, seed=5, image_size=32, chunk=2)
    generate(tmp_path / "ds", config)
    first = load_columns(tmp_path / "ds" / "annotations" / f"{CATEGORY}.npz")
    part = sorted((tmp_path / "ds" / "annotations" / ".parts").glob("*.npz"))[0]
    part.write_bytes(b"")
    generate(tmp_path / "ds", config)
    again = load_columns(tmp_path / "ds" / "annotations" / f"{CATEGORY}.npz")
    assert all(np.array_equal(first[k], v) for k, v in again.items())
