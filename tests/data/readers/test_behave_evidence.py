"""BEHAVE evidence: body estimates placed in the camera, object evidence files, views without
evidence, the annotation option, and columns that never depend on the fits."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.data import check_dataset, load_dataset
from hoirecon.data.readers import behave_templates, convert, read_behave
from hoirecon.io.arrays import load_columns
from hoirecon.objects import load_behave_template

CHAIR = "Date03_Sub03_chairwood_hand"


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = points_cam @ K.T
    return uvw[:, :2] / uvw[:, 2:3]


def by_id(reader) -> dict:
    return {r.sample.image_id: r for r in reader}


def frame_dir(tree, frame: str, seq: str = CHAIR) -> Path:
    return tree.root / "sequences" / seq / frame


def angle_between(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(Rotation.from_matrix(a.T @ b).magnitude()))


def test_frankmocap_mocap_json_is_placed_from_the_openpose_keypoints(behave_tree) -> None:
    result = by_id(read_behave(behave_tree.root, sequences=[CHAIR], views=[1], body_model=behave_tree.body))[
        f"{CHAIR}_t0003.000_k1"]
    truth = behave_tree.frames[f"{CHAIR}/t0003.000"]
    body_R, pelvis, _, _ = behave_tree.view_pose(truth, 1)
    rest = behave_tree.body.joints(truth.betas, truth.pose[3:66])[0]
    assert result.source.name == "k1.mocap.json" and str(result.source) in result.evidence_files
    np.testing.assert_allclose(result.est_body.pelvis_cam, pelvis, atol=1e-6)
    np.testing.assert_allclose(result.sample.estimate.transl, pelvis - rest, atol=1e-6)
    np.testing.assert_allclose(Rotation.from_rotvec(result.sample.estimate.global_orient).as_matrix(), body_R, atol=1e-9)
    np.testing.assert_allclose(result.sample.estimate.body_pose, truth.pose[3:66])


def test_the_camera_comes_from_the_estimate_and_the_true_one_goes_to_gt(behave_tree) -> None:
    """A FrankMocap orientation 10 degrees off turns the evidence camera by 10 degrees; the
    ground truth keeps the true camera."""
    path = frame_dir(behave_tree, "t0003.000") / "k1.mocap.json"
    data = json.loads(path.read_text())
    turned = Rotation.from_rotvec([0.0, np.radians(10.0), 0.0]) * Rotation.from_rotvec(data["pose"][:3])
    data["pose"][:3] = turned.as_rotvec().tolist()
    path.write_text(json.dumps(data))
    s = by_id(read_behave(behave_tree.root, sequences=[CHAIR], views=[1], body_model=behave_tree.body))[
        f"{CHAIR}_t0003.000_k1"].sample
    assert angle_between(s.cam_rotation, s.gt.cam_rotation) == pytest.approx(10.0, abs=1e-6)
    R_k, t_k = behave_tree.cameras[1]
    true = (behave_tree.frames[f"{CHAIR}/t0003.000"].joints_world - t_k) @ R_k
    np.testing.assert_allclose((s.gt.joints_3d - s.gt.cam_center) @ s.gt.cam_rotation, true, atol=1e-9)
    assert np.abs(project(true, behave_tree.K) - s.keypoints_2d[:22]).max() > 5.0


def test_an_estimate_with_a_translation_is_preferred_and_needs_no_keypoints(behave_tree) -> None:
    """The all-zero OpenPose view: our ``body_estimate.npz`` places the body on its own."""
    result = by_id(read_behave(behave_tree.root, sequences=[CHAIR], views=[2], body_model=behave_tree.body))[
        f"{CHAIR}_t0004.000_k2"]
    truth = behave_tree.frames[f"{CHAIR}/t0004.000"]
    assert result.source.name == "k2.body_estimate.npz" and (result.sample.coco_keypoints == 0).all()
    np.testing.assert_allclose(result.est_body.pelvis_cam, behave_tree.view_pose(truth, 2)[1], atol=1e-9)


def test_a_view_without_a_body_estimate_is_reported_and_skipped(behave_tree) -> None:
    frame = frame_dir(behave_tree, "t0003.000")
    (frame / "k1.mocap.json").unlink()
    reader = read_behave(behave_tree.root, sequences=[CHAIR], views=[1], body_model=behave_tree.body)
    assert [r.sample.image_id for r in reader] == [f"{CHAIR}_t0004.000_k1"]
    (problem,) = reader.problems
    assert problem.path == str(frame) and "no body estimate for k1" in problem.message


def test_stackflow_pickles_give_their_strongest_correspondences(behave_tree) -> None:
    """``k0.obj_coor.pkl``, the demo's ``k1.object_coor.chairwood.pkl`` and ``epro_pnp/.../k2.obj_coor.pkl``."""
    results = by_id(read_behave(behave_tree.root, sequences=[CHAIR], body_model=behave_tree.body,
                                max_correspondences=50))
    frame = frame_dir(behave_tree, "t0003.000")
    files = {0: frame / "k0.obj_coor.pkl", 1: frame / "k1.object_coor.chairwood.pkl",
             2: behave_tree.root / f"epro_pnp/{CHAIR}/t0003.000/k2.obj_coor.pkl"}
    truth = behave_tree.frames[f"{CHAIR}/t0003.000"]
    for k, path in files.items():
        result = results[f"{CHAIR}_t0003.000_k{k}"]
        data = pickle.loads(path.read_bytes())
        weights = data["w2d"].astype(np.float64).mean(axis=1)
        top = np.argsort(-weights, kind="stable")[:50]
        est = result.sample.estimate
        np.testing.assert_array_equal(est.corr_points, data["x3d"][top])
        np.testing.assert_array_equal(est.corr_pixels, data["x2d"][top])
        np.testing.assert_allclose(est.corr_weight, weights[top])
        assert str(path) in result.evidence_files and result.est_object_pose_camera is None
        _, _, R, t = behave_tree.view_pose(truth, k)
        np.testing.assert_allclose(project(est.corr_points @ R.T + t, behave_tree.K), est.corr_pixels, atol=1e-2)
        assert (est.object_keypoint_conf == 0).all() and (result.sample.keypoint_conf[22:] == 0).all()
    default = by_id(read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball"], body_model=behave_tree.body))
    assert all(len(r.sample.estimate.corr_weight) == 256 for r in default.values())
    assert all((r.sample.estimate.corr_weight > 0).all() for r in default.values())


def test_keypoint_and_pose_files_fill_the_object_rows(behave_tree) -> None:
    results = by_id(read_behave(behave_tree.root, sequences=[CHAIR], body_model=behave_tree.body))
    template = load_behave_template(behave_tree.root, "chairwood")
    keypoints = results[f"{CHAIR}_t0003.000_k3"].sample
    rows = np.asarray(json.loads((frame_dir(behave_tree, "t0003.000") / "k3.obj_keypoints.json").read_text())["keypoints"])
    np.testing.assert_allclose(keypoints.keypoints_2d[22:], rows[:, :2])
    np.testing.assert_allclose(keypoints.keypoint_conf[22:], 0.9)
    np.testing.assert_allclose(keypoints.estimate.object_keypoints_2d, rows[:, :2])
    truth = behave_tree.frames[f"{CHAIR}/t0004.000"]
    for k, tol in ((0, 1e-9), (1, 1e-5)):  # a pose file; an EPro-PnP pose_opt (float32)
        result = results[f"{CHAIR}_t0004.000_k{k}"]
        _, _, R, t = behave_tree.view_pose(truth, k)
        np.testing.assert_allclose(result.est_object_pose_camera.rotation, R, atol=tol)
        np.testing.assert_allclose(result.est_object_pose_camera.translation, t, atol=tol)
        np.testing.assert_allclose(result.sample.keypoints_2d[22:], project(template.keypoints @ R.T + t, behave_tree.K),
                                   atol=1e-3)
        assert (result.sample.keypoint_conf[22:] == 1).all()
    posed = results[f"{CHAIR}_t0004.000_k0"].sample.estimate
    np.testing.assert_allclose(posed.corr_points, template.vertices)
    np.testing.assert_allclose(posed.corr_weight, 1.0)


def test_views_without_object_evidence_are_reported_and_skipped(behave_tree) -> None:
    """No object evidence: skipped, never filled from the fit, even with StackFLOW's coordinate
    maps (rendered from the fits) in ``object_coor_maps/``; such a map beside the frame is refused."""
    frame = frame_dir(behave_tree, "t0004.000")
    (frame / "k3.obj_coor.pkl").unlink()
    rendered = {"u": 10, "l": 20, "h": 4, "w": 4, "coor": np.zeros((4, 4, 3), np.float32)}
    maps = behave_tree.root / f"object_coor_maps/{CHAIR}/t0004.000/k3.obj_coor.pkl"
    maps.parent.mkdir(parents=True)
    maps.write_bytes(pickle.dumps(rendered))
    reader = read_behave(behave_tree.root, body_model=behave_tree.body)
    ids = [r.sample.image_id for r in reader]
    assert len(ids) == 11 and f"{CHAIR}_t0004.000_k3" not in ids
    (problem,) = reader.problems
    assert problem.path == str(frame) and "k3: no object evidence" in problem.message
    assert "never filled" in problem.message
    (frame / "k3.obj_coor.pkl").write_bytes(pickle.dumps(rendered))
    reader = read_behave(behave_tree.root, sequences=[CHAIR], views=[3], body_model=behave_tree.body)
    assert [r.sample.image_id for r in reader] == [f"{CHAIR}_t0003.000_k3"]
    (problem,) = reader.problems
    assert problem.path == str(frame / "k3.obj_coor.pkl") and "'x3d'" in problem.message


def _dataset(root: Path, tree_root: Path, **options) -> Path:
    reader = read_behave(tree_root, **options)
    convert(reader, root, "behave", templates=behave_templates(tree_root), copy_images=False)
    return root


def _change_fits(tree, rng: np.random.Generator) -> None:
    """New values in every person_fit.pkl and object fit of the tree."""
    for key in tree.frames:
        frame = tree.root / "sequences" / key
        for path in [frame / "person/fit02/person_fit.pkl", *frame.glob("*/fit01/*_fit.pkl")]:
            data = pickle.loads(path.read_bytes())
            data = {name: np.asarray(value) + rng.normal(0.0, 0.3, np.shape(value)) for name, value in data.items()}
            path.write_bytes(pickle.dumps(data, protocol=2))


def test_no_evidence_column_depends_on_the_fits(behave_tree, tmp_path: Path) -> None:
    tree = behave_tree
    before = _dataset(tmp_path / "before", tree.root, body_model=tree.body)
    _change_fits(tree, np.random.default_rng(7))
    after = _dataset(tmp_path / "after", tree.root, body_model=tree.body)
    for category in ("chairwood", "basketball"):
        a = load_columns(before / "annotations" / f"{category}.npz")
        b = load_columns(after / "annotations" / f"{category}.npz")
        assert sorted(a) == sorted(b) and "gt_cam_rotation" in a
        for name in a:
            if name.startswith("gt_"):
                assert not np.array_equal(a[name], b[name]) or a[name].size == 0 or name == "gt_object_scale", name
            elif name != "has_gt":
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_annotation_evidence_is_explicit_and_recorded(behave_tree, tmp_path: Path) -> None:
    """``object_evidence="annotation"``: the object rows are the projected fit (so they follow
    it), views without evidence files are kept, and the manifest says so."""
    tree = behave_tree
    (tree.root / f"sequences/{CHAIR}/t0004.000/k3.obj_coor.pkl").unlink()
    with pytest.raises(ValueError, match="object_evidence"):
        read_behave(tree.root, object_evidence="labels")
    results = list(read_behave(tree.root, body_model=tree.body, object_evidence="annotation"))
    assert len(results) == 12 and all(r.object_evidence == "annotation" for r in results)
    for r in (r for r in results if r.sample.category == "chairwood"):
        s = r.sample
        np.testing.assert_allclose(s.keypoints_2d[22:], s.project(s.gt.object_keypoints_3d), atol=1e-4)
        assert (s.keypoint_conf[22:] == 1).all() and r.evidence_files[-1] == "annotation"
        assert r.est_object_pose_camera is r.object_pose_camera
    labelled = _dataset(tmp_path / "labelled", tree.root, body_model=tree.body, object_evidence="annotation")
    manifest = json.loads((labelled / "dataset.json").read_text())
    assert manifest["object_evidence"] == "annotation"
    assert {c["object_evidence"] for c in manifest["categories"].values()} == {"annotation"}
    estimated = _dataset(tmp_path / "estimated", tree.root, body_model=tree.body)
    assert json.loads((estimated / "dataset.json").read_text())["object_evidence"] == "estimate"
    _change_fits(tree, np.random.default_rng(3))
    moved = _dataset(tmp_path / "moved", tree.root, body_model=tree.body, object_evidence="annotation")
    a, b = (load_columns(d / "annotations/chairwood.npz") for d in (labelled, moved))
    assert np.abs(a["keypoints_2d"][:, 22:] - b["keypoints_2d"][:, 22:]).max() > 1.0


def test_converted_dataset_keeps_the_true_camera_apart(behave_tree, tmp_path: Path) -> None:
    frame = frame_dir(behave_tree, "t0003.000")
    data = json.loads((frame / "k1.mocap.json").read_text())
    data["pose"][0] += 0.2
    (frame / "k1.mocap.json").write_text(json.dumps(data))
    out = _dataset(tmp_path / "out", behave_tree.root, body_model=behave_tree.body)
    assert check_dataset(out) == []
    s = load_dataset(out).sample("chairwood", f"{CHAIR}_t0003.000_k1")
    assert angle_between(s.cam_rotation, s.gt.cam_rotation) > 5.0
    pose = s.object_pose_camera()
    _, _, R_true, t_true = behave_tree.view_pose(behave_tree.frames[f"{CHAIR}/t0003.000"], 1)
    np.testing.assert_allclose(pose.rotation, R_true, atol=1e-5)
    np.testing.assert_allclose(pose.translation, t_true, atol=1e-5)
