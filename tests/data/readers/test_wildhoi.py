"""WildHOI reader: numbers against the known configuration, splits, estimates, broken trees.

Object evidence and what is an annotation are tested in ``test_wildhoi_evidence.py``."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.data.readers import LayoutError, read_wildhoi
from hoirecon.geometry import pixels_to_rays, points_to_rays
from hoirecon.objects import get_category_template

TEMPLATES = {"baseball_bat": get_category_template("baseball_bat")}


def results_by_id(reader) -> dict:
    return {r.sample.image_id: r for r in reader}


def truth_points(frame) -> np.ndarray:
    return np.concatenate([frame.joints, frame.object_points])


@pytest.mark.parametrize("object_evidence", ["estimate", "annotation"])
def test_keypoints_are_projections_of_the_known_configuration(wildhoi_tree, object_evidence: str) -> None:
    """Every row with a confidence projects the truth (the fake estimators are exact); the
    annotated object keypoints fill every object row, estimator files only some."""
    results = results_by_id(read_wildhoi(wildhoi_tree.root, images=True, object_evidence=object_evidence))
    assert sorted(results) == ["0001_000_000001", "0001_000_000002", "0002_000_000010", "0002_000_000011"]
    for image_id, result in results.items():
        sample, points = result.sample, truth_points(wildhoi_tree.frames[image_id])
        assert sample.category == "baseball_bat" and sample.keypoints_2d.shape == (24, 2)
        seen = sample.keypoint_conf > 0
        np.testing.assert_allclose(sample.project(points)[seen], sample.keypoints_2d[seen], atol=1e-3)
        assert seen[:22].all() and (seen[22:].all() or object_evidence == "estimate")
    assert sum((r.sample.keypoint_conf[22:] > 0).all() for r in results.values()) == (
        4 if object_evidence == "annotation" else 1)


def test_pixel_rays_equal_point_rays(wildhoi_tree) -> None:
    for result in read_wildhoi(wildhoi_tree.root, object_evidence="annotation"):
        s = result.sample
        points = truth_points(wildhoi_tree.frames[s.image_id])
        from_pixels = pixels_to_rays(torch.as_tensor(s.keypoints_2d), torch.as_tensor(s.focal),
                                     torch.as_tensor(s.principal_point), torch.as_tensor(s.cam_rotation))
        from_points = points_to_rays(torch.as_tensor(points), torch.as_tensor(s.cam_center))
        np.testing.assert_allclose(from_pixels.numpy(), from_points.numpy(), atol=1e-6)


def test_ground_truth_with_body_model_and_template(wildhoi_tree) -> None:
    reader = read_wildhoi(wildhoi_tree.root, split="test", body_model=wildhoi_tree.body, templates=TEMPLATES)
    (result,) = list(reader)
    truth, gt = wildhoi_tree.frames["0002_000_000010"], result.sample.gt
    assert result.sample.split == "test" and gt is not None
    np.testing.assert_allclose(gt.joints_3d, truth.joints, atol=1e-9)
    np.testing.assert_allclose(gt.object_keypoints_3d, truth.object_points, atol=1e-9)
    np.testing.assert_allclose(gt.object_rotation, truth.obj_R, atol=1e-9)
    assert gt.object_scale == pytest.approx(1.2)
    rest = wildhoi_tree.body.joints(truth.betas, truth.body_pose)[0]
    np.testing.assert_allclose(gt.transl, truth.cam_T - rest, atol=1e-9)
    np.testing.assert_allclose(Rotation.from_rotvec(gt.global_orient).as_matrix(), truth.cam_R, atol=1e-9)
    pose = result.sample.object_pose_camera()
    np.testing.assert_allclose(pose.rotation, truth.cam_R @ truth.obj_R, atol=1e-9)
    np.testing.assert_allclose(pose.translation, truth.cam_R @ truth.obj_t + truth.cam_T, atol=1e-9)
    assert not reader.problems


def test_estimates_from_smpler_x_and_object_pose(wildhoi_tree) -> None:
    results = results_by_id(read_wildhoi(wildhoi_tree.root, split="train", body_model=wildhoi_tree.body,
                                         templates=TEMPLATES))
    result = results["0001_000_000001"]
    truth, est = wildhoi_tree.frames["0001_000_000001"], result.sample.estimate
    rest = wildhoi_tree.body.joints(truth.betas, truth.body_pose)[0]
    np.testing.assert_allclose(est.transl, truth.cam_T - rest, atol=1e-5)
    np.testing.assert_allclose(est.betas, truth.betas)
    np.testing.assert_allclose(est.object_keypoints_2d, result.sample.keypoints_2d[22:], atol=1e-3)
    np.testing.assert_allclose(est.object_keypoint_conf, [1.0, 1.0])
    np.testing.assert_allclose(result.bbox, [1.0, 2.0, 30.0, 40.0])
    np.testing.assert_allclose(result.est_object_pose_camera.rotation, truth.cam_R @ truth.obj_R, atol=1e-9)
    assert result.evidence_files[-1].endswith("object_evidence/0001/000/000001.obj_pose.json")
    np.testing.assert_allclose(result.annotated_object_pose_camera.rotation, truth.cam_R @ truth.obj_R, atol=1e-6)
    assert result.sample.gt is None


def test_without_body_model_records_keep_what_the_files_give(wildhoi_tree) -> None:
    (result,) = list(read_wildhoi(wildhoi_tree.root, split="test"))
    truth = wildhoi_tree.frames["0002_000_000010"]
    assert result.sample.gt is None and result.sample.estimate is None
    np.testing.assert_allclose(result.body.pelvis_cam, truth.cam_T)
    np.testing.assert_allclose(result.object_pose.translation, truth.obj_t)
    np.testing.assert_allclose(result.est_body.pelvis_cam, truth.cam_T, atol=1e-6)


def test_splits_and_category_names(wildhoi_tree) -> None:
    train = [r.sample.image_id for r in read_wildhoi(wildhoi_tree.root, "baseball_bat", "train")]
    test = [r.sample.image_id for r in read_wildhoi(wildhoi_tree.root, "baseball", "test")]
    assert train == ["0001_000_000001", "0001_000_000002"]
    assert test == ["0002_000_000010"]
    with pytest.raises(LayoutError, match="tennis"):
        read_wildhoi(wildhoi_tree.root, "tennis_racket")
    with pytest.raises(ValueError, match="frisbee"):
        read_wildhoi(wildhoi_tree.root, "frisbee")


def test_frame_without_fit_is_reported(wildhoi_tree) -> None:
    reader = read_wildhoi(wildhoi_tree.root)
    ids = [r.sample.image_id for r in reader]
    assert "0001_000_000003" not in ids and len(ids) == 4
    (problem,) = reader.problems
    assert problem.path.endswith("0001/000_hoi_kps.pkl") and "000003" in problem.message


def test_broken_files_are_reported_and_the_rest_read(wildhoi_tree) -> None:
    kps = wildhoi_tree.root / "baseball/hoi_kps/0001/000_hoi_kps.pkl"
    kps.write_bytes(kps.read_bytes()[:100])
    est = wildhoi_tree.root / "baseball/smpler_x/0002/000_smplx.pkl"
    est.write_bytes(b"\x80\x02garbage")
    reader = read_wildhoi(wildhoi_tree.root, body_model=wildhoi_tree.body)
    ids = [r.sample.image_id for r in reader]
    assert ids == ["0002_000_000010", "0002_000_000011"]
    paths = [p.path for p in reader.problems]
    assert str(kps) in paths and str(est) in paths
    assert all(r.sample.estimate is None for r in reader)


def test_missing_image_and_orphan_annotation(wildhoi_tree) -> None:
    (wildhoi_tree.root / "baseball/images_temp/0002/000011.jpg").unlink()
    orphan = wildhoi_tree.root / "baseball/test/0009_000_000001.pkl"
    orphan.write_bytes((wildhoi_tree.root / "baseball/test/0002_000_000010.pkl").read_bytes())
    strict = read_wildhoi(wildhoi_tree.root, split="test")
    assert [r.sample.image_id for r in strict] == ["0002_000_000010"]
    assert [p.path for p in strict.problems] == [str(orphan)]
    loose = {r.sample.image_id: r.sample for r in read_wildhoi(wildhoi_tree.root, images=False)}
    assert loose["0002_000_000011"].image_path is None and loose["0002_000_000011"].image_size == (0, 0)
    assert loose["0002_000_000010"].image_size == (640, 480)
    images = read_wildhoi(wildhoi_tree.root)
    list(images)
    assert any("000011.jpg" in p.path for p in images.problems)


def test_missing_or_foreign_root_raises_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_wildhoi(tmp_path / "nowhere")
    (tmp_path / "empty" / "stuff").mkdir(parents=True)
    with pytest.raises(LayoutError, match="empty"):
        read_wildhoi(tmp_path / "empty")


def test_split_needs_the_split_file(wildhoi_tree) -> None:
    (wildhoi_tree.root / "train_test_split.json").unlink()
    with pytest.raises(LayoutError, match="train_test_split.json"):
        read_wildhoi(wildhoi_tree.root, split="train")
    assert len(list(read_wildhoi(wildhoi_tree.root))) == 4


def test_raw_smpler_x_output_with_transl(wildhoi_tree) -> None:
    path = wildhoi_tree.root / "baseball/smpler_x/0001/000_smplx.pkl"
    items = pickle.loads(path.read_bytes())
    body = wildhoi_tree.body
    for item in items:
        rot = item.pop("cam_R")
        rest = body.joints(item["betas"].reshape(10), item["body_pose"].reshape(63))[0]
        item["global_orient"] = Rotation.from_matrix(rot).as_rotvec()
        item["transl"] = item.pop("cam_T").reshape(3) - rest
    with open(path, "wb") as fh:
        pickle.dump(items, fh, protocol=2)
    results = results_by_id(read_wildhoi(wildhoi_tree.root, split="train"))
    truth = wildhoi_tree.frames["0001_000_000002"]
    est = results["0001_000_000002"].sample.estimate
    np.testing.assert_allclose(est.transl, items[1]["transl"])
    assert results["0001_000_000002"].est_body is None
    with_model = results_by_id(read_wildhoi(wildhoi_tree.root, split="train", body_model=body))
    np.testing.assert_allclose(with_model["0001_000_000002"].est_body.pelvis_cam, truth.cam_T, atol=1e-6)


def test_nan_camera_is_reported(wildhoi_tree) -> None:
    path = wildhoi_tree.root / "baseball/hoi_kps/0001/000_hoi_kps.pkl"
    data = pickle.loads(path.read_bytes())
    data["cam_R_seq"][0, 1, 1] = np.nan
    with open(path, "wb") as fh:
        pickle.dump(data, fh, protocol=2)
    reader = read_wildhoi(wildhoi_tree.root, split="train")
    assert [r.sample.image_id for r in reader] == ["0001_000_000002"]
    assert any("camera contains NaN" in p.message for p in reader.problems)


def test_malformed_content_names_the_file(wildhoi_tree) -> None:
    path = wildhoi_tree.root / "baseball/hoi_kps/0001/000_hoi_kps.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"frame_ids": 7, "smpl_kps_seq": "x"}, fh, protocol=2)
    reader = read_wildhoi(wildhoi_tree.root, split="train")
    assert list(reader) == []
    (problem,) = reader.problems
    assert problem.path == str(path) and "malformed" in problem.message
