"""Readers for estimator output files: HMR-style SMPL parameters and COCO keypoint JSON."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.body import load_body_model
from hoirecon.fitting.estimator_files import read_body_estimate, read_coco_keypoints
from hoirecon.fitting.init import BodyInit, rest_pelvis


@pytest.fixture(scope="module")
def body():
    return load_body_model()


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
