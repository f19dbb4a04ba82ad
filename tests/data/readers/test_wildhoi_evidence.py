"""WildHOI: which release fields are annotations, the object evidence files, the annotation
option recorded in the manifest, and evidence columns that never depend on the labels."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.data.readers import convert, read_wildhoi
from hoirecon.io.arrays import load_columns
from hoirecon.objects import get_category_template

TEMPLATES = {"baseball_bat": get_category_template("baseball_bat")}


def by_id(reader) -> dict:
    return {r.sample.image_id: r for r in reader}


def rewrite(path: Path, change) -> None:
    """Apply ``change`` to a pickle's contents in place."""
    data = pickle.loads(path.read_bytes())
    path.write_bytes(pickle.dumps(change(data), protocol=2))


def test_object_evidence_comes_from_the_estimator_files(wildhoi_tree) -> None:
    result = by_id(read_wildhoi(wildhoi_tree.root, split="test", templates=TEMPLATES))["0002_000_000010"]
    folder = wildhoi_tree.root / "baseball/object_evidence/0002/000"
    rows = np.asarray(json.loads((folder / "000010.obj_keypoints.json").read_text())["keypoints"])
    data = pickle.loads((folder / "000010.obj_coor.pkl").read_bytes())
    weights = data["w2d"].astype(np.float64).mean(axis=1)
    np.testing.assert_allclose(result.sample.keypoints_2d[22:], rows[:, :2])
    np.testing.assert_allclose(result.sample.keypoint_conf[22:], 0.9)
    truth = wildhoi_tree.frames["0002_000_000010"]
    np.testing.assert_allclose(result.est_object_pose_camera.rotation, truth.cam_R @ truth.obj_R, atol=1e-5)
    np.testing.assert_allclose(result.annotated_object_pose_camera.rotation, truth.cam_R @ truth.obj_R, atol=1e-6)
    assert result.object_evidence == "estimate" and result.sample.estimate is None  # no body model: no transl
    (with_model,) = read_wildhoi(wildhoi_tree.root, split="test", templates=TEMPLATES, body_model=wildhoi_tree.body)
    est = with_model.sample.estimate
    assert len(est.corr_weight) == 256 and (est.corr_weight > 0).all()
    np.testing.assert_allclose(est.corr_weight, np.sort(weights)[::-1][:256])


def test_frames_without_object_evidence_are_reported_and_skipped(wildhoi_tree) -> None:
    """A missing file: that frame; a track without an evidence folder: once for all its frames.
    The annotated ``obj_RT`` and ``object_kps_seq`` are there and fill nothing."""
    base = wildhoi_tree.root / "baseball"
    (base / "object_evidence/0001/000/000002.obj_coor.pkl").unlink()
    shutil.rmtree(base / "object_evidence/0002")
    reader = read_wildhoi(wildhoi_tree.root, body_model=wildhoi_tree.body, templates=TEMPLATES)
    assert [r.sample.image_id for r in reader] == ["0001_000_000001"]
    problems = {p.path: p.message for p in reader.problems}
    frame = problems[str(base / "object_evidence/0001/000")]
    assert "frame 000002: no object evidence" in frame and "never filled" in frame
    assert "2 frame(s) of 0002_000 skipped" in problems[str(base / "object_evidence/0002/000")]
    assert "000003" in problems[str(base / "hoi_kps/0001/000_hoi_kps.pkl")]  # no fit, as before
    assert len(problems) == 3
    test = read_wildhoi(wildhoi_tree.root, split="test")
    assert list(test) == [] and len(test.problems) == 1  # no "orphan annotation" report


def test_annotated_object_poses_are_evidence_only_on_request(wildhoi_tree, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="object_evidence"):
        read_wildhoi(wildhoi_tree.root, object_evidence="obj_RT")
    shutil.rmtree(wildhoi_tree.root / "baseball/object_evidence")
    reader = read_wildhoi(wildhoi_tree.root, body_model=wildhoi_tree.body, templates=TEMPLATES,
                          object_evidence="annotation")
    results = by_id(reader)
    assert len(results) == 4 and all(r.object_evidence == "annotation" for r in results.values())
    result = results["0001_000_000001"]
    truth = wildhoi_tree.frames["0001_000_000001"]
    R, t = truth.cam_R @ truth.obj_R, truth.cam_R @ truth.obj_t + truth.cam_T
    est = result.sample.estimate
    np.testing.assert_allclose(est.corr_points, TEMPLATES["baseball_bat"].vertices[np.unique(
        np.linspace(0, len(TEMPLATES["baseball_bat"].vertices) - 1, 256).round().astype(int))])
    uvw = (est.corr_points @ R.T + t) @ truth.K.T
    np.testing.assert_allclose(est.corr_pixels, uvw[:, :2] / uvw[:, 2:], atol=1e-3)
    assert (est.object_keypoint_conf == 1).all() and result.est_object_pose_camera is result.annotated_object_pose_camera
    out = tmp_path / "labelled"
    convert(reader, out, "wildhoi-labelled", body_model="smplx")
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["object_evidence"] == "annotation"
    assert manifest["categories"]["baseball_bat"]["object_evidence"] == "annotation"


