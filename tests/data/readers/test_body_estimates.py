"""Body estimate files of public human mesh estimators, written in each tool's layout and read back."""

from __future__ import annotations

import io
import json
import pickle
import sys
import types
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.data.readers.body_estimates import BodyEstimate, read_body_estimate


class NumpyArrayWrapper:
    """What joblib pickles in place of an array (its module path is set by the fixture)."""

    def __init__(self, array: np.ndarray) -> None:
        self.subclass, self.shape, self.order, self.dtype = np.ndarray, array.shape, "C", array.dtype
        self.allow_mmap, self.numpy_array_alignment_bytes = True, 16


class _JoblibLikePickler(pickle._Pickler):
    """joblib's persistence format: each array becomes a wrapper, its bytes follow it raw."""

    def __init__(self, stream: io.BytesIO) -> None:
        super().__init__(stream, protocol=pickle.DEFAULT_PROTOCOL)
        self.stream = stream

    def save(self, obj, save_persistent_id=True):  # noqa: ANN001, ANN201 - pickle's signature
        if type(obj) is not np.ndarray:
            return super().save(obj, save_persistent_id)
        super().save(NumpyArrayWrapper(obj))
        if self.proto >= 4:
            self.framer.commit_frame(force=True)
        padding = 16 - (self.stream.tell() + 1) % 16
        self.stream.write(bytes([padding]) + b"\xff" * padding + np.ascontiguousarray(obj).tobytes())


@pytest.fixture
def joblib_dump(monkeypatch: pytest.MonkeyPatch):
    """``joblib.dump(value, path, compress)`` as joblib writes it (zlib when compressed)."""
    package, module = types.ModuleType("joblib"), types.ModuleType("joblib.numpy_pickle")
    module.NumpyArrayWrapper, package.numpy_pickle = NumpyArrayWrapper, module
    monkeypatch.setattr(NumpyArrayWrapper, "__module__", "joblib.numpy_pickle")
    monkeypatch.setitem(sys.modules, "joblib", package)
    monkeypatch.setitem(sys.modules, "joblib.numpy_pickle", module)

    def dump(value: object, path: Path, compress: int = 0) -> Path:
        stream = io.BytesIO()
        _JoblibLikePickler(stream).dump(value)
        path.write_bytes(zlib.compress(stream.getvalue(), compress) if compress else stream.getvalue())
        return path

    return dump


def _pickle(path: Path, data: object) -> Path:
    with open(path, "wb") as fh:
        pickle.dump(data, fh)
    return path


