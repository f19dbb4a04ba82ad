import io
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from hoirecon.body import load_body_model
from hoirecon.fitting.optimize import FitConfig
from hoirecon.fitting.single import image_camera
from hoirecon.io.fits import FitResults, load_fits
from hoirecon.objects import get_category_template
from hoirecon.viz.outputs import (
    RECORD_FILE,
    CameraScene,
    ReconstructionOutputs,
    camera_scene,
    human_frame,
    reconstruction_record,
    scene_glb,
    views_image,
)


@pytest.fixture(scope="module")
def body():
    return load_body_model()


def _row(seed: int = 0) -> dict[str, np.ndarray]:
    """One fits row: a random pose in front of the camera, the object beside the pelvis."""
    rng = np.random.default_rng(seed)
    orient = Rotation.from_rotvec([0.2, np.pi + 0.3, 0.1])
    obj_h = Rotation.from_rotvec(rng.normal(size=3)).as_matrix()
    t_h = np.array([0.3, 0.1, 0.2])
    return {"betas": 0.5 * rng.normal(size=10), "body_pose": 0.2 * rng.normal(size=63),
            "global_orient": orient.as_rotvec(), "transl": np.array([0.1, -0.2, 3.0]),
            "object_rotation": obj_h, "object_translation": t_h, "object_scale": np.float64(1.1),
            "loss_body_keypoints": np.float64(0.01)}


