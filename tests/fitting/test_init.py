"""Weight-free initialisers: PnP object poses, body init, human-frame poses, estimator files."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import load_body_model
from hoirecon.data.dataset import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.init import (
    BodyInit,
    init_batch,
    init_body_from_estimate,
    init_object_from_keypoints,
    init_object_pnp,
    object_pose_in_human_frame,
    read_body_estimate,
    read_coco_keypoints,
    rest_pelvis,
)
from hoirecon.objects import get_category_template

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate(root, SynthConfig(categories=("baseball_bat",), train=4, test=0, image_size=96))
    return load_dataset(root)


def _scene(seed: int = 0, count: int = 60):
    rng = np.random.default_rng(seed)
    template = get_category_template("skateboard")
    R = Rotation.random(random_state=seed).as_matrix()
    t = np.array([0.2, -0.1, 3.0])
    points = template.vertices[rng.choice(len(template.vertices), count, replace=False)]
    uvw = (points @ R.T + t) @ K.T
    return points, uvw[:, :2] / uvw[:, 2:], R, t, rng


def _angle_deg(R_a: np.ndarray, R_b: np.ndarray) -> float:
    return float(np.degrees(Rotation.from_matrix(R_a.T @ R_b).magnitude()))


def test_pnp_recovers_a_pose_exactly_from_clean_correspondences() -> None:
    points, pixels, R, t, _ = _scene()
    out = init_object_pnp(points, pixels, np.ones(len(points)), K)
    assert out.success and out.method == "ransac" and out.note == ""
    np.testing.assert_allclose(out.R_cam, R, atol=1e-6)
    np.testing.assert_allclose(out.t_cam, t, atol=1e-6)
    assert out.inliers.all() and out.reprojection_px < 1e-6


def test_pnp_survives_noise_and_30_percent_outliers() -> None:
    points, pixels, R, t, rng = _scene(seed=1)
    noisy = pixels + rng.normal(0.0, 1.0, pixels.shape)
    outlier = rng.random(len(points)) < 0.3
    noisy[outlier] = rng.uniform(pixels.min(0) - 40, pixels.max(0) + 40, (outlier.sum(), 2))
    out = init_object_pnp(points, noisy, np.ones(len(points)), K)
    assert out.success
    assert _angle_deg(out.R_cam, R) < 3.0
    assert np.linalg.norm(out.t_cam - t) < 0.05
    assert (out.inliers & outlier).sum() <= 2
    assert out.inliers[~outlier].mean() > 0.8
    assert out.reprojection_px < 3.0


def test_pnp_ignores_padding() -> None:
    points, pixels, _, _, _ = _scene(seed=2, count=30)
    padded_pts = np.concatenate([points, np.full((10, 3), 7.0)])
    padded_px = np.concatenate([pixels, np.full((10, 2), -999.0)])
    weight = np.concatenate([np.ones(30), np.zeros(10)])
    ref = init_object_pnp(points, pixels, np.ones(30), K)
    out = init_object_pnp(padded_pts, padded_px, weight, K)
    np.testing.assert_allclose(out.R_cam, ref.R_cam, atol=1e-9)
    np.testing.assert_allclose(out.t_cam, ref.t_cam, atol=1e-9)
    assert out.inliers[:30].all() and not out.inliers[30:].any()


def test_pnp_at_a_scale_recovers_the_scaled_translation() -> None:
    points, _, R, t, _ = _scene(seed=3)
    uvw = (1.3 * points @ R.T + t) @ K.T
    pixels = uvw[:, :2] / uvw[:, 2:]
    out = init_object_pnp(points, pixels, np.ones(len(points)), K, scale=1.3)
    np.testing.assert_allclose(out.t_cam, t, atol=1e-6)
    unscaled = init_object_pnp(points, pixels, np.ones(len(points)), K)
    np.testing.assert_allclose(unscaled.t_cam, t / 1.3, atol=1e-6)


@pytest.mark.parametrize("case", ["identical", "three", "padding_only", "collinear"])
def test_degenerate_correspondences_fall_back_to_a_placement(case: str) -> None:
    points, pixels, _, _, _ = _scene(seed=4, count=12)
    weight = np.ones(12)
    if case == "identical":
        points = np.repeat(points[:1], 12, axis=0)
    elif case == "three":
        points, pixels, weight = points[:3], pixels[:3], weight[:3]
    elif case == "padding_only":
        weight = np.zeros(12)
    else:
        points = np.outer(np.linspace(0, 1, 12), [1.0, 2.0, 3.0])
    pelvis = np.array([0.1, 0.0, 4.0])
    out = init_object_pnp(points, pixels, weight, K, fallback_center=pelvis)
    assert not out.success and out.method == "placement"
    assert out.note and not out.inliers.any() and len(out.inliers) == len(points)
    assert out.t_cam[2] == pytest.approx(4.0)
    np.testing.assert_allclose(out.R_cam, np.eye(3))


def test_pnp_falls_back_to_least_squares_when_ransac_fails(monkeypatch) -> None:
    import hoirecon.fitting.init as init_module

    points, pixels, R, t, _ = _scene(seed=7)
    monkeypatch.setattr(init_module, "_ransac", lambda *args: None)
    out = init_object_pnp(points, pixels, np.ones(len(points)), K)
    assert out.success and out.method == "pnp_all" and "RANSAC" in out.note
    np.testing.assert_allclose(out.R_cam, R, atol=1e-6)
    np.testing.assert_allclose(out.t_cam, t, atol=1e-6)


def test_pnp_on_random_pixels_reports_no_consistent_pose() -> None:
    points, pixels, _, _, rng = _scene(seed=8)
    noise = rng.uniform(0, 640, pixels.shape)
    out = init_object_pnp(points, noise, np.ones(len(points)), K, fallback_center=np.array([0.0, 0.0, 2.0]))
    assert not out.success and out.method == "placement" and "pose" in out.note
    assert out.t_cam[2] == pytest.approx(2.0)


def test_pnp_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="corr_pixels"):
        init_object_pnp(np.zeros((5, 3)), np.zeros((4, 2)), np.ones(5), K)
    with pytest.raises(ValueError, match="corr_weight"):
        init_object_pnp(np.zeros((5, 3)), np.zeros((5, 2)), np.ones(4), K)
    with pytest.raises(ValueError, match="K"):
        init_object_pnp(np.zeros((5, 3)), np.zeros((5, 2)), np.ones(5), np.eye(2))


def _keypoint_pixels(template, R, t):
    uvw = (template.keypoints @ R.T + t) @ K.T
    return uvw[:, :2] / uvw[:, 2:]


def test_keypoint_init_recovers_a_pose_and_handles_swapped_labels() -> None:
    template = get_category_template("skateboard")
    R, t = Rotation.random(random_state=5).as_matrix(), np.array([0.0, 0.3, 2.5])
    pixels = _keypoint_pixels(template, R, t)
    out = init_object_from_keypoints(pixels, np.ones(len(pixels)), template, K)
    assert out.success and out.method == "keypoints" and out.reprojection_px < 1e-6
    posed = template.vertices @ out.R_cam.T + out.t_cam
    np.testing.assert_allclose(np.sort(posed, axis=0), np.sort(template.vertices @ R.T + t, axis=0), atol=1e-6)
    perm = template.keypoint_permutations[1]
    swapped = init_object_from_keypoints(pixels[np.argsort(perm)], np.ones(len(pixels)), template, K)
    assert swapped.success and swapped.reprojection_px < 1e-6


def test_keypoint_init_with_two_keypoints_places_the_object_along_them() -> None:
    template = get_category_template("baseball_bat")
    R, t = Rotation.random(random_state=6).as_matrix(), np.array([0.2, 0.1, 3.0])
    pixels = _keypoint_pixels(template, R, t)
    out = init_object_from_keypoints(pixels, np.ones(2), template, K, fallback_center=np.array([0.0, 0.0, 3.0]))
    assert not out.success and out.method == "placement" and "4" in out.note
    posed = template.keypoints @ out.R_cam.T + out.t_cam
    uvw = posed @ K.T
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], pixels, atol=1e-6)
    assert posed[:, 2].mean() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="keypoints_2d"):
        init_object_from_keypoints(pixels[:1], np.ones(1), template, K)


class _Est:
    def __init__(self, betas, body_pose, global_orient, transl):
        self.betas, self.body_pose, self.global_orient, self.transl = betas, body_pose, global_orient, transl


def test_body_init_pelvis_is_transl_plus_rest_pelvis(body) -> None:
    rng = np.random.default_rng(0)
    est = _Est(rng.normal(0, 1, 10), rng.normal(0, 0.3, 63), rng.normal(0, 1, 3), np.array([0.1, 0.2, 3.0]))
    init = init_body_from_estimate(est, body)
    as_t = lambda a: torch.tensor(a[None], dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        out = body(betas=as_t(est.betas), body_pose=as_t(est.body_pose), global_orient=as_t(est.global_orient),
                   transl=as_t(est.transl))
    np.testing.assert_allclose(init.pelvis_cam, out.joints[0, 0].double().numpy(), atol=1e-5)
    np.testing.assert_allclose(init.pelvis_cam - init.transl, rest_pelvis(body, est.betas), atol=1e-12)
    long_pose = init_body_from_estimate(_Est(est.betas[:4], np.zeros(69), est.global_orient, est.transl), body)
    assert long_pose.body_pose.shape == (63,) and long_pose.betas.shape == (10,)
    with pytest.raises(ValueError, match="transl"):
        init_body_from_estimate(_Est(est.betas, est.body_pose, est.global_orient, np.zeros(2)), body)


def test_object_pose_in_human_frame_round_trips_the_ground_truth(synth, body) -> None:
    template = get_category_template("baseball_bat")
    for sample in synth.samples("baseball_bat", "train"):
        gt = sample.gt
        R_cam, t_cam = sample.object_pose_camera()
        uvw = (gt.object_scale * template.vertices @ R_cam.T + t_cam) @ sample.intrinsics.T
        pixels = uvw[:, :2] / uvw[:, 2:]
        pnp = init_object_pnp(template.vertices, pixels, np.ones(len(pixels)), sample.intrinsics,
                              scale=gt.object_scale)
        R_h, t_h = object_pose_in_human_frame(pnp.R_cam, pnp.t_cam, init_body_from_estimate(gt, body))
        np.testing.assert_allclose(R_h, gt.object_rotation, atol=1e-4)
        np.testing.assert_allclose(t_h, gt.object_translation, atol=1e-4)


def test_init_batch_uses_estimates_and_falls_back_per_sample(synth, body) -> None:
    template = get_category_template("baseball_bat")
    samples = list(synth.samples("baseball_bat", "train"))
    est = samples[2].estimate
    broken = dataclasses.replace(est, corr_weight=np.zeros_like(est.corr_weight))
    samples[1] = dataclasses.replace(samples[1], estimate=None)
    samples[2] = dataclasses.replace(samples[2], estimate=broken)
    batch = init_batch(samples, template, body)
    assert len(batch) == 4 and batch.betas.shape == (4, 10) and batch.object_rotation.shape == (4, 3, 3)
    assert batch.body_source == ["estimate", "smplify", "estimate", "estimate"]
    assert any("SMPLify" in n for n in batch.notes[1])
    assert batch.object_success.tolist() == [True, False, False, True]
    assert batch.object_method[0] == "ransac" and batch.notes[0] == [] and batch.notes[2]
    for i in (0, 3):
        _, t_gt = samples[i].object_pose_camera()
        assert abs(batch.object_translation_cam[i, 2] / t_gt[2] - 1) < 0.35
        R_h, t_h = object_pose_in_human_frame(batch.object_rotation_cam[i], batch.object_translation_cam[i],
                                              batch.body(i))
        np.testing.assert_allclose(batch.object_rotation[i], R_h)
        np.testing.assert_allclose(batch.object_translation[i], t_h)
    with pytest.raises(ValueError, match="samples"):
        init_batch([], template, body)


# ---- estimator files -------------------------------------------------------------------------

def _hmr_params(rng, persons: int | None = None):
    shape = () if persons is None else (persons,)
    return {"betas": rng.normal(0, 1, shape + (10,)), "body_pose": rng.normal(0, 0.2, shape + (69,)),
            "global_orient": rng.normal(0, 1, shape + (3,)), "transl": rng.normal(0, 1, shape + (3,))}


def test_reads_npz_and_pkl_body_estimates(tmp_path: Path, body) -> None:
    rng = np.random.default_rng(0)
    params = _hmr_params(rng)
    np.savez(tmp_path / "a.npz", **params)
    init = read_body_estimate(tmp_path / "a.npz", body)
    assert isinstance(init, BodyInit)
    np.testing.assert_allclose(init.body_pose, params["body_pose"][:63])
    np.testing.assert_allclose(init.pelvis_cam, params["transl"] + rest_pelvis(body, params["betas"]))
    pose = np.concatenate([params["global_orient"], params["body_pose"]])
    with open(tmp_path / "b.pkl", "wb") as fh:
        pickle.dump({"pose": pose, "betas": params["betas"], "cam_t": params["transl"]}, fh)
    from_pkl = read_body_estimate(tmp_path / "b.pkl", body)
    np.testing.assert_allclose(from_pkl.global_orient, init.global_orient)
    np.testing.assert_allclose(from_pkl.body_pose, init.body_pose)


def test_reads_rotation_matrices_nested_dicts_and_a_person_axis(tmp_path: Path, body) -> None:
    rng = np.random.default_rng(1)
    params = _hmr_params(rng, persons=2)
    mats = Rotation.from_rotvec(params["body_pose"][1, :63].reshape(21, 3)).as_matrix()
    orient = Rotation.from_rotvec(params["global_orient"][1]).as_matrix()[None]
    with open(tmp_path / "hmr2.pkl", "wb") as fh:
        pickle.dump({"pred_smpl_params": {"betas": params["betas"][1], "body_pose": mats, "global_orient": orient},
                     "pred_cam_t": params["transl"][1]}, fh)
    init = read_body_estimate(tmp_path / "hmr2.pkl", body)
    np.testing.assert_allclose(init.body_pose, params["body_pose"][1, :63], atol=1e-9)
    np.testing.assert_allclose(init.global_orient, params["global_orient"][1], atol=1e-9)
    np.savez(tmp_path / "two.npz", **params)
    second = read_body_estimate(tmp_path / "two.npz", body, index=1)
    np.testing.assert_allclose(second.transl, params["transl"][1])


def test_malformed_body_files_name_the_file_and_key(tmp_path: Path, body) -> None:
    rng = np.random.default_rng(2)
    params = _hmr_params(rng)
    np.savez(tmp_path / "nokey.npz", **{k: v for k, v in params.items() if k != "transl"})
    with pytest.raises(ValueError, match=r"nokey\.npz.*transl"):
        read_body_estimate(tmp_path / "nokey.npz", body)
    np.savez(tmp_path / "shape.npz", **dict(params, body_pose=np.zeros(50)))
    with pytest.raises(ValueError, match=r"shape\.npz.*body_pose"):
        read_body_estimate(tmp_path / "shape.npz", body)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz"):
        read_body_estimate(tmp_path / "junk.npz", body)
    with pytest.raises(ValueError, match=r"\.txt"):
        read_body_estimate(tmp_path / "x.txt", body)
    np.savez(tmp_path / "nan.npz", **dict(params, transl=np.array([0.0, np.nan, 1.0])))
    with pytest.raises(ValueError, match="transl"):
        read_body_estimate(tmp_path / "nan.npz", body)


def _coco(rng, score):
    kp = np.c_[rng.uniform(0, 100, (17, 2)), rng.uniform(0.5, 1, 17)]
    return {"image_id": 3, "category_id": 1, "keypoints": kp.ravel().tolist(), "score": score, "bbox": [0, 0, 9, 9]}


def test_reads_coco_keypoints_picking_the_best_person(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    people = [_coco(rng, 0.4), _coco(rng, 0.9), dict(_coco(rng, 0.99), image_id=4)]
    (tmp_path / "res.json").write_text(json.dumps(people))
    kp = read_coco_keypoints(tmp_path / "res.json", image_id=3)
    np.testing.assert_allclose(kp.ravel(), people[1]["keypoints"])
    assert read_coco_keypoints(tmp_path / "res.json")[0, 0] == people[2]["keypoints"][0]
    mm = {"meta_info": {}, "instance_info": [{"frame_id": 0, "instances": [
        {"keypoints": np.asarray(people[0]["keypoints"]).reshape(17, 3)[:, :2].tolist(),
         "keypoint_scores": [0.8] * 17, "bbox_score": 0.7}]}]}
    (tmp_path / "mm.json").write_text(json.dumps(mm))
    kp = read_coco_keypoints(tmp_path / "mm.json")
    assert kp.shape == (17, 3) and np.all(kp[:, 2] == 0.8)


def test_malformed_coco_files_name_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json"):
        read_coco_keypoints(tmp_path / "bad.json")
    (tmp_path / "nokp.json").write_text(json.dumps([{"score": 1.0}]))
    with pytest.raises(ValueError, match=r"nokp\.json.*keypoints"):
        read_coco_keypoints(tmp_path / "nokp.json")
    (tmp_path / "short.json").write_text(json.dumps([{"keypoints": [1, 2, 3] * 5}]))
    with pytest.raises(ValueError, match=r"short\.json.*keypoints"):
        read_coco_keypoints(tmp_path / "short.json")
    (tmp_path / "empty.json").write_text("[]")
    with pytest.raises(ValueError, match=r"empty\.json.*no person"):
        read_coco_keypoints(tmp_path / "empty.json")
    with pytest.raises(ValueError, match="missing.json"):
        read_coco_keypoints(tmp_path / "missing.json")