def _rotvecs(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Axis-angle vectors (*shape, 3) with angles below pi (so they are their own canonical form)."""
    axis = rng.normal(size=shape + (3,))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    return axis * rng.uniform(0.05, 3.0, shape + (1,))


def _mats(rotvecs: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_matrix().reshape(rotvecs.shape[:-1] + (3, 3))


def _check_pose(est: BodyEstimate, orient: np.ndarray, body21: np.ndarray, betas: np.ndarray) -> None:
    np.testing.assert_allclose(est.global_orient, orient, atol=1e-5)
    np.testing.assert_allclose(est.body_pose, body21.ravel(), atol=1e-5)
    np.testing.assert_allclose(est.betas, betas, atol=1e-6)
    assert est.body_pose.shape == (63,) and est.betas.shape == (10,)


def test_hmr2_output_rotation_matrices_and_crop_camera(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    orient, body, betas = _rotvecs(rng, 2, 1), _rotvecs(rng, 2, 23), rng.normal(size=(2, 10))
    out = {"pred_cam": np.array([[0.9, 0.1, 0.2], [1.1, -0.3, 0.05]], np.float32),
           "pred_cam_t": rng.normal(size=(2, 3)), "focal_length": np.full((2, 2), 5000.0),
           "pred_smpl_params": {"global_orient": _mats(orient).astype(np.float32),
                                "body_pose": _mats(body).astype(np.float32), "betas": betas.astype(np.float32)},
           "box_center": np.array([[100.0, 200.0], [300.0, 250.0]]), "box_size": np.array([150.0, 220.0])}
    est = read_body_estimate(_pickle(tmp_path / "hmr2.pkl", out), person=1)
    _check_pose(est, orient[1, 0], body[1, :21], betas[1])
    np.testing.assert_allclose(est.weak_camera, [1.1, -0.3, 0.05], atol=1e-6)
    np.testing.assert_array_equal(est.crop, [300, 250, 220])
    assert est.transl is None and est.source == "hmr2"
    del out["box_center"], out["box_size"]  # the crop is unknown: its camera cannot be used
    assert read_body_estimate(_pickle(tmp_path / "nobox.pkl", out)).weak_camera is None


def _phalp_frame(rng: np.random.Generator, t: int, people: int) -> dict:
    smpl = [{"global_orient": _mats(_rotvecs(rng, 1)), "body_pose": _mats(_rotvecs(rng, 23)),
             "betas": rng.normal(size=10)} for _ in range(people)]
    return {"time": t, "shot": 0, "frame_path": f"img/{t:06d}.jpg", "tid": list(range(people)),
            "bbox": [np.array([1.0, 2, 3, 4])] * people, "tracked_time": [0] * people, "smpl": smpl,
            "camera": [rng.normal(size=3) + [0, 0, 30] for _ in range(people)],
            "camera_bbox": [np.array([1.0, 0, 0])] * people, "size": [[480, 640]] * people,
            "conf": [np.float32(0.9)] * people, "class_name": [np.int64(0)] * people}


def test_phalp_tracking_results_written_by_joblib(tmp_path: Path, joblib_dump) -> None:
    rng = np.random.default_rng(1)
    frames = {f"img/{t:06d}.jpg": _phalp_frame(rng, t, 2) for t in (1, 0)}
    path = joblib_dump(frames, tmp_path / "demo_video.pkl", compress=3)
    for frame in ("img/000001.jpg", "000001.jpg", 1):
        est = read_body_estimate(path, person=1, frame=frame)
        want = frames["img/000001.jpg"]
        smpl = want["smpl"][1]
        orient = Rotation.from_matrix(smpl["global_orient"][0]).as_rotvec()
        body = Rotation.from_matrix(smpl["body_pose"][:21]).as_rotvec()
        _check_pose(est, orient, body, smpl["betas"])
        np.testing.assert_allclose(est.transl, want["camera"][1])
        np.testing.assert_allclose(est.transl_camera, [12500, 12500, 320, 240])  # 5000 / 256 * 640
    with pytest.raises(ValueError, match=r"demo_video\.pkl.*2 frames.*frame="):
        read_body_estimate(path)
    with pytest.raises(ValueError, match=r"'smpl'.*no person 2"):
        read_body_estimate(path, person=2, frame=0)


def _romp_results(rng: np.random.Generator, people: int, betas: int = 10) -> dict:
    thetas = np.c_[_rotvecs(rng, people, 22).reshape(people, 66), np.zeros((people, 6))]
    return {"cam": np.array([[0.5, 0.1, -0.2], [0.25, -0.05, 0.1]])[:people],
            "global_orient": thetas[:, :3], "body_pose": thetas[:, 3:], "smpl_betas": rng.normal(size=(people, betas)),
            "smpl_thetas": thetas, "center_confs": np.ones(people), "cam_trans": rng.normal(size=(people, 3))}


def test_romp_and_bev_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    results = _romp_results(rng, 2)
    np.savez(tmp_path / "image.npz", results=results)  # as ROMP's ResultSaver writes it
    est = read_body_estimate(tmp_path / "image.npz", person=1)
    _check_pose(est, results["smpl_thetas"][1, :3], results["smpl_thetas"][1, 3:66], results["smpl_betas"][1])
    np.testing.assert_allclose(est.weak_camera, [0.25, -0.2, 0.4])  # s X + t -> s (X + t / s)
    assert est.crop is None and est.transl is None and est.source == "romp"
    bev = _romp_results(rng, 1, betas=11)
    np.savez(tmp_path / "bev.npz", results=bev)
    np.testing.assert_allclose(read_body_estimate(tmp_path / "bev.npz").betas, bev["smpl_betas"][0, :10])
    video = {"000000.png": _romp_results(rng, 1), "000001.png": results}
    np.savez(tmp_path / "video_results.npz", results=video, sequence_results={})
    second = read_body_estimate(tmp_path / "video_results.npz", person=0, frame="000001.png")
    np.testing.assert_allclose(second.global_orient, results["smpl_thetas"][0, :3])


def test_pare_image_output_written_by_joblib(tmp_path: Path, joblib_dump) -> None:
    rng = np.random.default_rng(3)
    pose = _rotvecs(rng, 2, 24)
    out = {"pred_pose": _mats(pose).astype(np.float32), "pred_shape": rng.normal(size=(2, 10)).astype(np.float32),
           "pred_cam": np.array([[0.8, 0.02, 0.1], [0.9, 0.0, -0.1]], np.float32),
           "bboxes": np.array([[320.0, 240.0, 200.0, 200.0], [100.0, 120.0, 80.0, 80.0]]),
           "orig_cam": rng.normal(size=(2, 4)), "smpl_joints2d": rng.normal(size=(2, 49, 2))}
    est = read_body_estimate(joblib_dump(out, tmp_path / "frame.pkl"), person=0)
    _check_pose(est, pose[0, 0], pose[0, 1:22], out["pred_shape"][0])
    np.testing.assert_allclose(est.weak_camera, [0.8, 0.02, 0.1], atol=1e-6)
    np.testing.assert_array_equal(est.crop, [320, 240, 200])


def test_smpler_x_demo_npz_with_and_without_its_meta(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    (tmp_path / "smplx").mkdir()
    params = {"global_orient": _rotvecs(rng, 1), "body_pose": _rotvecs(rng, 21), "betas": rng.normal(size=(1, 10)),
              "left_hand_pose": np.zeros((15, 3)), "right_hand_pose": np.zeros((15, 3)), "jaw_pose": np.zeros((1, 3)),
              "leye_pose": np.zeros((1, 3)), "reye_pose": np.zeros((1, 3)), "expression": np.zeros((1, 10)),
              "transl": np.array([[0.1, 0.2, 8.0]])}
    np.savez(tmp_path / "smplx" / "00003_0.npz", **params)
    est = read_body_estimate(tmp_path / "smplx" / "00003_0.npz")
    _check_pose(est, params["global_orient"][0], params["body_pose"], params["betas"][0])
    assert est.transl is None and est.source == "smpler-x"  # no camera for the translation
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "00003_0.json").write_text(json.dumps(
        {"focal": [3000.0, 3100.0], "princpt": [310.0, 250.0], "bbox": [1, 2, 3, 4], "bbox_id": 0}))
    est = read_body_estimate(tmp_path / "smplx" / "00003_0.npz")
    np.testing.assert_array_equal(est.transl, [0.1, 0.2, 8.0])
    np.testing.assert_array_equal(est.transl_camera, [3000, 3100, 310, 250])
    model_out = {"smplx_root_pose": params["global_orient"], "smplx_body_pose": params["body_pose"].reshape(1, 63),
                 "smplx_shape": params["betas"], "cam_trans": params["transl"], "focal": [5000.0, 5000.0],
                 "princpt": [96.0, 128.0]}
    est = read_body_estimate(_pickle(tmp_path / "out.pkl", model_out))
    _check_pose(est, params["global_orient"][0], params["body_pose"], params["betas"][0])
    np.testing.assert_array_equal(est.transl_camera, [5000, 5000, 96, 128])


def test_frankmocap_behave_json_and_prediction_pickle(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    pose, betas = np.c_[_rotvecs(rng, 1, 22).reshape(1, 66), np.zeros((1, 6))], rng.normal(size=(1, 10))
    (tmp_path / "k1.mocap.json").write_text(json.dumps({"pose": pose[0].tolist(), "betas": betas[0].tolist()}))
    est = read_body_estimate(tmp_path / "k1.mocap.json")
    _check_pose(est, pose[0, :3], pose[0, 3:66], betas[0])
    assert est.transl is None and est.weak_camera is None
    output = {"pred_body_pose": pose, "pred_betas": betas, "pred_camera": np.array([0.8, 0.1, -0.2]),
              "bbox_top_left": np.array([100.0, 50.0]), "bbox_scale_ratio": 0.5,
              "pred_rotmat": _mats(pose[:, :72].reshape(1, 24, 3)), "img_cropped": np.zeros((4, 4, 3), np.uint8)}
    saved = OrderedDict(demo_type="body", smpl_type="smpl", image_path="/x/img.jpg", body_bbox_list=[[1, 2, 3, 4]],
                        hand_bbox_list=[None], save_mesh=False, pred_output_list=[None, output])
    est = read_body_estimate(_pickle(tmp_path / "img_prediction_result.pkl", saved), person=1)
    _check_pose(est, pose[0, :3], pose[0, 3:66], betas[0])
    np.testing.assert_allclose(est.weak_camera, [0.8, 0.125, -0.25])
    np.testing.assert_allclose(est.crop, [324, 274, 448])  # 224-pixel crop at ratio 0.5
    with pytest.raises(ValueError, match="person 0 has no prediction"):
        read_body_estimate(tmp_path / "img_prediction_result.pkl", person=0)


def test_our_npz_and_pkl_with_a_person_axis(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    params = {"betas": rng.normal(size=(2, 10)), "body_pose": rng.normal(0, 0.2, (2, 69)),
              "global_orient": rng.normal(size=(2, 3)), "transl": rng.normal(size=(2, 3))}
    np.savez(tmp_path / "two.npz", **params)
    est = read_body_estimate(tmp_path / "two.npz", person=1)
    np.testing.assert_array_equal(est.body_pose, params["body_pose"][1, :63])
    np.testing.assert_array_equal(est.transl, params["transl"][1])
    assert est.transl_camera is None and est.source == "npz"
    full = np.concatenate([params["global_orient"][0], params["body_pose"][0, :63], np.zeros(90)])  # SMPL-H 156
    est = read_body_estimate(_pickle(tmp_path / "one.pkl", {"pose": full, "betas": params["betas"][0]}))
    np.testing.assert_array_equal(est.global_orient, params["global_orient"][0])
    np.testing.assert_array_equal(est.body_pose, params["body_pose"][0, :63])
    assert est.transl is None


def _own(**changes: object) -> dict:
    base = {"betas": np.zeros(10), "body_pose": np.zeros(63), "global_orient": np.zeros(3), "transl": np.ones(3)}
    return {**base, **changes}


@pytest.mark.parametrize("data, match", [
    (_own(transl=np.array([0.0, np.nan, 1.0])), "'transl'.*NaN"),
    (_own(body_pose=np.zeros(50)), "'body_pose'.*63 or 69"),
    (_own(betas=np.zeros(8)), "'betas'.*10"),
    ({"betas": np.zeros(10), "transl": np.zeros(3)}, "global_orient.*body_pose.*pose"),
    (_own(global_orient=np.zeros((2, 3))), "person 5 out of range"),
    ({"pred_smpl_params": {"global_orient": 2 * np.eye(3)[None], "body_pose": np.tile(np.eye(3), (23, 1, 1)),
                           "betas": np.zeros(10)}}, "'global_orient'.*not rotation"),
    ({"pred_smpl_params": {"global_orient": np.diag([1.0, 1.0, -1.0])[None],
                           "body_pose": np.tile(np.eye(3), (23, 1, 1)), "betas": np.zeros(10)}}, "reflection"),
    ({"pred_smpl_params": {"global_orient": np.eye(3)[None], "body_pose": np.tile(np.eye(3), (21, 1, 1)),
                           "betas": np.zeros(10)}}, "'body_pose'.*207"),
    ({"pred_pose": np.tile(np.eye(3), (1, 24, 1, 1)), "pred_shape": np.zeros((1, 10)),
      "pred_cam": np.array([[-0.5, 0, 0]]), "bboxes": np.ones((1, 4))}, "scale must be positive"),
])
def test_malformed_body_files_name_the_file_and_key(tmp_path: Path, data: dict, match: str) -> None:
    person = 5 if "person 5" in match else 0
    with pytest.raises(ValueError, match=match) as info:
        read_body_estimate(_pickle(tmp_path / "bad_body.pkl", data), person=person)
    assert "bad_body.pkl" in str(info.value)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz.*unreadable"):
        read_body_estimate(tmp_path / "junk.npz")
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x05garbage")
    with pytest.raises(ValueError, match=r"junk\.pkl.*unreadable"):
        read_body_estimate(tmp_path / "junk.pkl")
    (tmp_path / "bad.json").write_text("{no")
    with pytest.raises(ValueError, match=r"bad\.json.*JSON"):
        read_body_estimate(tmp_path / "bad.json")
    (tmp_path / "short.json").write_text(json.dumps({"pose": [0.0] * 70, "betas": [0.0] * 10}))
    with pytest.raises(ValueError, match=r"short\.json.*'pose'.*72"):
        read_body_estimate(tmp_path / "short.json")
    with pytest.raises(ValueError, match=r"x\.txt.*\.pkl, \.npz or \.json"):
        read_body_estimate(tmp_path / "x.txt")
    with pytest.raises(ValueError, match=r"list\.pkl.*mapping"):
        read_body_estimate(_pickle(tmp_path / "list.pkl", [1, 2]))