def _with_camera_pose(body, row: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The row with its object in the camera frame too, as the fit writes it (p_cam = R_go p_h + pelvis)."""
    rec = human_frame(body, get_category_template("baseball_bat"), row)
    return {**row, "object_rotation_cam": rec.orient @ row["object_rotation"],
            "object_translation_cam": rec.orient @ row["object_translation"] + rec.pelvis}


def test_camera_scene_matches_the_human_frame_pictures(body) -> None:
    template = get_category_template("baseball_bat")
    row = _with_camera_pose(body, _row())
    scene, rec = camera_scene(body, template, row), human_frame(body, template, row)
    np.testing.assert_allclose(scene.body_vertices, rec.body_vertices @ rec.orient.T + rec.pelvis, atol=1e-4)
    np.testing.assert_allclose(scene.object_vertices, rec.object_vertices @ rec.orient.T + rec.pelvis, atol=1e-4)
    np.testing.assert_allclose(scene.joints[0], rec.pelvis, atol=1e-5)
    assert scene.joints.shape == (24, 3)


def test_moving_the_body_moves_its_joints_and_vertices_alike(body) -> None:
    template = get_category_template("basketball")
    row = _with_camera_pose(body, _row(1))
    moved = {**row, "transl": row["transl"] + [0.5, -0.1, 1.0]}
    a, b = camera_scene(body, template, row), camera_scene(body, template, moved)
    np.testing.assert_allclose(b.joints - a.joints, np.broadcast_to([0.5, -0.1, 1.0], a.joints.shape), atol=1e-5)
    np.testing.assert_allclose(b.body_vertices - a.body_vertices,
                               np.broadcast_to([0.5, -0.1, 1.0], a.body_vertices.shape), atol=1e-5)


def _glb_vertices(data: bytes) -> dict[str, np.ndarray]:
    """Each mesh's vertices in the glb's world frame (node transforms applied)."""
    loaded = trimesh.load(io.BytesIO(data), file_type="glb", process=False)
    return {name: np.asarray(loaded.geometry[name].vertices) @ loaded.graph.get(name)[0][:3, :3].T
            + loaded.graph.get(name)[0][:3, 3] for name in loaded.geometry}


def test_scene_file_round_trips_both_meshes_in_gltf_axes(body) -> None:
    template = get_category_template("skateboard")
    scene = camera_scene(body, template, _with_camera_pose(body, _row(2)))
    data = scene_glb(scene)
    loaded, world = trimesh.load(io.BytesIO(data), file_type="glb", process=False), _glb_vertices(data)
    for name, vertices, faces in (("body", scene.body_vertices, scene.body_faces),
                                  ("object", scene.object_vertices, scene.object_faces)):
        np.testing.assert_allclose(world[name], vertices * [1.0, -1.0, -1.0], atol=1e-5)
        np.testing.assert_array_equal(loaded.geometry[name].faces, faces)


def test_a_point_in_front_of_the_camera_lands_at_negative_z_in_the_glb() -> None:
    """glTF looks along -Z with +Y up: in front of the camera is -Z, above the image centre is +Y."""
    tri = np.array([[0, 1, 2]])
    ahead = np.array([[0.0, 0.0, 2.0], [0.1, 0.0, 2.0], [0.0, -0.5, 2.0]])  # 2 m ahead; the last above centre
    world = _glb_vertices(scene_glb(CameraScene(ahead, tri, ahead, ahead + [0, 0, 1.0], tri)))
    assert np.all(world["body"][:, 2] < 0) and np.all(world["object"][:, 2] < -2.5)
    assert world["body"][2, 1] > 0 and world["body"][1, 0] > 0  # up stays up, right stays right
    before, after = np.cross(ahead[1] - ahead[0], ahead[2] - ahead[0]), np.cross(*(world["body"][1:] - world["body"][0]))
    np.testing.assert_allclose(after, before * [1.0, -1.0, -1.0], atol=1e-9)  # a rotation: the winding is kept


def test_views_are_three_framed_panels_each_showing_the_scene(body) -> None:
    template = get_category_template("basketball")
    rec = human_frame(body, template, _row(3))
    image = views_image(rec, body.faces, template, size=64)
    assert image.shape == (64, 192, 3)
    for panel in np.split(image, 3, axis=1):
        assert (panel[16:] != panel[-1, -1]).any(axis=-1).sum() > 100  # below the label, something drawn


def _record(body, focal: float | None, tmp_path: Path) -> dict:
    from PIL import Image

    Image.new("RGB", (80, 60)).save(tmp_path / "photo.png")
    template = get_category_template("baseball_bat")
    row = _with_camera_pose(body, _row())
    return reconstruction_record(row, camera_scene(body, template, row), image_camera(tmp_path / "photo.png", focal),
                                 "baseball_bat", FitConfig(), {"image": "photo.png"}, ["a warning"])


def test_record_is_json_and_states_the_camera_and_the_losses(body, tmp_path: Path) -> None:
    record = json.loads(json.dumps(_record(body, None, tmp_path)))
    assert record["camera"]["focal"] == 80 and record["camera"]["focal_assumed"] is True
    assert record["camera"]["principal_point"] == [39.5, 29.5]
    assert "(x, -y, -z)" in record["camera"]["scene_glb_axes"]
    assert record["losses"] == {"body_keypoints": 0.01} and record["warnings"] == ["a warning"]
    assert np.array(record["object"]["rotation_cam"]).shape == (3, 3)
    assert _record(body, 120.0, tmp_path)["camera"]["focal_assumed"] is False


def test_outputs_write_every_file_and_leave_no_temp_files(body, tmp_path: Path) -> None:
    columns = {k: np.asarray(v)[None] for k, v in _with_camera_pose(body, _row()).items()}
    columns.update(image_id=np.array(["photo"]), joints_3d=np.zeros((1, 22, 3)))
    fits = FitResults("baseball_bat", columns)
    outputs = ReconstructionOutputs(np.zeros((6, 8, 3), np.uint8), np.zeros((4, 12, 3), np.uint8), b"glb",
                                    {"camera": {}}, fits, {"preset": "none"}, {"detection/keypoints.json": []})
    paths = outputs.write(tmp_path / "out")
    assert paths[-1].name == RECORD_FILE  # the record is the last file to appear
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()) \
        == sorted(p.relative_to(tmp_path / "out").as_posix() for p in paths)
    assert load_fits(tmp_path / "out", "baseball_bat").image_ids == ["photo"]
