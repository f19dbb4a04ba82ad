"""BEHAVE reader: camera transforms, OpenPose mapping, file-name quirks, broken trees."""

from __future__ import annotations

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
            rotation, translation = result.sample.object_pose_camera()
            np.testing.assert_allclose(rotation, R, atol=1e-9)
            np.testing.assert_allclose(translation, t, atol=1e-9)


def test_body_keypoints_are_projections_of_the_known_joints(behave_tree) -> None:
    results = by_id(read_behave(behave_tree.root, body_model=behave_tree.body))
    for key, truth in behave_tree.frames.items():
        seq, frame = key.split("/")
        for k in range(4):
            s = results[f"{seq}_{frame}_k{k}"].sample
            R_k, t_k = behave_tree.cameras[k]
            np.testing.assert_allclose(s.human_to_camera(s.gt.joints_3d), (truth.joints_world - t_k) @ R_k, atol=1e-9)
            if frame == "t0004.000" and k == 2:
                assert (s.keypoint_conf == 0).all() and (s.coco_keypoints == 0).all()
                continue
            np.testing.assert_allclose(s.project(s.gt.joints_3d)[MAPPED], s.keypoints_2d[MAPPED], atol=1e-6)
            assert (s.keypoint_conf[MAPPED] == pytest.approx(0.8)) and (s.keypoint_conf[UNMAPPED] == 0).all()
            assert s.keypoint_visible[MAPPED].all() and not s.keypoint_visible[UNMAPPED].any()
            np.testing.assert_allclose(s.coco_keypoints[5:7, :2], s.keypoints_2d[[16, 17]])


def test_rays_from_pixels_equal_rays_from_points(behave_tree) -> None:
    templates = behave_templates(behave_tree.root)
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub03_chairwood_hand"],
                         body_model=behave_tree.body, templates=templates)
    for result in reader:
        s = result.sample
        assert s.num_object_keypoints == 2 and s.gt.object_keypoints_3d.shape == (2, 3)
        if (s.keypoint_conf[:22] == 0).all():
            continue
        rows = MAPPED + [22, 23]
        points = np.concatenate([s.gt.joints_3d, s.gt.object_keypoints_3d])[rows]
        rays_px = pixels_to_rays(torch.as_tensor(s.keypoints_2d[rows]), torch.as_tensor(s.focal),
                                 torch.as_tensor(s.principal_point), torch.as_tensor(s.cam_rotation))
        rays_pt = points_to_rays(torch.as_tensor(points), torch.as_tensor(s.cam_center))
        np.testing.assert_allclose(rays_px.numpy(), rays_pt.numpy(), atol=1e-9)


def test_file_name_quirks(behave_tree) -> None:
    results = by_id(read_behave(behave_tree.root, split="train"))
    names = [results[f"Date03_Sub03_chairwood_hand_t0003.000_k{k}"].sample.object_mask_path.name for k in range(4)]
    assert names == ["k0.obj_rend_mask.png", "k1.obj_rend_mask.jpg", "k2.obj_mask.png", "k3.obj_mask.jpg"]
    test = by_id(read_behave(behave_tree.root, split="test"))
    assert {r.sample.category for r in test.values()} == {"basketball"} and len(test) == 4
    assert all(r.sample.split == "test" for r in test.values())
    sample = next(iter(test.values())).sample
    assert sample.image_size == (2048, 1536) and sample.human_mask_path.name.endswith("person_mask.jpg")


