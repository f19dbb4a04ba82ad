"""Bad input on every command: a non-zero exit, no traceback, and one message naming the file and
field or the option. Each case builds its broken input from the shared tiny inputs (conftest.py)
in its own folder; most stop before any work, so the whole table runs in seconds."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.cli.options import ConfigOptions

CATEGORY = "skateboard"
FAST = ["--object-steps", "3", "--joint-steps", "2"]
runner = CliRunner()
Build = Callable[["object", Path], tuple[list, list[str]]]
"""(world, tmp folder) -> (command line, texts the message must contain)."""


def plain(text: str) -> str:
    """Output without panel borders, whitespace collapsed."""
    return " ".join(re.sub("[│╭╮╰╯─┃┏┓┗┛━]", " ", text).split())


def invoke(args: list) -> tuple[int, str, BaseException | None]:
    """Run ``hoirecon ARGS`` in this process on a wide terminal (no wrapped paths)."""
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})
    return result.exit_code, plain(result.output), result.exception


# ----------------------------------------------------------------------------- helpers


def copy_data(world, tmp: Path) -> Path:  # noqa: ANN001 - a World
    return Path(shutil.copytree(world.data, tmp / "ds"))


def edit_manifest(root: Path, change: Callable[[dict], object]) -> Path:
    path = root / "dataset.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    return root


def edit_npz(path: Path, change: Callable[[dict], object]) -> None:
    with np.load(path) as npz:
        cols = {k: npz[k] for k in npz.files}
    change(cols)
    np.savez(path, **cols)


def edit_columns(root: Path, change: Callable[[dict], object]) -> Path:
    edit_npz(root / "annotations" / f"{CATEGORY}.npz", change)
    return root


def truncate(path: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    return dst


def fit(data: Path, out: Path, *extra: object) -> list:
    return ["fit", "--data", data, "--category", CATEGORY, "--out", out, "--preset", "none", *FAST, *extra]


def a_file(tmp: Path, name: str = "a_file.txt") -> Path:
    (tmp / name).write_text("x")
    return tmp / name


def a_folder(tmp: Path, name: str = "a_folder") -> Path:
    (tmp / name).mkdir(exist_ok=True)
    return tmp / name


def fits_with(world, tmp: Path, change: Callable[[dict], object]) -> Path:  # noqa: ANN001 - a World
    out = Path(shutil.copytree(world.fits, tmp / "fits"))
    edit_npz(out / "fits" / f"{CATEGORY}.npz", change)
    return out


def drop_rows(cols: dict, keep: slice) -> None:
    for key in list(cols):
        cols[key] = cols[key][keep]


# ----------------------------------------------------------------------------- the cases

CASES: dict[str, Build] = {
    # numeric options out of their range (typer's min/max, or the range check of a config field)
    "fit --limit -1": lambda w, t: (fit(w.data, t / "o", "--limit", "-1"), ["--limit", "greater than or equal to 1"]),
    "fit --limit 0": lambda w, t: (fit(w.data, t / "o", "--limit", "0"), ["--limit"]),
    "fit --object-steps -5": lambda w, t: (fit(w.data, t / "o", "--object-steps", "-5"), ["--object-steps"]),
    "fit --lr 0": lambda w, t: (fit(w.data, t / "o", "--lr", "0"), ["--lr", "x>0"]),
    "fit --lr nan": lambda w, t: (fit(w.data, t / "o", "--lr", "nan"), ["--lr"]),
    "fit --batch-size 0": lambda w, t: (fit(w.data, t / "o", "--batch-size", "0"), ["--batch-size"]),
    "fit --virtual-cameras 0": lambda w, t: (fit(w.data, t / "o", "--virtual-cameras", "0"), ["--virtual-cameras"]),
    "fit --weight-prior -1": lambda w, t: (fit(w.data, t / "o", "--weight-prior", "-1"), ["--weight-prior"]),
    "fit --workers 0": lambda w, t: (fit(w.data, t / "o", "--workers", "0"), ["--workers"]),
    "synth --train -1": lambda w, t: (["synth", "--out", t / "s", "--train", "-1"], ["--train"]),
    "synth --train 0 --test 0": lambda w, t: (["synth", "--out", t / "s", "--train", "0", "--test", "0"],
                                              ["--train", "--test", "nothing to generate"]),
    "synth --image-size 4": lambda w, t: (["synth", "--out", t / "s", "--image-size", "4"], ["--image-size"]),
    "synth --chunk 0": lambda w, t: (["synth", "--out", t / "s", "--chunk", "0"], ["--chunk"]),
    "synth --camera-fov 10,200": lambda w, t: (["synth", "--out", t / "s", "--camera-fov", "10,200"],
                                               ["--camera-fov", "200"]),
    "synth --shape-std -0.5": lambda w, t: (["synth", "--out", t / "s", "--shape-std", "-0.5"], ["--shape-std"]),
    "synth --seed -3": lambda w, t: (["synth", "--out", t / "s", "--seed", "-3"], ["--seed"]),
    "group --k 0": lambda w, t: (["group", "--data", w.data, "--category", CATEGORY, "--k", "0"], ["--k"]),
    "group --max-distance 0": lambda w, t: (["group", "--data", w.data, "--category", CATEGORY, "--max-distance", "0"],
                                            ["--max-distance", "x>0"]),
    "group --chunk-size 0": lambda w, t: (["group", "--data", w.data, "--category", CATEGORY, "--chunk-size", "0"],
                                          ["--chunk-size"]),
    "train --epochs 0": lambda w, t: (["train", "--data", w.data, "--category", CATEGORY, "--out", t / "p.pt",
                                       "--epochs", "0"], ["--epochs"]),
    "train --val-fraction 1": lambda w, t: (["train", "--data", w.data, "--category", CATEGORY, "--out", t / "p.pt",
                                             "--val-fraction", "1"], ["--val-fraction", "0<=x<1"]),
    "train --grad-clip 0": lambda w, t: (["train", "--data", w.data, "--category", CATEGORY, "--out", t / "p.pt",
                                          "--grad-clip", "0"], ["--grad-clip"]),
    "train --patience 0": lambda w, t: (["train", "--data", w.data, "--category", CATEGORY, "--out", t / "p.pt",
                                         "--patience", "0"], ["--patience"]),
    "train --flow-depth 0": lambda w, t: (["train", "--data", w.data, "--category", CATEGORY, "--out", t / "p.pt",
                                           "--flow-depth", "0"], ["--flow-depth"]),
    "occlusion --eta 2": lambda w, t: (["occlusion", "--data", w.data, "--category", CATEGORY, "--out", t / "o.npz",
                                        "--eta", "2"], ["--eta"]),
    "occlusion --dilation -0.1": lambda w, t: (["occlusion", "--data", w.data, "--category", CATEGORY, "--out",
                                                t / "o.npz", "--dilation", "-0.1"], ["--dilation"]),
    "eval wildhoi --samples 0": lambda w, t: (["eval", "wildhoi", "--data", w.data, "--fits", w.fits, "--samples", "0"],
                                              ["--samples"]),
    "eval wildhoi --min-coverage 1.5": lambda w, t: (["eval", "wildhoi", "--data", w.data, "--fits", w.fits,
                                                      "--min-coverage", "1.5"], ["--min-coverage"]),
    "eval rhobin-object --seed -1": lambda w, t: (["eval", "rhobin-object", "--pred", w.results, "--ref", w.ref,
                                                   "--seed", "-1"], ["--seed"]),
    "export-rhobin --min-coverage -0.1": lambda w, t: (["export-rhobin", "--fits", w.fits, "--out", t / "r.pkl",
                                                        "--min-coverage", "-0.1"], ["--min-coverage"]),
    "preview --size 0": lambda w, t: (["preview", "--category", "violin", "--out", t / "p", "--size", "0"], ["--size"]),
    "demo --train 0": lambda w, t: (["demo", "--out", t / "d", "--train", "0"], ["--train"]),
    "demo --eval-samples 0": lambda w, t: (["demo", "--out", t / "d", "--eval-samples", "0"], ["--eval-samples"]),
    # path options: checked before any work
    "fit --out is a file": lambda w, t: (fit(w.data, a_file(t)), ["--out", "a_file.txt", "is a file"]),
    "synth --out is a file": lambda w, t: (["synth", "--out", a_file(t), "--train", "1", "--test", "1"],
                                           ["--out", "a_file.txt", "is a file"]),
    "train --out inside a file": lambda w, t: (["train", "--data", w.data, "--category", CATEGORY, "--out",
                                                a_file(t) / "p.pt"], ["--out", "a_file.txt", "is a file"]),
    "train --out is a folder": lambda w, t: (["train", "--data", w.data, "--category", CATEGORY, "--out",
                                              a_folder(t)], ["--out", "a_folder", "is a folder"]),
    "fit --data missing": lambda w, t: (fit(t / "nowhere", t / "o"), ["--data", "nowhere", "does not exist"]),
    "fit --data is a file": lambda w, t: (fit(a_file(t), t / "o"), ["--data", "a_file.txt"]),
    "fit --prior missing": lambda w, t: (fit(w.data, t / "o", "--prior", t / "none.pt"), ["--prior", "none.pt"]),
    "fit --occlusion is a folder": lambda w, t: (fit(w.data, t / "o", "--occlusion", a_folder(t)),
                                                 ["--occlusion", "a_folder"]),
    "group --data missing": lambda w, t: (["group", "--data", t / "nowhere", "--category", CATEGORY],
                                          ["--data", "nowhere"]),
    "group --out is a folder": lambda w, t: (["group", "--data", w.data, "--category", CATEGORY, "--out", a_folder(t)],
                                             ["--out", "a_folder", "is a folder"]),
    "occlusion --out is a folder": lambda w, t: (["occlusion", "--data", w.data, "--category", CATEGORY, "--out",
                                                  a_folder(t)], ["--out", "a_folder"]),
    "eval wildhoi --fits missing": lambda w, t: (["eval", "wildhoi", "--data", w.data, "--fits", t / "nofits"],
                                                 ["--fits", "nofits"]),
    "eval wildhoi --report is a file": lambda w, t: (["eval", "wildhoi", "--data", w.data, "--fits", w.fits,
                                                      "--report", a_file(t)], ["--report", "a_file.txt"]),
    "eval rhobin-human --pred missing": lambda w, t: (["eval", "rhobin-human", "--pred", t / "none.pkl", "--ref",
                                                       w.ref], ["--pred", "none.pkl"]),
    "eval behave --ref is a folder": lambda w, t: (["eval", "behave", "--pred", w.results, "--ref", a_folder(t)],
                                                   ["--ref", "a_folder"]),
    "eval compare report missing": lambda w, t: (["eval", "compare", t / "noreport"], ["noreport"]),
    "eval compare --out is a folder": lambda w, t: (["eval", "compare", w.report, "--out", a_folder(t)],
                                                    ["--out", "a_folder"]),
    "export-rhobin --fits missing": lambda w, t: (["export-rhobin", "--fits", t / "nofits", "--out", t / "r.pkl"],
                                                  ["--fits", "nofits"]),
    "export-rhobin --out is a folder": lambda w, t: (["export-rhobin", "--fits", w.fits, "--out", a_folder(t)],
                                                     ["--out", "a_folder"]),
    "data check missing folder": lambda w, t: (["data", "check", t / "nowhere"], ["nowhere", "does not exist"]),
    "demo --out is a file": lambda w, t: (["demo", "--out", a_file(t)], ["--out", "a_file.txt"]),
    "preview --out is a file": lambda w, t: (["preview", "--all", "--out", a_file(t)], ["--out", "a_file.txt"]),
    # datasets that break the format: refused when read, naming the file and the field
    "manifest: a string for a category mapping": lambda w, t: (
        fit(edit_manifest(copy_data(w, t), lambda m: m["categories"].update(skateboard="foo")), t / "o"),
        ["dataset.json", "categories.skateboard", "mapping"]),
    "manifest: a string for body_model": lambda w, t: (
        ["occlusion", "--data", edit_manifest(copy_data(w, t), lambda m: m.update(body_model="embedded")),
         "--category", CATEGORY, "--out", t / "o.npz"], ["dataset.json", "body_model"]),
    "manifest: not JSON": lambda w, t: (
        ["group", "--data", with_manifest_text(w, t, "{oops"), "--category", CATEGORY], ["dataset.json", "not valid JSON"]),
    "manifest: empty file": lambda w, t: (
        ["train", "--data", with_manifest_text(w, t, ""), "--category", CATEGORY, "--out", t / "p.pt"],
        ["dataset.json", "empty"]),
    "manifest: negative keypoint count": lambda w, t: (
        ["eval", "wildhoi", "--data", edit_manifest(copy_data(w, t), lambda m: m["categories"]["skateboard"].update(
            num_object_keypoints=-2)), "--fits", w.fits], ["dataset.json", "num_object_keypoints"]),
    "manifest: newer format": lambda w, t: (
        fit(edit_manifest(copy_data(w, t), lambda m: m.update(format_version=99)), t / "o"),
        ["dataset.json", "format_version"]),
    "annotations truncated": lambda w, t: (fit(truncated_annotations(w, t), t / "o"), ["skateboard.npz", "truncated"]),
    "annotations: a missing column": lambda w, t: (
        ["group", "--data", edit_columns(copy_data(w, t), lambda c: c.pop("intrinsics")), "--category", CATEGORY],
        ["skateboard.npz", "intrinsics", "missing"]),
    "annotations: a misshapen column": lambda w, t: (
        ["occlusion", "--data", edit_columns(copy_data(w, t), lambda c: c.update(cam_center=c["cam_center"][:, :2])),
         "--category", CATEGORY, "--out", t / "o.npz"], ["skateboard.npz", "cam_center", "shape"]),
    "annotations: an unknown split": lambda w, t: (
        fit(edit_columns(copy_data(w, t), lambda c: c["split"].__setitem__(0, "dev")), t / "o"),
        ["skateboard.npz", "split", "dev"]),
    "annotations: repeated image ids": lambda w, t: (
        fit(edit_columns(copy_data(w, t), lambda c: c["image_id"].__setitem__(1, c["image_id"][0])), t / "o"),
        ["skateboard.npz", "image_id", "unique"]),
    "fit: unknown category": lambda w, t: (
        ["fit", "--data", w.data, "--category", "surfboard", "--out", t / "o"], ["surfboard", "skateboard"]),
    "fit: a split without images": lambda w, t: (fit(w.data, t / "o", "--split", "val"), ["val", "skateboard"]),
    "data check: degenerate camera": lambda w, t: (
        ["data", "check", edit_columns(copy_data(w, t), lambda c: c["intrinsics"].__setitem__((0, 0, 0), 0.0))],
        ["skateboard.npz", "intrinsics", "focal"]),
    "data check: an image that is not an image": lambda w, t: (
        ["data", "check", text_image(w, t)], ["image_file", "skateboard_000000.png", "not a readable image"]),
    # files that are not what they claim to be
    "fit --prior is not a prior": lambda w, t: (fit(w.data, t / "o", "--preset", "prior", "--prior", w.text),
                                                ["notes.txt", "prior"]),
    "fit --prior truncated": lambda w, t: (fit(w.data, t / "o", "--preset", "prior", "--prior",
                                               truncate(w.prior, t / "cut.pt")), ["cut.pt", "prior"]),
    "fit --prior of another category": lambda w, t: (
        fit(w.data, t / "o", "--preset", "prior", "--prior", w.wrong_prior),
        ["categories disagree", "bat.pt", "baseball_bat", "--category skateboard", "--force"]),
    "fit --occlusion truncated": lambda w, t: (
        fit(w.data, t / "o", "--preset", "contact", "--occlusion", truncate(w.occlusion, t / "occ.npz")),
        ["occ.npz", "truncated"]),
    "fit --occlusion of NaN maps": lambda w, t: (
        fit(w.data, t / "o", "--preset", "contact", "--occlusion", nan_maps(w.occlusion, t / "nan.npz")),
        ["nan.npz", "mean_human"]),
    "eval rhobin-object --pred not a pickle": lambda w, t: (
        ["eval", "rhobin-object", "--pred", w.text, "--ref", w.ref], ["notes.txt"]),
    "eval wildhoi: fits of another dataset": lambda w, t: (
        ["eval", "wildhoi", "--data", w.data, "--fits", w.other_fits, "--samples", "100"],
        ["datasets disagree", "fit.json", "other_data", "--data", "--force"]),
    "eval wildhoi: fits npz truncated": lambda w, t: (
        ["eval", "wildhoi", "--data", w.data, "--fits", truncated_fits(w, t)], ["skateboard.npz", "truncated"]),
    "eval wildhoi: fit.json garbled": lambda w, t: (
        ["eval", "wildhoi", "--data", w.data, "--fits", garbled_info(w, t)], ["fit.json", "not valid JSON"]),
    "eval wildhoi: half the frames missing": lambda w, t: (
        ["eval", "wildhoi", "--data", w.data, "--fits", fits_with(w, t, lambda c: drop_rows(c, slice(0, 2))),
         "--samples", "100"], ["fits", "2 of 4", "2 missing", "--min-coverage"]),
    "eval compare: reports of other data": lambda w, t: (
        ["eval", "compare", w.report, w.other_report], ["ground truths", "summary.json", "--force"]),
    "export-rhobin: inf values": lambda w, t: (
        ["export-rhobin", "--fits", fits_with(w, t, lambda c: c["transl"].__setitem__((1, 0), np.inf)),
         "--out", t / "r.pkl"], ["skateboard.npz", "transl", "not finite", "--force"]),
    "export-rhobin: a partial sequence": lambda w, t: (
        ["export-rhobin", "--fits", fits_with(w, t, lambda c: drop_rows(c, slice(0, 3))), "--out", t / "r.pkl"],
        ["skateboard.npz", "3 of the 4", "--min-coverage"]),
    "export-rhobin: fits folder without fits": lambda w, t: (
        ["export-rhobin", "--fits", a_folder(t), "--out", t / "r.pkl"], ["a_folder", "no fits"]),
    "synth: a folder holding another dataset": lambda w, t: (
        ["synth", "--out", copy_data(w, t), "--categories", CATEGORY, "--train", "6", "--test", "4",
         "--image-size", "64", "--seed", "2"], ["dataset.json", "seed: 0 -> 2", "--force"]),
    "fit: an --out holding fits of another preset": lambda w, t: (
        fit(w.data, Path(shutil.copytree(w.fits, t / "f")), "--preset", "contact", "--occlusion", w.occlusion),
        ["configurations of skateboard fits", "fit.json", "preset none", "preset contact", "--force"]),
}


def with_manifest_text(world, tmp: Path, text: str) -> Path:  # noqa: ANN001 - a World
    root = copy_data(world, tmp)
    (root / "dataset.json").write_text(text)
    return root


def truncated_annotations(world, tmp: Path) -> Path:  # noqa: ANN001 - a World
    root = copy_data(world, tmp)
    truncate(world.data / "annotations" / f"{CATEGORY}.npz", root / "annotations" / f"{CATEGORY}.npz")
    return root


def text_image(world, tmp: Path) -> Path:  # noqa: ANN001 - a World
    root = copy_data(world, tmp)
    (root / "images" / CATEGORY / "skateboard_000000.png").write_text("text")
    return root


def nan_maps(path: Path, dst: Path) -> Path:
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["mean_human"] = np.full_like(arrays["mean_human"], np.nan)
    np.savez(dst, **arrays)
    return dst


def truncated_fits(world, tmp: Path) -> Path:  # noqa: ANN001 - a World
    out = Path(shutil.copytree(world.fits, tmp / "fits"))
    truncate(world.fits / "fits" / f"{CATEGORY}.npz", out / "fits" / f"{CATEGORY}.npz")
    return out


def garbled_info(world, tmp: Path) -> Path:  # noqa: ANN001 - a World
    out = Path(shutil.copytree(world.fits, tmp / "fits"))
    (out / "fit.json").write_text('{"dataset": ')
    return out


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_naming_what_is_wrong(case: str, world, tmp_path: Path) -> None:  # noqa: ANN001
    args, expected = CASES[case](world, tmp_path)
    code, output, error = invoke(args)
    assert code != 0, output
    assert "Traceback" not in output and (error is None or isinstance(error, SystemExit)), output
    assert "unexpected" not in output, output  # reported as bad input, not by the top-level handler
    missing = [text for text in expected if text not in output]
    assert not missing, f"{missing} not in: {output}"


def test_there_are_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60


def _numeric(param) -> bool:  # noqa: ANN001 - a typer parameter
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    return annotation in (int, float, int | None, float | None)


def _commands() -> dict[str, object]:
    group = typer.main.get_command(app)
    found = {}
    for name, cmd in group.commands.items():
        for sub, inner in getattr(cmd, "commands", {name: cmd}).items():
            found[f"{name} {sub}" if sub != name else name] = inner
    return found


def test_every_numeric_option_has_a_range_shown_in_help() -> None:
    from hoirecon.cli import data_cmds, demo_cmd, detect_cmd, fit_cmd, prior_cmds, reconstruct_cmd

    every = (data_cmds.SYNTH_OPTIONS, fit_cmd.FIT_OPTIONS, prior_cmds.GROUP_OPTIONS, prior_cmds.TRAIN_OPTIONS,
             demo_cmd.DEMO_OPTIONS, reconstruct_cmd.IMAGE_OPTIONS, detect_cmd.DETECT_OPTIONS)
    for options in every:
        assert isinstance(options, ConfigOptions)
        unbounded = [f.flag for f in options.fields if f.kind in (int, float) and f.bound is None]
        assert not unbounded
    config_params = {f.param for o in every for f in o.fields}
    for name, command in _commands().items():
        for param in command.params:
            if _numeric(param) and param.name not in config_params:
                assert param.min is not None or param.max is not None, f"{name} --{param.name} has no range"
    code, output, _ = invoke(["train", "--help"])
    assert "0<=x<1" in output and "x>0" in output and "x>=1" in output

