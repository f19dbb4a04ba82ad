"""convert: reader output -> our format -> load_dataset round trip, check_dataset, skipped samples."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from hoirecon.data import check_dataset, load_dataset
from hoirecon.data.readers import behave_templates, convert, read_behave, read_wildhoi
from hoirecon.objects import get_category_template


def assert_same_samples(written, original) -> None:
    assert written.image_id == original.image_id and written.split == original.split
    np.testing.assert_allclose(written.keypoints_2d, original.keypoints_2d, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(written.keypoint_conf, original.keypoint_conf, atol=1e-6)
    np.testing.assert_array_equal(written.keypoint_visible, original.keypoint_visible)
    for name in ("intrinsics", "cam_rotation", "cam_center", "coco_keypoints"):
        np.testing.assert_allclose(getattr(written, name), getattr(original, name), rtol=1e-6, atol=1e-4)
    assert written.image_size == original.image_size


def test_wildhoi_round_trip(wildhoi_tree, tmp_path: Path) -> None:
    templates = {"baseball_bat": get_category_template("baseball_bat")}
    results = list(read_wildhoi(wildhoi_tree.root, body_model=wildhoi_tree.body, templates=templates))
    out = tmp_path / "out"
    report = convert(results, out, "wildhoi", body_model="smplx")
    assert report.written == {"baseball_bat": 4} and not report.skipped
    assert check_dataset(out) == []
    ds = load_dataset(out)
    assert ds.manifest["body_model"]["name"] == "smplx"
    written = {s.image_id: s for s in ds.samples("baseball_bat")}
    for result in results:
        sample = written[result.sample.image_id]
        assert_same_samples(sample, result.sample)
        assert sample.image_path.is_file() and out in sample.image_path.parents
    test = written["0002_000_000010"]
    np.testing.assert_allclose(test.gt.object_keypoints_3d, results[2].sample.gt.object_keypoints_3d, atol=1e-5)
    np.testing.assert_allclose(test.project(np.concatenate([test.gt.joints_3d, test.gt.object_keypoints_3d])),
                               test.keypoints_2d, atol=0.05)
    assert written["0001_000_000001"].gt is None and written["0001_000_000001"].estimate is not None


def test_behave_round_trip_with_templates_and_masks(behave_tree, tmp_path: Path) -> None:
    templates = behave_templates(behave_tree.root)
    results = list(read_behave(behave_tree.root, body_model=behave_tree.body, templates=templates))
    out = tmp_path / "out"
    report = convert(results, out, "behave", templates=templates, body_model="smplh")
    assert report.written == {"basketball": 4, "chairwood": 8} and not report.skipped
    assert check_dataset(out) == []
    ds = load_dataset(out)
    assert ds.category_info("chairwood")["num_object_keypoints"] == 2
    assert ds.category_info("chairwood")["template"].startswith("templates/")
    for result in results:
        sample = ds.sample(result.sample.category, result.sample.image_id)
        assert_same_samples(sample, result.sample)
        assert sample.object_mask_path.suffix == result.sample.object_mask_path.suffix
        assert sample.human_mask_path.is_file() and sample.object_mask_path.is_file()
        translation = sample.object_pose_camera().translation
        np.testing.assert_allclose(translation, result.object_pose_camera.translation, atol=1e-4)


def test_reference_in_place_and_merge_categories(wildhoi_tree, behave_tree, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(read_wildhoi(wildhoi_tree.root), out, "mixed", copy_images=False)
    assert not (out / "images").exists()
    first = load_dataset(out).sample("baseball_bat", "0002_000_000011")
    assert first.image_path == (wildhoi_tree.root / "baseball/images_temp/0002/000011.jpg").resolve()
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball"])
    convert(reader, out, "mixed", templates=behave_templates(behave_tree.root, ["basketball"]))
    assert load_dataset(out).categories == ["baseball_bat", "basketball"]
    assert check_dataset(out) == []


def test_bad_samples_are_skipped_with_reasons(wildhoi_tree, behave_tree, tmp_path: Path) -> None:
    samples = [r.sample for r in read_wildhoi(wildhoi_tree.root)]
    bad_split = dataclasses.replace(samples[0], split="holdout")
    duplicate = dataclasses.replace(samples[2], keypoints_2d=samples[2].keypoints_2d + 1)
    nan = dataclasses.replace(samples[3], cam_center=np.full(3, np.nan))
    behave = [r.sample for r in read_behave(behave_tree.root, views=[0])]
    out = tmp_path / "out"
    report = convert([bad_split, samples[1], samples[2], duplicate, nan, *behave], out, "partial")
    assert report.written == {"baseball_bat": 2}
    reasons = {(s.image_id, s.reason.split(" ")[0]) for s in report.skipped}
    assert (samples[0].image_id, "split") in reasons and (samples[2].image_id, "duplicate") in reasons
    assert (samples[3].image_id, "non-finite") in reasons
    assert any(s.category == "chairwood" and "template" in s.reason for s in report.skipped)
    assert any(s.category == "basketball" and "keypoints_2d" in s.reason for s in report.skipped)
    assert check_dataset(out) == []
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["categories"]["baseball_bat"]["num_images"] == {"train": 1, "test": 1}
