"""BEHAVE reader: camera transforms, the 22-joint layout, file-name quirks, broken trees.

The evidence files themselves (estimates, object evidence, independence from the fits) are
tested in ``test_behave_evidence.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.data.readers import APPROX_REST_PELVIS, SMPL_FROM_BODY25, LayoutError, behave_templates, read_behave
from hoirecon.geometry import pixels_to_rays, points_to_rays

MAPPED = sorted(SMPL_FROM_BODY25)
UNMAPPED = sorted(set(range(22)) - set(MAPPED))


def by_id(reader) -> dict:
    return {r.sample.image_id: r for r in reader}


def camera_pose(tree, k: int, R_world: np.ndarray, t_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    R_k, t_k = tree.cameras[k]
    return R_k.T @ R_world, R_k.T @ (t_world - t_k)


def true_camera_frame(s, points: np.ndarray) -> np.ndarray:
    """Human-frame points (P, 3) in the camera, through the TRUE camera of the sample's ground truth."""
    return (points - s.gt.cam_center) @ s.gt.cam_rotation


def test_object_pose_in_every_camera_matches_the_known_one(behave_tree) -> None:
    results = by_id(read_behave(behave_tree.root, body_model=behave_tree.body))
    assert len(results) == 12
    for key, truth in behave_tree.frames.items():
        seq, frame = key.split("/")
        for k in range(4):
            result = results[f"{seq}_{frame}_k{k}"]
            R, t = camera_pose(behave_tree, k, truth.obj_R, truth.obj_t)
            np.testing.assert_allclose(result.object_pose_camera.rotation, R, atol=1e-9)
            np.testing.assert_allclose(result.object_pose_camera.translation, t, atol=1e-9)
            pose = result.sample.object_pose_camera()
            np.testing.assert_allclose(pose.rotation, R, atol=1e-9)
            np.testing.assert_allclose(pose.translation, t, atol=1e-9)


def test_layout_of_an_exact_estimate_is_the_projection_of_the_known_joints(behave_tree) -> None:
    """With estimates that equal the truth, the estimate's camera is the true one and all 22
    rows project the true joints; confidences: OpenPose's where a BODY_25 joint corresponds,
    ``estimate_joint_conf`` elsewhere."""
    results = by_id(read_behave(behave_tree.root, body_model=behave_tree.body, estimate_joint_conf=0.4))
    assert len(results) == 12
    for key, truth in behave_tree.frames.items():
        seq, frame = key.split("/")
        for k in range(4):
            s = results[f"{seq}_{frame}_k{k}"].sample
            R_k, t_k = behave_tree.cameras[k]
            camera = (truth.joints_world - t_k) @ R_k
            np.testing.assert_allclose(true_camera_frame(s, s.gt.joints_3d), camera, atol=1e-9)
            np.testing.assert_allclose(s.human_to_camera(s.gt.joints_3d), camera, atol=1e-6)
            np.testing.assert_allclose(s.project(s.gt.joints_3d), s.keypoints_2d[:22], atol=1e-4)
            assert (s.keypoint_conf[UNMAPPED] == pytest.approx(0.4)) and s.keypoint_visible[UNMAPPED].all()
            if frame == "t0004.000" and k == 2:
                assert (s.keypoint_conf[MAPPED] == 0).all() and (s.coco_keypoints == 0).all()
                continue
            assert (s.keypoint_conf[MAPPED] == pytest.approx(0.8)) and s.keypoint_visible[MAPPED].all()
            np.testing.assert_allclose(s.coco_keypoints[5:7, :2], s.keypoints_2d[[16, 17]], atol=1e-4)


def test_rays_from_pixels_equal_rays_from_points(behave_tree) -> None:
    templates = behave_templates(behave_tree.root)
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub03_chairwood_hand"],
                         body_model=behave_tree.body, templates=templates)
    with_object_rows = 0
    for result in reader:
        s = result.sample
        assert s.num_object_keypoints == 2 and s.gt.object_keypoints_3d.shape == (2, 3)
        rows = np.flatnonzero(s.keypoint_conf > 0)
        with_object_rows += rows[-1] >= 22
        points = np.concatenate([s.gt.joints_3d, s.gt.object_keypoints_3d])[rows]
        rays_px = pixels_to_rays(torch.as_tensor(s.keypoints_2d[rows]), torch.as_tensor(s.focal),
                                 torch.as_tensor(s.principal_point), torch.as_tensor(s.cam_rotation))
        rays_pt = points_to_rays(torch.as_tensor(points), torch.as_tensor(s.cam_center))
        np.testing.assert_allclose(rays_px.numpy(), rays_pt.numpy(), atol=1e-7)
    assert with_object_rows == 3  # a keypoint file, a pose file and an EPro-PnP pose_opt