def test_the_test_annotation_camera_is_ground_truth_only(wildhoi_tree) -> None:
    """The base camera is the release's (from the body estimate); the annotation's goes to gt."""
    path = wildhoi_tree.root / "baseball/test/0002_000_000010.pkl"
    turn = Rotation.from_rotvec([0.0, 0.2, 0.0]).as_matrix()

    def move(data: dict) -> dict:
        return {**data, "hoi_rotmat": turn @ data["hoi_rotmat"], "hoi_trans": data["hoi_trans"] + 0.3}

    rewrite(path, move)
    (result,) = read_wildhoi(wildhoi_tree.root, split="test", body_model=wildhoi_tree.body, templates=TEMPLATES)
    s, truth = result.sample, wildhoi_tree.frames["0002_000_000010"]
    np.testing.assert_allclose(s.cam_rotation, truth.cam_R.T, atol=1e-6)
    np.testing.assert_allclose(s.cam_center, -truth.cam_R.T @ truth.cam_T, atol=1e-6)
    np.testing.assert_allclose(s.gt.cam_rotation, (turn @ truth.cam_R).T, atol=1e-9)
    np.testing.assert_allclose(s.gt.cam_center, -(turn @ truth.cam_R).T @ (truth.cam_T + 0.3), atol=1e-9)


def _convert(tree, out: Path, **options) -> dict[str, np.ndarray]:
    reader = read_wildhoi(tree.root, body_model=tree.body, templates=TEMPLATES, **options)
    convert(reader, out, "wildhoi", body_model="smplx", copy_images=False)
    return load_columns(out / "annotations/baseball_bat.npz")


def test_no_evidence_column_depends_on_the_labels(wildhoi_tree, tmp_path: Path) -> None:
    """Change the test annotation (body, object, camera), the annotated ``obj_RT`` and the
    annotated ``object_kps_seq``: every column but ``gt_*`` stays identical."""
    before = _convert(wildhoi_tree, tmp_path / "before")
    rng = np.random.default_rng(5)
    base = wildhoi_tree.root / "baseball"
    rewrite(base / "test/0002_000_000010.pkl", lambda d: {
        **d, "smplx_betas": d["smplx_betas"] + 0.5, "smplx_body_pose": d["smplx_body_pose"] + 0.1,
        "obj_rel_trans": d["obj_rel_trans"] + 0.2, "obj_rel_rotmat": Rotation.random(random_state=1).as_matrix(),
        "hoi_rotmat": Rotation.from_rotvec([0.1, 0.0, 0.0]).as_matrix() @ d["hoi_rotmat"], "hoi_trans": d["hoi_trans"] + 0.3})
    for path in base.glob("object_pose/*/*_obj_RT.pkl"):
        rewrite(path, lambda poses: [{"rotmat": Rotation.random(random_state=2).as_matrix(),
                                      "trans": p["trans"] + 0.4} for p in poses])
    for path in base.glob("hoi_kps/*/*_hoi_kps.pkl"):
        rewrite(path, lambda d: {**d, "object_kps_seq": d["object_kps_seq"] + rng.normal(0, 20, d["object_kps_seq"].shape)})
    after = _convert(wildhoi_tree, tmp_path / "after")
    assert sorted(before) == sorted(after) and "gt_cam_rotation" in before
    for name in before:
        if name.startswith("gt_"):
            assert not np.array_equal(before[name], after[name]) or name == "gt_object_scale", name
        elif name != "has_gt":
            np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    labelled = _convert(wildhoi_tree, tmp_path / "labelled", object_evidence="annotation")
    assert np.abs(labelled["keypoints_2d"][:, 22:] - after["keypoints_2d"][:, 22:]).max() > 1.0