def test_without_body_model_the_pelvis_is_approximate(behave_tree) -> None:
    exact = by_id(read_behave(behave_tree.root, body_model=behave_tree.body))
    approx = read_behave(behave_tree.root)
    for result in approx:
        reference = exact[result.sample.image_id]
        assert result.sample.gt is None and not result.pelvis_exact and reference.pelvis_exact
        np.testing.assert_allclose(result.sample.cam_rotation, reference.sample.cam_rotation, atol=1e-12)
        np.testing.assert_allclose(result.object_pose_camera.translation,
                                   reference.object_pose_camera.translation, atol=1e-12)
        assert np.linalg.norm(result.sample.cam_center - reference.sample.cam_center) < 0.15
    assert not approx.problems
    truth = behave_tree.frames["Date03_Sub03_chairwood_hand/t0003.000"]
    rest = behave_tree.body.joints(truth.betas, truth.pose[3:66])[0]
    given = by_id(read_behave(behave_tree.root, rest_pelvis=rest, views=[1]))
    result = given["Date03_Sub03_chairwood_hand_t0003.000_k1"]
    np.testing.assert_allclose(result.body.pelvis_cam, truth.pelvis, atol=1e-12)
    assert result.pelvis_exact and APPROX_REST_PELVIS.shape == (3,)


def test_broken_tree_is_reported_and_the_rest_read(behave_tree) -> None:
    seq = behave_tree.root / "sequences" / "Date03_Sub03_chairwood_hand"
    fit = seq / "t0004.000/person/fit02/person_fit.pkl"
    fit.write_bytes(fit.read_bytes()[:40])
    config = behave_tree.root / "calibs/Date03/config/3/config.json"
    config.unlink()
    for mask in (seq / "t0003.000").glob("k0.*mask*"):
        mask.unlink()
    reader = read_behave(behave_tree.root)
    ids = sorted(r.sample.image_id for r in reader)
    assert ids == [f"Date03_Sub03_chairwood_hand_t0003.000_k{k}" for k in (1, 2)] + [
        f"Date03_Sub04_basketball_t0001.000_k{k}" for k in (0, 1, 2)]
    paths = [p.path for p in reader.problems]
    assert paths.count(str(config)) == 2 and str(fit) in paths
    assert any(p.startswith(str(seq / "t0003.000" / "k0.")) and "mask" in p for p in paths)
    loose = [r.sample for r in read_behave(behave_tree.root, require_masks=False)
             if r.sample.image_id.endswith("t0003.000_k0")]
    assert loose[0].human_mask_path is None and loose[0].object_mask_path is None


def test_malformed_openpose_file_gives_zero_confidence(behave_tree) -> None:
    path = behave_tree.root / "sequences/Date03_Sub04_basketball/t0001.000/k1.color.json"
    path.write_text("{not json")
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball"], views=[1])
    (result,) = list(reader)
    assert (result.sample.keypoint_conf == 0).all()
    assert [p.path for p in reader.problems] == [str(path)]


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
    results = read_behave(behave_tree.root, sequences=["Date03_Sub04_basketball"], body_model=model)
    truth = behave_tree.frames["Date03_Sub04_basketball/t0001.000"]
    posed = model(betas=torch.as_tensor(truth.betas[None]), body_pose=torch.as_tensor(truth.pose[None, 3:66]),
                  global_orient=torch.as_tensor(truth.pose[None, :3]), transl=torch.as_tensor(truth.trans[None]))
    world = posed.joints[0, :22].numpy()
    for result in results:
        s, k = result.sample, int(result.view[1])
        R_k, t_k = behave_tree.cameras[k]
        np.testing.assert_allclose(s.human_to_camera(s.gt.joints_3d), (world - t_k) @ R_k, atol=1e-9)
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
    reader = read_behave(behave_tree.root, sequences=["Date03_Sub03_chairwood_hand"], views=[1])
    assert len(list(reader)) == 2 and not reader.problems


def test_malformed_content_names_the_file(behave_tree) -> None:
    info = behave_tree.root / "sequences/Date03_Sub04_basketball/info.json"
    info.write_text('{"cat": "basketball", "kinects": ["one"]}')
    reader = read_behave(behave_tree.root, split="test")
    assert list(reader) == []
    (problem,) = reader.problems
    assert problem.path == str(info) and "malformed" in problem.message