def test_file_name_quirks(behave_tree) -> None:
    results = by_id(read_behave(behave_tree.root, split="train", body_model=behave_tree.body))
    names = [results[f"Date03_Sub03_chairwood_hand_t0003.000_k{k}"].sample.object_mask_path.name for k in range(4)]
    assert names == ["k0.obj_rend_mask.png", "k1.obj_rend_mask.jpg", "k2.obj_mask.png", "k3.obj_mask.jpg"]
    test = by_id(read_behave(behave_tree.root, split="test", body_model=behave_tree.body))
    assert {r.sample.category for r in test.values()} == {"basketball"} and len(test) == 4
    assert all(r.sample.split == "test" for r in test.values())
    sample = next(iter(test.values())).sample
    assert sample.image_size == (2048, 1536) and sample.human_mask_path.name.endswith("person_mask.jpg")
    seg = behave_tree.root / "sequences/Date03_Sub04_basketball/t0001.000/k1.obj_seg_mask.png"
    seg.write_bytes((seg.parent / "k1.obj_rend_mask.jpg").read_bytes())
    own = read_behave(behave_tree.root, split="test", body_model=behave_tree.body, object_mask_names=["obj_seg_mask"])
    assert [r.sample.object_mask_path for r in own] == [seg]
    assert sorted(p.path.rsplit("/", 1)[1] for p in own.problems) == ["k0.obj_seg_mask.png", "k2.obj_seg_mask.png",
                                                                      "k3.obj_seg_mask.png"]


def test_without_body_model_only_estimates_with_a_translation_are_placed(behave_tree) -> None:
    """FrankMocap's ``mocap.json`` has no translation: placing it from the keypoints needs the
    estimate's joints, hence a body model. Estimates with ``transl`` are placed with the
    approximate rest pelvis, their rows are OpenPose's, and there is no ground truth."""
    exact = by_id(read_behave(behave_tree.root, body_model=behave_tree.body))
    approx = read_behave(behave_tree.root)
    results = by_id(approx)
    assert sorted(results) == sorted(i for i in exact if i.endswith("k0") or "basketball" in i
                                     or i.endswith("t0004.000_k2"))
    for image_id, result in results.items():
        s, reference = result.sample, exact[image_id]
        assert s.gt is None and not result.pelvis_exact and reference.pelvis_exact
        np.testing.assert_allclose(s.cam_rotation, reference.sample.cam_rotation, atol=1e-12)
        assert 0 < np.linalg.norm(s.cam_center - reference.sample.cam_center) < 0.15
        np.testing.assert_allclose(result.object_pose_camera.translation,
                                   reference.object_pose_camera.translation, atol=1e-12)
        assert (s.keypoint_conf[UNMAPPED] == 0).all()
    unplaced = [p for p in approx.problems if "mocap.json" in p.path]
    assert len(unplaced) == 12 - len(results) and all("body model" in p.message for p in unplaced)
    truth = behave_tree.frames["Date03_Sub03_chairwood_hand/t0003.000"]
    rest = behave_tree.body.joints(truth.betas, truth.pose[3:66])[0]
    given = by_id(read_behave(behave_tree.root, rest_pelvis=rest, views=[0]))
    result = given["Date03_Sub03_chairwood_hand_t0003.000_k0"]
    np.testing.assert_allclose(result.body.pelvis_cam, behave_tree.view_pose(truth, 0)[1], atol=1e-12)
    assert result.pelvis_exact and APPROX_REST_PELVIS.shape == (3,)


