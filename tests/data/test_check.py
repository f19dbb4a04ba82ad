import json
from pathlib import Path

import numpy as np

from hoirecon.data import check_dataset
from hoirecon.data.format import ANNOTATION_DIR


def _npz(root: Path) -> Path:
    return root / ANNOTATION_DIR / "baseball_bat.npz"


def _rewrite(root: Path, **changes: np.ndarray) -> None:
    with np.load(_npz(root)) as npz:
        cols = {k: npz[k] for k in npz.files}
    cols.update(changes)
    np.savez(_npz(root), **cols)


def test_valid_dataset_has_no_problems(tiny_dataset: Path) -> None:
    assert check_dataset(tiny_dataset) == []


def test_truncated_npz_is_named(tiny_dataset: Path) -> None:
    data = _npz(tiny_dataset).read_bytes()
    _npz(tiny_dataset).write_bytes(data[: len(data) // 2])
    problems = check_dataset(tiny_dataset)
    assert len(problems) == 1
    assert "baseball_bat.npz" in problems[0].path and "truncated" in problems[0].message


def test_missing_image_is_named(tiny_dataset: Path) -> None:
    (tiny_dataset / "images/cat/img0001.png").unlink()
    problems = check_dataset(tiny_dataset)
    assert [p.field for p in problems] == ["image_file"]
    assert "img0001.png" in problems[0].message


def test_nan_keypoints_are_named(tiny_dataset: Path) -> None:
    with np.load(_npz(tiny_dataset)) as npz:
        kp = npz["keypoints_2d"].copy()
    kp[2, 5, 0] = np.nan
    _rewrite(tiny_dataset, keypoints_2d=kp)
    problems = check_dataset(tiny_dataset)
    assert [p.field for p in problems] == ["keypoints_2d"]
    assert "NaN" in problems[0].message and "[2]" in problems[0].message


def test_wrong_shape_is_named(tiny_dataset: Path) -> None:
    _rewrite(tiny_dataset, intrinsics=np.zeros((4, 3, 4), np.float32))
    problems = check_dataset(tiny_dataset)
    assert [p.field for p in problems] == ["intrinsics"]
    assert "(4, 3, 4)" in problems[0].message and "(4, 3, 3)" in problems[0].message


def test_unknown_category_is_named(tiny_dataset: Path) -> None:
    manifest_path = tiny_dataset / "dataset.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["categories"]["baseball_bat"]["template"] = "builtin:hockey_stick"
    manifest_path.write_text(json.dumps(manifest))
    problems = check_dataset(tiny_dataset)
    assert len(problems) == 1
    assert problems[0].field == "categories.baseball_bat.template" and "hockey_stick" in problems[0].message


def test_every_problem_is_reported(tiny_dataset: Path) -> None:
    (tiny_dataset / "images/cat/img0000.png").unlink()
    with np.load(_npz(tiny_dataset)) as npz:
        conf = npz["keypoint_conf"].copy()
    conf[0, 0] = np.inf
    _rewrite(tiny_dataset, keypoint_conf=conf, split=np.array(["train", "train", "bogus", "test"]))
    fields = sorted(p.field for p in check_dataset(tiny_dataset))
    assert fields == ["image_file", "keypoint_conf", "split"]
