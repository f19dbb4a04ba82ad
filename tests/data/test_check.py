import json
from pathlib import Path

import numpy as np
import pytest

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


def _column(root: Path, name: str) -> np.ndarray:
    with np.load(_npz(root)) as npz:
        return npz[name].copy()


def _set(root: Path, name: str, index: tuple, value: float) -> None:
    column = _column(root, name)
    column[index] = value
    _rewrite(root, **{name: column})


def _png(path: Path, size: tuple[int, int]) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((size[1], size[0]), np.uint8)).save(path)


def _mask(root: Path, column: str, size: tuple[int, int], content: bytes | None = None) -> None:
    names = _column(root, column).astype(object)
    path = root / "images" / "cat" / f"{column}.png"
    if content is None:
        _png(path, size)
    else:
        path.write_bytes(content)
    names[1] = f"images/cat/{column}.png"
    _rewrite(root, **{column: names.astype(str)})


def _manifest(root: Path, change) -> None:  # noqa: ANN001 - a callable
    path = root / "dataset.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _reflect(root: Path) -> None:
    rot = _column(root, "cam_rotation")
    rot[1] = rot[1] @ np.diag([1.0, 1.0, -1.0])
    _rewrite(root, cam_rotation=rot)


def _cut_image(root: Path) -> None:
    path = root / "images/cat/img0002.png"
    path.write_bytes(path.read_bytes()[:60])


CORRUPTIONS = {
    "zero image size": (lambda r: _set(r, "image_size", (1, 0), 0), "image_size", "> 0"),
    "negative image size": (lambda r: _set(r, "image_size", (2, 1), -5), "image_size", "> 0"),
    "zero focal length": (lambda r: _set(r, "intrinsics", (0, 0, 0), 0.0), "intrinsics", "focal"),
    "negative focal length": (lambda r: _set(r, "intrinsics", (3, 1, 1), -200.0), "intrinsics", "focal"),
    "principal point outside the image": (lambda r: _set(r, "intrinsics", (1, 0, 2), 500.0), "intrinsics",
                                          "principal point"),
    "intrinsics last row": (lambda r: _set(r, "intrinsics", (2, 2, 2), 0.0), "intrinsics", "(0, 0, 1)"),
    "camera rotation scaled": (lambda r: _set(r, "cam_rotation", (0, 0, 0), -2.0), "cam_rotation", "rotation"),
    "camera rotation reflected": (_reflect, "cam_rotation", "det +1"),
    "camera centre NaN": (lambda r: _set(r, "cam_center", (2, 1), np.nan), "cam_center", "NaN"),
    "keypoint confidence above 1": (lambda r: _set(r, "keypoint_conf", (1, 3), 1.5), "keypoint_conf", "[0, 1]"),
    "keypoint confidence negative": (lambda r: _set(r, "keypoint_conf", (0, 0), -0.1), "keypoint_conf", "[0, 1]"),
    "COCO confidence above 1": (lambda r: _set(r, "coco_keypoints", (2, 4, 2), 2.0), "coco_keypoints", "[0, 1]"),
    "object scale zero": (lambda r: _set(r, "gt_object_scale", (1,), 0.0), "gt_object_scale", "> 0"),
    "object scale negative": (lambda r: _set(r, "gt_object_scale", (0,), -1.0), "gt_object_scale", "> 0"),
    "object rotation singular": (lambda r: _set(r, "gt_object_rotation", (3,), 0.0), "gt_object_rotation",
                                 "rotation"),
    "object keypoints infinite": (lambda r: _set(r, "gt_object_keypoints_3d", (0, 1, 2), np.inf),
                                  "gt_object_keypoints_3d", "NaN/inf"),
    "empty image": (lambda r: (r / "images/cat/img0001.png").write_bytes(b""), "image_file", "empty"),
    "truncated image": (_cut_image, "image_file", "not a readable image"),
    "text for an image": (lambda r: (r / "images/cat/img0003.png").write_text("hello"), "image_file",
                          "not a readable image"),
    "image of another size": (lambda r: _png(r / "images/cat/img0000.png", (64, 64)), "image_file", "64x64"),
    "unreadable mask": (lambda r: _mask(r, "human_mask_file", (128, 128), b"\x89PNG junk"), "human_mask_file",
                        "not a readable image"),
    "mask of another size": (lambda r: _mask(r, "object_mask_file", (100, 128)), "object_mask_file", "100x128"),
    "empty annotations": (lambda r: _npz(r).write_bytes(b""), "", "empty file"),
    "empty manifest": (lambda r: (r / "dataset.json").write_text(""), "", "empty"),
    "categories a string": (lambda r: _manifest(r, lambda m: m.update(categories="baseball_bat")), "categories",
                            "mapping"),
    "category entry a list": (lambda r: _manifest(r, lambda m: m["categories"].update(baseball_bat=[1])),
                              "categories.baseball_bat", "mapping"),
    "keypoint names of another count": (lambda r: _manifest(r, lambda m: m["categories"]["baseball_bat"].update(
        keypoint_names=["tip"])), "categories.baseball_bat.keypoint_names", "1 names for 2"),
    "body model a string": (lambda r: _manifest(r, lambda m: m.update(body_model="smpl")), "body_model", "mapping"),
    "unknown gender": (lambda r: _manifest(r, lambda m: m["body_model"].update(gender="other")), "body_model.gender",
                       "neutral"),
    "empty template file": (lambda r: ((r / "bat.ply").write_bytes(b""), _manifest(
        r, lambda m: m["categories"]["baseball_bat"].update(template="bat.ply"))), "categories.baseball_bat.template",
        "empty"),
    "integer column of floats": (lambda r: _rewrite(r, image_size=np.full((4, 2), 128.5)), "image_size", "integer"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_every_corruption_is_found_and_named(case: str, tiny_dataset: Path) -> None:
    corrupt, field, text = CORRUPTIONS[case]
    corrupt(tiny_dataset)
    problems = check_dataset(tiny_dataset)
    assert problems, case
    assert any(p.field == field and text in p.message for p in problems), [str(p) for p in problems]


def test_video_columns_are_checked(tiny_dataset: Path) -> None:
    n = len(_column(tiny_dataset, "image_id"))
    _rewrite(tiny_dataset, video_id=np.array(["a"] * n), frame_index=np.arange(n), gt_instance_id=np.array(["i"] * n))
    assert check_dataset(tiny_dataset) == []
    _rewrite(tiny_dataset, frame_index=np.array([-1] + [0] * (n - 1)))
    problems = check_dataset(tiny_dataset)
    assert [p.field for p in problems] == ["frame_index"] and "frame indices >= 0" in problems[0].message


def test_a_video_id_needs_its_frame_index(tiny_dataset: Path) -> None:
    n = len(_column(tiny_dataset, "image_id"))
    _rewrite(tiny_dataset, video_id=np.array(["a"] * n))
    problems = check_dataset(tiny_dataset)
    assert [(p.field, p.message) for p in problems] == [("frame_index", "required column missing")]
