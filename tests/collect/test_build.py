"""``data build`` on synthetic renders treated as photos: poses recovered, resumable, bad images
reported per image, video input, and the offline detector on a render."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from hoirecon.collect.build import BuildConfig, build_dataset
from hoirecon.data import check_dataset, load_dataset
from hoirecon.eval.object_pose import rotation_error
from hoirecon.objects import load_template
from hoirecon.prior.category import group_category

CONFIG = BuildConfig("skateboard")


def _annotations(folder: Path) -> Path:
    return folder / "skateboard.annotations.json"


def _rotation_errors(out: Path, truth: dict) -> list[float]:
    poses = json.loads((out / "collect" / "skateboard.poses.json").read_text())
    template = load_template("skateboard")
    symmetries = list(zip(template.symmetry_rotations, template.symmetry_translations, strict=True))
    return [rotation_error(np.array(p["rotation_camera"]), truth[i].rotation, symmetries) for i, p in poses.items()]


@pytest.mark.slow
def test_build_recovers_poses_and_writes_a_dataset_without_truth(photo_folder, tmp_path: Path) -> None:
    folder, truth = photo_folder
    out = tmp_path / "ds"
    summary = build_dataset(folder, out, CONFIG, annotations=_annotations(folder))
    assert summary.kept == len(truth) and summary.dropped == {} and summary.methods == {"pnp": len(truth)}
    assert np.median(_rotation_errors(out, truth)) <= 10.0
    assert check_dataset(out) == []
    data = load_dataset(out)
    assert "has_gt" not in data.columns("skateboard") and all(s.gt is None for s in data.samples("skateboard"))
    grouping, quality = group_category(out, "skateboard")
    assert len(grouping) == len(truth) and quality is None
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["collected"]["skateboard"]["kept"] == len(truth)


@pytest.mark.slow
def test_rerun_reuses_finished_images_and_redoes_changed_ones(photo_folder, tmp_path: Path) -> None:
    folder, truth = photo_folder
    out = tmp_path / "ds"
    build_dataset(folder, out, CONFIG, annotations=_annotations(folder))
    again = build_dataset(folder, out, CONFIG, annotations=_annotations(folder))
    assert again.reused == len(truth) and again.kept == len(truth)
    doc = json.loads(_annotations(folder).read_text())
    first = sorted(doc["images"])[0]
    doc["images"][first]["keypoints"][0][0] += 1.0
    _annotations(folder).write_text(json.dumps(doc))
    third = build_dataset(folder, out, CONFIG, annotations=_annotations(folder))
    assert third.reused == len(truth) - 1


@pytest.mark.slow
def test_bad_images_are_reported_and_skipped(photo_folder, renders: Path, tmp_path: Path) -> None:
    folder, truth = photo_folder
    ids = sorted(truth)
    (folder / "zz_broken.png").write_bytes(b"not a png")
    (folder / f"{ids[0]}.keypoints.json").unlink()  # no person evidence
    doc = json.loads(_annotations(folder).read_text())
    del doc["images"][ids[1]]  # no object evidence at all
    doc["images"][ids[2]]["category"] = "violin"  # clicked on another template
    doc["images"][ids[3]]["keypoints"] = [[0, 0, 0]] * 8  # no clicks, only the object's mask
    _annotations(folder).write_text(json.dumps(doc))
    shutil.copyfile(renders / "masks" / "skateboard" / f"{ids[3]}.object.png", folder / f"{ids[3]}.object_mask.png")
    summary = build_dataset(folder, tmp_path / "ds", CONFIG, annotations=_annotations(folder))
    assert summary.frames == len(truth) + 1
    assert "unreadable" in summary.dropped["zz_broken"] and summary.reasons["unreadable"] == 1
    assert summary.reasons["no-person"] == 1 and ids[0] in summary.dropped
    assert summary.reasons["no-object-evidence"] == 1 and ids[1] in summary.dropped
    assert summary.reasons["annotation"] == 1 and "'violin'" in summary.dropped[ids[2]]
    mask_kept = summary.methods.get("mask", 0) == 1
    assert mask_kept or "mask" in summary.dropped[ids[3]]
    assert summary.kept == len(truth) - 3 - (0 if mask_kept else 1)
    written = json.loads((tmp_path / "ds" / "collect" / "skateboard.summary.json").read_text())
    assert written["reasons"] == summary.reasons


@pytest.mark.slow
def test_video_frames_become_rows(photo_folder, tmp_path: Path) -> None:
    folder, truth = photo_folder
    ids = sorted(truth)[:3]
    video, evidence = tmp_path / "clip.avi", tmp_path / "evidence"
    evidence.mkdir()
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (256, 256))
    doc = json.loads(_annotations(folder).read_text())
    clicks = {"images": {}}
    for n, image_id in enumerate(ids):
        frame = cv2.imread(str(folder / f"{image_id}.png"))
        writer.write(frame)
        writer.write(frame)  # a repeated frame: dropped as a near-duplicate
        new = f"clip_{2 * n:06d}"
        for suffix in (".keypoints.json", ".body.npz", ".camera.json"):
            shutil.copyfile(folder / f"{image_id}{suffix}", evidence / f"{new}{suffix}")
        clicks["images"][new] = doc["images"][image_id]
    writer.release()
    (evidence / "clicks.json").write_text(json.dumps({**doc, **clicks}))
    summary = build_dataset(video, tmp_path / "ds", CONFIG, annotations=evidence / "clicks.json", evidence=evidence)
    assert summary.kept == 3 and summary.reasons == {"duplicate": 3}
    assert (tmp_path / "ds" / "frames" / "clip_000002.png").is_file()
    assert sorted(load_dataset(tmp_path / "ds").columns("skateboard")["image_id"]) == ["clip_000000", "clip_000002",
                                                                                      "clip_000004"]


@pytest.mark.slow
def test_detector_finds_the_person_on_renders(photo_folder, tmp_path: Path) -> None:
    folder, truth = photo_folder
    for path in folder.glob("*.keypoints.json"):
        path.unlink()
    for image_id in sorted(truth)[4:]:
        (folder / f"{image_id}.png").unlink()
    config = BuildConfig("skateboard", detect=True)
    summary = build_dataset(folder, tmp_path / "ds", config, annotations=_annotations(folder))
    assert summary.kept >= 2 and summary.kept + summary.reasons.get("no-person", 0) + summary.reasons.get(
        "pose-rejected", 0) + summary.reasons.get("no-pair", 0) == 4
    assert (tmp_path / "ds" / "detections").is_dir()


@pytest.mark.slow
def test_left_right_fix_of_the_page_reaches_the_row(photo_folder, tmp_path: Path) -> None:
    folder, truth = photo_folder
    image_id = sorted(truth)[0]
    doc = json.loads(_annotations(folder).read_text())
    doc["images"][image_id]["swap_left_right"] = True
    _annotations(folder).write_text(json.dumps(doc))
    build_dataset(folder, tmp_path / "ds", CONFIG)  # the page's file is found beside the photos
    detected = np.array(json.loads((folder / f"{image_id}.keypoints.json").read_text())[0]["keypoints"]).reshape(17, 3)
    rows = load_dataset(tmp_path / "ds").sample("skateboard", image_id).coco_keypoints
    assert np.allclose(rows[5], detected[6], atol=1e-3) and np.allclose(rows[6], detected[5], atol=1e-3)
    assert np.allclose(rows[0], detected[0], atol=1e-3)
