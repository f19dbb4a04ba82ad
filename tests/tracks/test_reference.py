"""The reference builder: the official ref.pkl layout field by field, values from the fits,
visible fractions from the masks, bad frames left out."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from hoirecon.data.readers.behave_files import object_visible_ratio, read_person_fit
from hoirecon.eval.protocols import load_rhobin_file
from hoirecon.tracks.keys import read_split
from hoirecon.tracks.reference import build_reference, make_reference

SEQ_KEYS = {"frames": None, "gender": None, "poses": (156,), "betas": (10,), "trans": (3,), "obj_rots": (3,),
            "obj_trans": (3,), "occ_ratios": ()}
"""What the official evaluators read from ref.pkl's annotations (evaluate_*.py, evaluate_base.py)."""


def test_layout_is_the_official_one_field_by_field(behave_tree: Path, tmp_path: Path) -> None:
    sequences = read_split(behave_tree / "split.json")
    out = tmp_path / "ref.pkl"
    report = make_reference(behave_tree, sequences, out)
    ref = pickle.loads(out.read_bytes())
    assert set(ref) == {"annotations", "templates"} and list(ref["annotations"]) == sequences
    for seq, entry in ref["annotations"].items():
        assert set(entry) == set(SEQ_KEYS)
        n = len(entry["frames"])
        assert entry["frames"] == sorted(entry["frames"]) and report.frames[seq] == n
        assert entry["gender"] in ("male", "female")
        for key, shape in SEQ_KEYS.items():
            if shape is not None:
                assert np.asarray(entry[key]).shape == (n, *shape), key
    for name, template in ref["templates"].items():
        assert template["verts"].shape[1] == 3 and template["faces"].shape[1] == 3
        np.testing.assert_allclose(template["verts"].mean(axis=0), 0.0, atol=1e-6)
        assert all(set(s) == {"R", "t"} and np.shape(s["t"]) == (3, 1) for s in template["symmetries"])
        np.testing.assert_allclose(template["symmetries"][0]["R"], np.eye(3))
    parsed = load_rhobin_file(out, need_body=True, need_object=True)
    assert parsed.num_frames == sum(report.frames.values())


def test_values_come_from_the_fits_and_the_masks(behave_tree: Path) -> None:
    seq = read_split(behave_tree / "split.json")[0]
    ref = build_reference(behave_tree, [seq])
    entry = ref["annotations"][seq]
    frame = behave_tree / "sequences" / seq / entry["frames"][0]
    np.testing.assert_allclose(entry["poses"][0], read_person_fit(frame).pose)
    assert entry["occ_ratios"][0] == pytest.approx(object_visible_ratio(frame, 1))
    assert entry["occ_ratios"].min() < 0.3 <= entry["occ_ratios"].max()


def test_a_frame_with_a_broken_fit_is_left_out(behave_tree: Path, tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(behave_tree, tree)
    seq = read_split(tree / "split.json")[1]
    frames = sorted(p for p in (tree / "sequences" / seq).iterdir() if p.is_dir())
    (frames[0] / "person" / "fit02" / "person_fit.pkl").write_bytes(b"not a pickle")
    report = make_reference(tree, [seq], tmp_path / "ref.pkl")
    assert report.frames[seq] == len(frames) - 1
    assert report.skipped and frames[0].name in report.skipped[0][0]


def test_a_sequence_outside_the_tree_is_named(behave_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Date09_Sub01_stool_sit"):
        make_reference(behave_tree, ["Date09_Sub01_stool_sit"], tmp_path / "ref.pkl")
    assert not (tmp_path / "ref.pkl").exists()
