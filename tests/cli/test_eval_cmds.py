"""``hoirecon eval`` subcommands on tiny inputs: scores printed, reports written, bad input
gives exit code 2 and one line naming the file or key."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hoirecon.cli.eval_cmds import eval_app

_PATH = Path(__file__).resolve().parents[1] / "eval" / "eval_fixtures.py"
_SPEC = importlib.util.spec_from_file_location("eval_fixtures_cli", _PATH)
fx = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fx)

runner = CliRunner()


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eval_cli")
    models = fx.write_body_folder(root / "models")
    gt = fx.write_dataset(root / "data", models / "SMPL_NEUTRAL.npz")
    fx.write_fits(root / "fits", fx.perturbed(gt, object_translation=gt["object_translation"] + 0.05))
    reference = fx.make_reference()
    pred = fx.submission_from(reference)
    for seq in pred.values():
        seq["obj_trans"] = seq["obj_trans"] + 0.02
    return {"root": root, "models": models, "data": root / "data", "fits": root / "fits",
            "ref": fx.write_pickle(root / "ref" / "ref.pkl", reference),
            "pred": fx.write_pickle(root / "mine" / "results.pkl", pred)}


def _ok(args: list[str]):
    result = runner.invoke(eval_app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_wildhoi_prints_row_and_writes_report(case: dict) -> None:
    report = case["root"] / "rep_wildhoi"
    result = _ok(["wildhoi", "--data", case["data"], "--fits", case["fits"], "--samples", 300,
                  "--report", report])
    assert "Transl. err. (cm)" in result.output and "tiny" in result.output
    summary = json.loads((report / "summary.json").read_text())
    assert summary["summary"]["trans_err_cm"] == pytest.approx(100 * 0.05 * np.sqrt(3))
    assert (report / "per_frame.csv").is_file() and (report / "summary.md").is_file()


def test_behave_on_dataset_and_on_files(case: dict) -> None:
    result = _ok(["behave", "--data", case["data"], "--fits", case["fits"], "--samples", 300])
    assert "Object CD (cm)" in result.output
    result = _ok(["behave", "--pred", case["pred"], "--ref", case["ref"], "--model-folder",
                  case["models"], "--samples", 300, "--name", "files"])
    assert "files" in result.output


def test_behave_needs_one_input_kind(case: dict) -> None:
    result = runner.invoke(eval_app, ["behave", "--data", str(case["data"])])
    assert result.exit_code == 2


def test_rhobin_tracks(case: dict) -> None:
    obj = _ok(["rhobin-object", "--pred", case["pred"], "--ref", case["ref"], "--samples", 300])
    assert "AR-all" in obj.output and "mine" in obj.output
    human = _ok(["rhobin-human", "--pred", case["pred"], "--ref", case["ref"],
                 "--model-folder", case["models"]])
    assert "MPJPE" in human.output
    joint = _ok(["rhobin-joint", "--pred", case["pred"], "--ref", case["ref"], "--samples", 300,
                 "--report", case["root"] / "rep_joint"])
    assert "SMPL CD (mm)" in joint.output and "embedded" in joint.output  # the gender note


def test_compare_with_and_without_published(case: dict) -> None:
    report = case["root"] / "rep_cmp"
    _ok(["wildhoi", "--data", case["data"], "--fits", case["fits"], "--samples", 200,
         "--report", report])
    shown = _ok(["compare", report])
    assert "published (different data)" in shown.output and "PHOSA" in shown.output
    out = case["root"] / "table.md"
    _ok(["compare", report, "--no-published", "--out", out])
    assert "tiny" in out.read_text() and "PHOSA" not in out.read_text()


def test_malformed_pickle_exits_2_naming_the_file(case: dict) -> None:
    bad = case["root"] / "broken" / "results.pkl"
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(b"\x80\x04garbage")
    result = runner.invoke(eval_app, ["rhobin-object", "--pred", str(bad), "--ref", str(case["ref"])])
    assert result.exit_code == 2
    assert "broken/results.pkl" in result.output.replace("\n", "")
    assert "Traceback" not in result.output


def test_missing_key_and_missing_file_exit_2(case: dict) -> None:
    pred = fx.submission_from(fx.make_reference())
    del pred[sorted(pred)[0]]["obj_rots"]
    path = fx.write_pickle(case["root"] / "nokey" / "results.pkl", pred)
    result = runner.invoke(eval_app, ["rhobin-joint", "--pred", str(path), "--ref", str(case["ref"])])
    assert result.exit_code == 2 and "obj_rots" in result.output
    result = runner.invoke(eval_app, ["rhobin-human", "--pred", str(case["root"] / "none.pkl"),
                                      "--ref", str(case["ref"])])
    assert result.exit_code == 2 and "none.pkl" in result.output
    result = runner.invoke(eval_app, ["wildhoi", "--data", str(case["root"] / "nodata"),
                                      "--fits", str(case["fits"])])
    assert result.exit_code == 2 and "nodata" in result.output.replace("\n", "")


def test_coverage_failure_exits_2(case: dict) -> None:
    pred = fx.submission_from(fx.make_reference())
    seq = pred[sorted(pred)[0]]
    pred[sorted(pred)[0]] = {k: (v[:6] if isinstance(v, (list, np.ndarray)) else v)
                             for k, v in seq.items()}
    path = fx.write_pickle(case["root"] / "short" / "results.pkl", pred)
    result = runner.invoke(eval_app, ["rhobin-object", "--pred", str(path), "--ref", str(case["ref"])])
    assert result.exit_code == 2 and "6 missing" in result.output.replace("\n", " ")