def test_broken_tree_is_reported_and_the_rest_read(behave_tree) -> None:
    seq = behave_tree.root / "sequences" / "Date03_Sub03_chairwood_hand"
    fit = seq / "t0004.000/person/fit02/person_fit.pkl"
    fit.write_bytes(fit.read_bytes()[:40])
    config = behave_tree.root / "calibs/Date03/config/3/config.json"
    config.unlink()
    for mask in (seq / "t0003.000").glob("k0.*mask*"):
        mask.unlink()
    reader = read_behave(behave_tree.root, body_model=behave_tree.body)
    results = by_id(reader)
    assert sorted(results) == [f"Date03_Sub03_chairwood_hand_t0003.000_k{k}" for k in (1, 2)] + [
        f"Date03_Sub03_chairwood_hand_t0004.000_k{k}" for k in (0, 1, 2)] + [
        f"Date03_Sub04_basketball_t0001.000_k{k}" for k in (0, 1, 2)]
    broken = [r for i, r in results.items() if "t0004" in i]
    assert all(r.sample.gt is None and r.body is None and r.sample.estimate is not None for r in broken)
    paths = [p.path for p in reader.problems]
    assert paths.count(str(config)) == 2 and str(fit) in paths
    assert "without ground truth" in next(p.message for p in reader.problems if p.path == str(fit))
    assert any(p.startswith(str(seq / "t0003.000" / "k0.")) and "mask" in p for p in paths)
    loose = [r.sample for r in read_behave(behave_tree.root, require_masks=False, body_model=behave_tree.body)
             if r.sample.image_id.endswith("t0003.000_k0")]
    assert loose[0].human_mask_path is None and loose[0].object_mask_path is None


def test_malformed_openpose_file_gives_zero_confidence(behave_tree) -> None:
    path = behave_tree.root / "sequences/Date03_Sub04_basketball/t0001.000/k1.color.json"
    path.write_text("{not json")
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball"], views=[1])
    (result,) = list(reader)
    assert (result.sample.keypoint_conf == 0).all() and (result.sample.coco_keypoints == 0).all()
    assert [p.path for p in reader.problems] == [str(path)]


def test_openpose_json_of_stackflow_layout_is_the_fallback(behave_tree) -> None:
    """Without ``k<k>.color.json``, OpenPose's own ``people`` JSON in StackFLOW's ``openpose/`` tree."""
    frame = behave_tree.root / "sequences/Date03_Sub04_basketball/t0001.000"
    body25 = np.asarray(json.loads((frame / "k1.color.json").read_text())["body_joints"]).reshape(25, 3)
    (frame / "k1.color.json").unlink()
    other = behave_tree.root / "openpose/Date03_Sub04_basketball/t0001.000/k1.color_keypoints.json"
    other.parent.mkdir(parents=True)
    other.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": body25.ravel().tolist()}]}))
    (result,) = list(read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball"], views=[1]))
    np.testing.assert_allclose(result.sample.coco_keypoints[:, 2], 0.8)
    assert str(other) in result.evidence_files


def test_missing_or_foreign_root_raises_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="absent"):
        read_behave(tmp_path / "absent")
    (tmp_path / "foreign" / "photos").mkdir(parents=True)
    with pytest.raises(LayoutError, match="foreign"):
        read_behave(tmp_path / "foreign")


def test_real_body_model_pelvis_convention(behave_tree) -> None:
    """With the package's SMPL-H BodyModel, camera-frame joints equal the model posed with the
    fit's own global orientation and ``trans`` (BEHAVE's pelvis = trans + rest pelvis)."""
    import hoirecon.body as body
    rng = np.random.default_rng(3)
    parents = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19]
    parents += [20 if i % 3 == 0 else 22 + i - 1 for i in range(15)] + [21 if i % 3 == 0 else 37 + i - 1 for i in range(15)]
    n_verts, n_joints = 120, 52
    regressor = np.zeros((n_joints, n_verts))
    for j in range(n_joints):
        regressor[j, rng.choice(n_verts, 4, replace=False)] = 0.25
    weights = rng.dirichlet(np.ones(n_joints) * 0.1, n_verts)
    table = np.stack([np.where(np.array(parents) < 0, 4294967295, parents), np.arange(n_joints)])
    model = body.BodyModel({"v_template": rng.normal(0, 0.3, (n_verts, 3)), "weights": weights,
                            "shapedirs": rng.normal(0, 0.01, (n_verts, 3, 16)), "J_regressor": regressor,
                            "kintree_table": table, "f": rng.integers(0, n_verts, (10, 3))},
                           dtype=torch.float64)
    results = list(read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball"], body_model=model))
    assert len(results) == 4
    truth = behave_tree.frames["Date03_Sub04_basketball/t0001.000"]
    posed = model(betas=torch.as_tensor(truth.betas[None]), body_pose=torch.as_tensor(truth.pose[None, 3:66]),
                  global_orient=torch.as_tensor(truth.pose[None, :3]), transl=torch.as_tensor(truth.trans[None]))
    world = posed.joints[0, :22].numpy()
    for result in results:
        s, k = result.sample, int(result.view[1])
        R_k, t_k = behave_tree.cameras[k]
        np.testing.assert_allclose(true_camera_frame(s, s.gt.joints_3d), (world - t_k) @ R_k, atol=1e-9)
        camera_posed = model(betas=torch.as_tensor(s.gt.betas[None]), body_pose=torch.as_tensor(s.gt.body_pose[None]),
                             global_orient=torch.as_tensor(s.gt.global_orient[None]),
                             transl=torch.as_tensor(s.gt.transl[None]))
        np.testing.assert_allclose(camera_posed.joints[0, :22].numpy(), (world - t_k) @ R_k, atol=1e-9)


def test_broken_info_and_unknown_sequence_are_reported(behave_tree) -> None:
    info = behave_tree.root / "sequences/Date03_Sub04_basketball/info.json"
    info.write_text('{"gender": "female"}')
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball", "Date09_Sub09_nothing"], views=[1])
    assert list(reader) == []
    messages = {p.path: p.message for p in reader.problems}
    assert "'cat'" in messages[str(info)]
    assert "not found" in messages[str(behave_tree.root / "sequences/Date09_Sub09_nothing")]


def test_object_fit_found_under_any_folder(behave_tree) -> None:
    frame = behave_tree.root / "sequences/Date03_Sub03_chairwood_hand/t0003.000"
    (frame / "chair").rename(frame / "furniture")
    (frame / "furniture/fit01/chair_fit.pkl").rename(frame / "furniture/fit01/furniture_fit.pkl")
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub03_chairwood_hand"], views=[1],
                         body_model=behave_tree.body)
    assert [r.sample.gt is not None for r in reader] == [True, True] and not reader.problems


