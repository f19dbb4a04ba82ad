"""The synthetic BEHAVE tree: the release's exact layout, readable by the BEHAVE readers, its truth consistent."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hoirecon.body import load_body_model
from hoirecon.data.readers.behave import read_behave
from hoirecon.data.readers.behave_files import object_visible_ratio, read_info, read_kinect, read_openpose
from hoirecon.data.synthetic.behave_layout import (
    HIDDEN_FRAME,
    KINECTS,
    BehaveLayoutConfig,
    check_sequence_name,
    frame_name,
    template_offset,
    write_behave_tree,
)
from hoirecon.objects import load_behave_template

CONFIG = BehaveLayoutConfig(frames=2, width=64)
SEQ0, SEQ1 = CONFIG.sequences


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_behave_tree(tmp_path_factory.mktemp("behave"), CONFIG)


def test_files_are_where_the_release_puts_them(tree: Path) -> None:
    for k in KINECTS:
        assert (tree / "calibs" / "intrinsics" / str(k) / "calibration.json").is_file()
        assert (tree / "calibs" / "Date03" / "config" / str(k) / "config.json").is_file()
    assert (tree / "objects" / "boxmedium" / "boxmedium_f1000.ply").is_file()
    assert (tree / "objects" / "chairwood" / "chairwood_f2500.ply").is_file()
    assert json.loads((tree / "split.json").read_text()) == {"train": [], "test": list(CONFIG.sequences)}
    for seq in CONFIG.sequences:
        obj = seq.split("_")[2]
        for f in range(CONFIG.frames):
            frame = tree / "sequences" / seq / frame_name(f)
            assert frame.name == f"t000{f + 1}.000"
            assert (frame / "person" / "fit02" / "person_fit.pkl").is_file()
            assert (frame / obj / "fit01" / f"{obj}_fit.pkl").is_file()
            for k in KINECTS:
                for name in ("color.jpg", "color.json", "person_mask.png", "obj_rend_mask.png", "obj_rend_full.png"):
                    assert (frame / f"k{k}.{name}").is_file(), f"{frame}/k{k}.{name}"
                assert Image.open(frame / f"k{k}.color.jpg").size == (64, 48)


def test_info_fits_and_calibration_read_back(tree: Path) -> None:
    seq = tree / "sequences" / SEQ1
    info = read_info(seq, tree / "calibs")
    assert (info.object_name, info.gender, info.kinects) == ("chairwood", "female", KINECTS)
    assert np.allclose(read_kinect(info, 1).rotation, np.eye(3))
    with open(seq / frame_name(0) / "person" / "fit02" / "person_fit.pkl", "rb") as fh:
        person = pickle.load(fh)
    assert {k: v.shape for k, v in person.items()} == {"pose": (156,), "betas": (10,), "trans": (3,)}
    assert np.all(person["pose"][66:] == 0)
    with open(seq / frame_name(0) / "chairwood" / "fit01" / "chairwood_fit.pkl", "rb") as fh:
        assert {k: v.shape for k, v in pickle.load(fh).items()} == {"angle": (3,), "trans": (3,)}


def test_templates_are_written_off_centre(tree: Path) -> None:
    import trimesh

    raw = trimesh.load(tree / "objects" / "boxmedium" / "boxmedium_f1000.ply", process=False)
    np.testing.assert_allclose(np.asarray(raw.vertices).mean(axis=0), template_offset(CONFIG.seed), atol=1e-6)
    np.testing.assert_allclose(load_behave_template(tree, "boxmedium").vertices.mean(axis=0), 0.0, atol=1e-6)


def test_some_openpose_files_are_all_zeros_never_k1(tree: Path) -> None:
    empty = {(s, f, k) for s in CONFIG.sequences for f in range(CONFIG.frames) for k in KINECTS
             if read_openpose(tree / "sequences" / s / frame_name(f) / f"k{k}.color.json").smpl_conf.max() == 0}
    assert empty and all(k != 1 for *_, k in empty)


def test_the_hidden_frame_falls_below_the_visibility_rule(tree: Path) -> None:
    ratios = [object_visible_ratio(tree / "sequences" / SEQ0 / frame_name(f), 1) for f in range(CONFIG.frames)]
    assert ratios[HIDDEN_FRAME] < 0.3 and max(ratios) > 0.3


def test_the_reader_reads_every_view_from_evidence(tree: Path) -> None:
    reader = read_behave(tree, "test", body_model=load_body_model(None), truth=False)
    results = list(reader)
    assert not reader.problems and len(results) == len(CONFIG.sequences) * CONFIG.frames * len(KINECTS)
    assert all(r.sample.gt is None for r in results)


@pytest.mark.parametrize("name", ["Date03_Sub03_sofa_sit", "boxmedium", "Sub03_Date03_boxmedium_hand"])
def test_bad_sequence_names_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sequence"):
        check_sequence_name(name)
    with pytest.raises(ValueError):
        write_behave_tree(tmp_path, BehaveLayoutConfig(sequences=(name,)))
