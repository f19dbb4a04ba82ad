from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hoirecon.cli.app import app


def test_synth_then_check_ok(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--categories", "basketball",
                                      "--train", "2", "--test", "1", "--image-size", "64"])
    assert result.exit_code == 0, result.output
    check = CliRunner().invoke(app, ["data", "check", str(out)])
    assert check.exit_code == 0 and "OK" in check.output


def test_check_flags_problems_and_exits_nonzero(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    CliRunner().invoke(app, ["synth", "--out", str(out), "--categories", "basketball",
                             "--train", "2", "--test", "0", "--image-size", "64"])
    npz = out / "annotations" / "basketball.npz"
    with np.load(npz) as f:
        cols = {k: f[k] for k in f.files}
    cols["keypoints_2d"][0, 0, 0] = np.nan
    np.savez(npz, **cols)
    result = CliRunner().invoke(app, ["data", "check", str(out)])
    assert result.exit_code == 1
    assert "keypoints_2d" in result.output and "basketball.npz" in result.output


def test_unknown_category_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), "--categories", "frisbee"])
    assert result.exit_code == 2 and "frisbee" in result.output


def test_preview_writes_png(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["preview", "--category", "violin", "--out", str(tmp_path), "--size", "64"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "preview_violin.png").stat().st_size > 500


def test_fit_then_eval_wildhoi(tmp_path: Path) -> None:
    data, out = tmp_path / "ds", tmp_path / "fit"
    runner = CliRunner()
    runner.invoke(app, ["synth", "--out", str(data), "--categories", "basketball", "--train", "2",
                        "--test", "2", "--image-size", "64"])
    result = runner.invoke(app, ["fit", "--data", str(data), "--category", "basketball", "--out", str(out),
                                 "--preset", "none", "--object-steps", "5", "--joint-steps", "5"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["eval", "wildhoi", "--data", str(data), "--fits", str(out), "--samples", "500"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export-rhobin", "--fits", str(out), "--out", str(tmp_path / "results.pkl")])
    assert result.exit_code == 0 and (tmp_path / "results.pkl").stat().st_size > 0


def test_fit_reports_a_missing_dataset_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["fit", "--data", str(tmp_path / "nowhere"), "--category", "basketball",
                                      "--out", str(tmp_path / "o"), "--preset", "none"])
    assert result.exit_code == 2 and "nowhere" in result.output