def test_malformed_content_names_the_file(behave_tree) -> None:
    info = behave_tree.root / "sequences/Date03_Sub04_basketball/info.json"
    info.write_text('{"cat": "basketball", "kinects": ["one"]}')
    reader = read_behave(behave_tree.root, split="test")
    assert list(reader) == []
    (problem,) = reader.problems
    assert problem.path == str(info) and "malformed" in problem.message


def test_truth_false_never_opens_the_fits(behave_tree, monkeypatch) -> None:
    """The RHOBIN tracks read frames this way: the fit pickles are not even opened."""
    import hoirecon.data.readers.behave_files as files

    opened: list[Path] = []
    real = files.load_pickle
    monkeypatch.setattr(files, "load_pickle", lambda path: opened.append(path) or real(path))
    with_truth = by_id(read_behave(behave_tree.root, body_model=behave_tree.body))
    assert [p for p in opened if "fit0" in str(p)]  # the spy sees the fits when they are read
    opened.clear()
    without = by_id(read_behave(behave_tree.root, body_model=behave_tree.body, truth=False))
    assert not [p for p in opened if "fit0" in str(p)]
    assert set(without) == set(with_truth) and all(r.sample.gt is None for r in without.values())
    for image_id, result in without.items():
        np.testing.assert_allclose(result.sample.keypoints_2d, with_truth[image_id].sample.keypoints_2d)
    with pytest.raises(ValueError, match="truth=False"):
        read_behave(behave_tree.root, truth=False, object_evidence="annotation")


def test_split_file_elsewhere(behave_tree, tmp_path: Path) -> None:
    seq = sorted(p.name for p in (behave_tree.root / "sequences").iterdir() if p.is_dir())[0]
    split = tmp_path / "mine.json"
    split.write_text(json.dumps({"train": [], "test": [seq]}))
    results = list(read_behave(behave_tree.root, "test", body_model=behave_tree.body, split_file=split))
    assert results and {r.sequence for r in results} == {seq} and all(r.sample.split == "test" for r in results)


def test_object_visible_ratio(tmp_path: Path) -> None:
    from PIL import Image

    from hoirecon.data.readers.behave_files import object_visible_ratio

    full = np.zeros((8, 10), np.uint8)
    full[:, :5] = 255
    visible = full.copy()
    visible[:6] = 0
    assert object_visible_ratio(tmp_path, 1) is None
    Image.fromarray(full).save(tmp_path / "k1.obj_rend_full.png")
    Image.fromarray(visible).save(tmp_path / "k1.obj_rend_mask.jpg")
    assert object_visible_ratio(tmp_path, 1) == pytest.approx(0.25)
    Image.fromarray(np.zeros((8, 10), np.uint8)).save(tmp_path / "k1.obj_rend_full.png")
    assert object_visible_ratio(tmp_path, 1) == 0.0
    (tmp_path / "k1.obj_rend_full.png").write_bytes(b"broken")
    with pytest.raises(ValueError, match="unreadable"):
        object_visible_ratio(tmp_path, 1)
