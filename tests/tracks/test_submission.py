"""The results.pkl writer: the official layout field by field, the world frame, keys and order."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import load_body_model
from hoirecon.data.readers.behave_files import KinectCamera
from hoirecon.eval.protocols import load_rhobin_file
from hoirecon.tracks.keys import FrameKey
from hoirecon.tracks.submission import TRACK_KEYS, build_results, world_rows, write_results

README_LAYOUT = {  # challenges/cvprw23/README.md, per sequence: key -> shape with T frames
    "frames": "list", "gender": "str", "poses": (72,), "betas": (10,), "trans": (3,),
    "obj_rots": (3, 3), "obj_trans": (3,), "obj_scales": (),
}


def _camera(seed: int) -> KinectCamera:
    rng = np.random.default_rng(seed)
    return KinectCamera(np.eye(3), None, Rotation.random(random_state=seed).as_matrix(), rng.normal(0, 1, 3))


class _Calib:
    """A stand-in for BehaveCalibration: one camera per Kinect."""

    def __init__(self) -> None:
        self.cameras = {0: _camera(0), 1: KinectCamera(np.eye(3), None, np.eye(3), np.zeros(3))}

    def camera(self, sequence: str, kinect: int) -> KinectCamera:
        return self.cameras[kinect]


@pytest.fixture(scope="module")
def body():
    return load_body_model(None, dtype=torch.float64)


def _columns(ids: list[str], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = len(ids)
    return {"image_id": np.array(ids), "betas": rng.normal(0, 1, (n, 10)), "body_pose": rng.normal(0, 0.2, (n, 63)),
            "global_orient": Rotation.random(n, random_state=seed).as_rotvec(), "transl": rng.normal(0, 1, (n, 3)),
            "object_rotation_cam": Rotation.random(n, random_state=seed + 1).as_matrix(),
            "object_translation_cam": rng.normal(0, 1, (n, 3)), "object_scale": rng.uniform(0.8, 1.2, n)}


def test_layout_matches_the_official_readme_field_by_field(body, tmp_path: Path) -> None:
    seq = "Date03_Sub03_chairwood_hand"
    ids = [f"{seq}_t0002.000_k1", f"{seq}_t0001.000_k1", f"{seq}_t0001.000_k0"]
    rows = world_rows(_columns(ids), _Calib(), body)
    results = build_results(rows, {seq: "male"}, "joint")
    entry = results[seq]
    assert list(entry) == list(README_LAYOUT)
    assert entry["frames"] == ["t0001.000", "t0002.000"] and entry["gender"] == "male"
    for key, shape in README_LAYOUT.items():
        if isinstance(shape, tuple):
            assert entry[key].shape == (2, *shape), key
    path = write_results(results, tmp_path / "results.pkl")
    parsed = load_rhobin_file(path, need_body=True, need_object=True).sequences[seq]
    assert parsed.valid.all() and parsed.obj_name == "chairwood"


def test_k1_is_preferred_and_a_view_of_another_kinect_is_carried_to_the_world(body) -> None:
    seq = "Date03_Sub03_chairwood_hand"
    cols = _columns([f"{seq}_t0001.000_k0"])
    rows = world_rows(cols, _Calib(), body)
    camera = _Calib().cameras[0]
    row = rows[FrameKey(seq, "t0001.000", 0)]
    np.testing.assert_allclose(row["obj_rots"], camera.rotation @ cols["object_rotation_cam"][0], atol=1e-12)


@pytest.mark.parametrize("track", ["object", "human", "joint"])
def test_each_track_writes_only_its_part_in_the_reference_order(body, track: str) -> None:
    seq, other = "Date03_Sub03_chairwood_hand", "Date04_Sub05_stool"
    ids = [f"{seq}_t0001.000_k1", f"{seq}_t0002.000_k1", f"{other}_t0001.000_k1"]
    rows = world_rows(_columns(ids), _Calib(), body)
    results = build_results(rows, {seq: "male", other: "female"}, track, order={seq: ["t0002.000", "t0009.000", "t0001.000"]})
    assert list(results) == [seq]
    assert results[seq]["frames"] == ["t0002.000", "t0001.000"]
    assert tuple(results[seq]) == TRACK_KEYS[track]


def test_bad_inputs_are_named(body, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a BEHAVE image id"):
        world_rows(_columns(["skateboard_000001"]), _Calib(), body)
    with pytest.raises(ValueError, match="track"):
        build_results({}, {}, "hands")
    with pytest.raises(ValueError, match="no sequence"):
        write_results({}, tmp_path / "r.pkl")
    assert not (tmp_path / "r.pkl").exists()


def test_written_file_unpickles_to_plain_containers(body, tmp_path: Path) -> None:
    seq = "Date03_Sub03_chairwood_hand"
    results = build_results(world_rows(_columns([f"{seq}_t0001.000_k1"]), _Calib(), body), {seq: "female"}, "human")
    data = pickle.loads(write_results(results, tmp_path / "results.pkl").read_bytes())
    assert type(data) is dict and type(data[seq]) is dict and isinstance(data[seq]["frames"], list)


def _official_smpl2smplh(poses: np.ndarray) -> np.ndarray:
    """The rule of the official evaluator (restated): first 69 values kept, the last 3 on the first right-hand joint."""
    out = np.zeros((len(poses), 156))
    out[:, :69] = poses[:, :69]
    out[:, 111:114] = poses[:, 69:72]
    return out


def test_our_72_pose_maps_onto_smplh_as_the_official_evaluator_does() -> None:
    from hoirecon.eval.protocols.bodies import pose_inputs

    class _SMPLH:
        model_type = "smplh"

    poses = np.random.default_rng(0).normal(0, 0.3, (2, 72))
    ours = pose_inputs(_SMPLH(), poses)
    official = _official_smpl2smplh(poses)
    flat = np.concatenate([ours["global_orient"], ours["body_pose"], ours["left_hand_pose"], ours["right_hand_pose"]], 1)
    np.testing.assert_allclose(flat, official)
