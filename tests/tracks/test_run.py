"""A track end to end through the Python API: evidence only, resumable, bad frames skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hoirecon.eval.protocols import CoverageError
from hoirecon.fitting.optimize import get_preset
from hoirecon.tracks.keys import read_split
from hoirecon.tracks.reference import make_reference
from hoirecon.tracks.run import EMBEDDED_NOTE, TrackInputs, run_track

FAST = get_preset("none", object_steps=5, joint_steps=5)


def _without_fits(tree: Path, out: Path) -> Path:
    """A copy of the tree with every fit pickle removed (what a test-set user has)."""
    copy = out / "evidence_only"
    shutil.copytree(tree, copy)
    for fit in copy.glob("sequences/*/*/*/fit0*/*_fit.pkl"):
        fit.unlink()
    return copy


@pytest.fixture(scope="module")
def ref(behave_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ref") / "ref.pkl"
    make_reference(behave_tree, read_split(behave_tree / "split.json"), path)
    return path


@pytest.mark.slow
def test_the_fit_reads_evidence_only_and_resumes(behave_tree: Path, ref: Path, tmp_path: Path) -> None:
    tree = _without_fits(behave_tree, tmp_path)
    inputs = TrackInputs(tree, tree / "split.json", tmp_path / "out", FAST, ref=ref)
    first = run_track("joint", inputs)
    assert first.result is not None and first.result.counts["missing"] == 0 and not first.skipped
    assert EMBEDDED_NOTE in first.notes
    parts = sorted((tmp_path / "out" / "fit" / "fits" / ".parts").glob("*.npz"))
    stamps = [f.stat().st_mtime_ns for f in parts]
    second = run_track("object", inputs)
    assert parts and [f.stat().st_mtime_ns for f in parts] == stamps  # the batches are fitted once for both tracks
    assert second.result.counts["scored"] == first.result.counts["scored"]


@pytest.mark.slow
def test_a_bad_frame_is_reported_skipped_and_counted(behave_tree: Path, ref: Path, tmp_path: Path) -> None:
    tree = _without_fits(behave_tree, tmp_path)
    seq = read_split(tree / "split.json")[1]
    broken = sorted((tree / "sequences" / seq).glob("t*/k1.body_estimate.npz"))[0]
    broken.write_bytes(b"garbage")
    inputs = TrackInputs(tree, tree / "split.json", tmp_path / "out", FAST, ref=ref)
    with pytest.raises(CoverageError, match="covers"):
        run_track("human", inputs)
    lenient = TrackInputs(tree, tree / "split.json", tmp_path / "out", FAST, ref=ref, min_coverage=0.5)
    run = run_track("human", lenient)
    assert any("body_estimate" in what or "body_estimate" in why for what, why in run.skipped)
    assert run.result.counts["missing"] == 1


def test_a_track_without_reference_or_fits_writes_results_and_says_so(behave_tree: Path, tmp_path: Path) -> None:
    tree = _without_fits(behave_tree, tmp_path)
    run = run_track("object", TrackInputs(tree, tree / "split.json", tmp_path / "out", get_preset("none", object_steps=1,
                                                                                                  joint_steps=1)))
    assert run.result is None and run.results_path.is_file()
    assert any("no reference" in note for note in run.notes)


def test_unknown_track_is_refused(behave_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="track"):
        run_track("hands", TrackInputs(behave_tree, behave_tree / "split.json", tmp_path, FAST))


def test_the_preset_named_is_the_one_used() -> None:
    from hoirecon.tracks.run import preset_used

    assert preset_used(get_preset("prior+contact"), None) == "contact"
    assert preset_used(get_preset("prior"), Path("p.pt")) == "prior"
    assert preset_used(get_preset("none"), None) == "none"


@pytest.mark.slow
def test_a_model_folder_fits_with_its_male_model_and_writes_for_each_gender(behave_tree: Path, ref: Path,
                                                                             tmp_path: Path) -> None:
    import pickle

    import numpy as np

    from hoirecon.body import load_body_model
    from hoirecon.body.loading import embedded_model_path
    from hoirecon.io.fits import load_fits
    from hoirecon.tracks.world import BehaveCalibration, rest_pelvis

    folder = tmp_path / "models"
    folder.mkdir()
    for gender in ("male", "female"):  # no neutral file, as SMPL-H ships
        shutil.copy(embedded_model_path(gender), folder / f"SMPL_{gender.upper()}.npz")
    inputs = TrackInputs(behave_tree, behave_tree / "split.json", tmp_path / "out", FAST, body_model=folder, ref=ref)
    run = run_track("human", inputs)
    assert EMBEDDED_NOTE not in run.notes and run.result.counts["scored"] == run.result.counts["evaluated"]
    seq = "Date03_Sub07_chairwood_sit"  # a female subject
    fits = load_fits(tmp_path / "out" / "fit", "chairwood").columns
    row = [str(i) for i in fits["image_id"]].index(f"{seq}_t0001.000_k1")
    camera = BehaveCalibration(behave_tree).camera(seq, 1)
    male, female = load_body_model(folder, "male"), load_body_model(folder, "female")
    betas = fits["betas"][row:row + 1]
    fitted_pelvis = (fits["transl"][row] + rest_pelvis(male, betas)[0]) @ camera.rotation.T + camera.translation
    written = pickle.loads(run.results_path.read_bytes())[seq]
    frame = written["frames"].index("t0001.000")
    np.testing.assert_allclose(written["trans"][frame] + rest_pelvis(female, betas)[0], fitted_pelvis, atol=1e-5)
