"""Carrying fits from a Kinect's frame to BEHAVE's world, and reading the tree's calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import load_body_model
from hoirecon.data.readers.behave_files import KinectCamera
from hoirecon.data.readers.common import LayoutError
from hoirecon.data.synthetic.behave_layout import kinect_poses
from hoirecon.tracks.world import BehaveCalibration, body_to_world, object_to_world, rest_pelvis


def _camera(seed: int) -> KinectCamera:
    rng = np.random.default_rng(seed)
    return KinectCamera(np.eye(3), None, Rotation.random(random_state=seed).as_matrix(), rng.normal(0, 1, 3))


def _columns(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"betas": rng.normal(0, 1, (1, 10)), "body_pose": rng.normal(0, 0.2, (1, 63)),
            "global_orient": Rotation.random(1, random_state=seed).as_rotvec(), "transl": rng.normal(0, 1, (1, 3)),
            "object_rotation_cam": Rotation.random(1, random_state=seed + 1).as_matrix(),
            "object_translation_cam": rng.normal(0, 1, (1, 3)), "object_scale": rng.uniform(0.8, 1.2, 1)}


@pytest.fixture(scope="module")
def body():
    return load_body_model(None, dtype=torch.float64)


def test_body_to_world_moves_the_posed_mesh_rigidly(body) -> None:
    cols, camera = _columns(), _camera(3)
    pelvis = rest_pelvis(body, cols["betas"])
    world = body_to_world(cols["global_orient"], cols["transl"], pelvis, camera)

    def verts(orient: np.ndarray, transl: np.ndarray) -> np.ndarray:
        t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
        out = body(betas=t(cols["betas"]), body_pose=t(cols["body_pose"]), global_orient=t(orient), transl=t(transl))
        return out.vertices[0].numpy()

    expected = verts(cols["global_orient"], cols["transl"]) @ camera.rotation.T + camera.translation
    np.testing.assert_allclose(verts(world.global_orient, world.transl), expected, atol=1e-5)


def test_object_to_world_follows_the_rhobin_placement() -> None:
    cols, camera = _columns(), _camera(4)
    X = np.random.default_rng(0).normal(0, 0.2, (50, 3))
    R, t, s = cols["object_rotation_cam"][0], cols["object_translation_cam"][0], cols["object_scale"][0]
    ours_world = (s * X @ R.T + t) @ camera.rotation.T + camera.translation
    w = object_to_world(cols["object_rotation_cam"], cols["object_translation_cam"], cols["object_scale"], camera)
    np.testing.assert_allclose((X @ w.rotation[0].T + w.translation[0]) * w.scale[0], ours_world, atol=1e-10)


def test_calibration_of_the_tree(behave_tree: Path) -> None:
    calib = BehaveCalibration(behave_tree)
    seq = "Date03_Sub03_boxmedium_hand"
    assert calib.info(seq).object_name == "boxmedium" and calib.info(seq).gender == "male"
    rotation, center = kinect_poses()[2]
    camera = calib.camera(seq, 2)
    np.testing.assert_allclose(camera.rotation, rotation, atol=1e-6)
    np.testing.assert_allclose(camera.translation, center, atol=1e-6)
    np.testing.assert_allclose(calib.camera(seq, 1).rotation, np.eye(3), atol=1e-9)
    assert calib.objects_root == behave_tree
    assert BehaveCalibration(behave_tree / "sequences").objects_root == behave_tree
    with pytest.raises(LayoutError, match="Date01_Sub01_stool_sit"):
        calib.info("Date01_Sub01_stool_sit")


def test_the_scoring_models_pelvis_lands_on_the_fitted_pelvis() -> None:
    cols, camera = _columns(), _camera(5)
    fit_pelvis, scoring_pelvis = np.array([[0.0, -0.22, 0.03]]), np.array([[0.01, -0.25, 0.02]])
    world = body_to_world(cols["global_orient"], cols["transl"], fit_pelvis, camera, scoring_pelvis)
    fitted = (cols["transl"] + fit_pelvis) @ camera.rotation.T + camera.translation
    np.testing.assert_allclose(world.transl + scoring_pelvis, fitted, atol=1e-12)
    plain = body_to_world(cols["global_orient"], cols["transl"], fit_pelvis, camera)
    np.testing.assert_allclose(plain.transl - world.transl, scoring_pelvis - fit_pelvis, atol=1e-12)
