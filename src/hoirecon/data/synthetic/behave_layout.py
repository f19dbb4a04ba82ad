"""A small synthetic BEHAVE tree in the release's exact layout, to try the RHOBIN tools without BEHAVE.

:func:`write_behave_tree` renders the embedded body and a procedural stand-in of a BEHAVE object
through four Kinect-like colour cameras and writes what a BEHAVE user has on disk::

    calibs/intrinsics/<k>/calibration.json       {"color": {fx, fy, cx, cy, width, height}}
    calibs/<Date>/config/<k>/config.json         {"rotation": 9 (camera -> world), "translation": 3}
    objects/<name>/<name>_f1000.ply              (chairs _f2500, tablesquare _f2000,
                                                  monitor monitor_closed_f1000), NOT centred
    split.json                                   {"train": [...], "test": [...]}
    sequences/<Date>_<Sub>_<obj>_<action>/info.json                {cat, gender, kinects, config, intrinsic}
    sequences/<seq>/<t####.###>/k<k>.color.jpg                      rendered image
    sequences/<seq>/<t####.###>/k<k>.color.json                     OpenPose body_joints (some all zeros)
    sequences/<seq>/<t####.###>/k<k>.person_mask.png, k<k>.obj_rend_mask.png, k<k>.obj_rend_full.png
    sequences/<seq>/<t####.###>/person/fit02/person_fit.pkl         {pose (156), betas (10), trans (3)}
    sequences/<seq>/<t####.###>/<obj>/fit01/<obj>_fit.pkl           {angle (3), trans (3)}

The world is camera k1's colour frame (its config is the identity). The fits are SMPL-H-layout
parameters of the embedded body (hand poses zero) and the object pose of the vertex-mean-centred
template, as in BEHAVE. Beside each image sit simulated estimator outputs, the evidence a track
reads: ``k<k>.body_estimate.npz`` (an HMR-style body with a camera translation, perturbed) and
``k<k>.obj_pose.json`` (an object pose estimate, perturbed). One frame of the first sequence puts
the object behind the person, so its visible fraction in k1 falls below RHOBIN's 0.3.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import trimesh
from PIL import Image
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel, load_body_model
from hoirecon.data.readers.openpose import SMPL_FROM_BODY25
from hoirecon.geometry import RigidTransform
from hoirecon.io.atomic import atomic_write_bytes, atomic_write_json
from hoirecon.objects.io import BEHAVE_OBJECTS, behave_template_file
from hoirecon.render import Camera, SceneMesh, masks, render_scene

BEHAVE_K = np.array([[979.784, 0.0, 1018.952], [0.0, 979.840, 779.486], [0.0, 0.0, 1.0]])
"""Colour intrinsics of BEHAVE's Kinect k1 at its native 2048 x 1536."""
BEHAVE_WIDTH = 2048
KINECTS = (0, 1, 2, 3)
DEFAULT_SEQUENCES = ("Date03_Sub03_boxmedium_hand", "Date03_Sub07_chairwood_sit")
FEMALE_SUBJECTS = ("Sub06", "Sub07", "Sub08")
"""BEHAVE's female subjects (01-05 are male)."""
HIDDEN_FRAME = 1
"""Frame index of the first sequence whose object sits behind the person."""


@dataclass(frozen=True)
class BehaveLayoutConfig:
    """What :func:`write_behave_tree` generates."""

    sequences: tuple[str, ...] = DEFAULT_SEQUENCES
    """Sequence names ``Date<xx>_Sub<xx>_<object>_<action>``; the object must be a BEHAVE object."""
    frames: int = 3
    """Frames per sequence."""
    width: int = 160
    """Image width in pixels (height 3/4 of it, BEHAVE's aspect)."""
    seed: int = 0
    """Random seed of poses, shapes and estimator noise."""


@dataclass(frozen=True)
class _Scene:
    """One frame's truth in the world (camera k1)."""

    pose: np.ndarray
    betas: np.ndarray
    trans: np.ndarray
    body_vertices: np.ndarray
    joints: np.ndarray
    obj_rotation: np.ndarray
    obj_translation: np.ndarray


def check_sequence_name(name: str) -> str:
    """The object of a BEHAVE sequence name; ValueError when the name does not follow the layout."""
    parts = name.split("_")
    if len(parts) < 4 or not parts[0].startswith("Date") or not parts[1].startswith("Sub"):
        raise ValueError(f"sequence {name!r}: expected Date<xx>_Sub<xx>_<object>_<action>")
    if parts[2] not in BEHAVE_OBJECTS:
        raise ValueError(f"sequence {name!r}: unknown BEHAVE object {parts[2]!r}")
    return parts[2]


def frame_name(index: int) -> str:
    """BEHAVE's frame folder name of the ``index``-th frame (a time in seconds: ``t0001.000``)."""
    return f"t{index + 1:04d}.000"


def intrinsics(width: int) -> np.ndarray:
    """BEHAVE's colour intrinsics scaled to an image ``width`` pixels wide."""
    K = BEHAVE_K.copy()
    K[:2] *= width / BEHAVE_WIDTH
    return K


def _look_at(center: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Camera -> world rotation of an OpenCV camera at ``center`` looking at ``target``, y down."""
    z = (target - center) / np.linalg.norm(target - center)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def kinect_poses() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """k -> (camera -> world rotation, camera centre); k1 is the world."""
    target = np.array([0.0, 0.0, 2.8])
    poses = {1: (np.eye(3), np.zeros(3))}
    for k, angle in ((0, -1.3), (2, 1.2), (3, 2.7)):
        center = target + 2.8 * np.array([np.sin(angle), -0.08, -np.cos(angle)])
        poses[k] = (_look_at(center, target), center)
    return poses


def object_mesh(name: str) -> trimesh.Trimesh:
    """A procedural stand-in for BEHAVE object ``name`` (metres, centred at the origin)."""
    if "ball" in name:
        return trimesh.creation.icosphere(subdivisions=2, radius=0.12 if name == "basketball" else 0.3)
    if "chair" in name or name == "stool":
        parts = [trimesh.creation.box((0.42, 0.04, 0.42), trimesh.transformations.translation_matrix((0, 0, 0)))]
        parts.append(trimesh.creation.box((0.42, 0.45, 0.04), trimesh.transformations.translation_matrix((0, -0.24, 0.19))))
        for x in (-0.18, 0.18):
            for z in (-0.18, 0.18):
                parts.append(trimesh.creation.box((0.04, 0.42, 0.04), trimesh.transformations.translation_matrix((x, 0.22, z))))
        return trimesh.util.concatenate(parts)
    return trimesh.creation.box((0.36, 0.26, 0.22))


def template_offset(seed: int) -> np.ndarray:
    """Where the written template's vertex mean lies (the readers must centre it)."""
    return np.random.default_rng(seed).uniform(-0.2, 0.2, 3)


def _pose_body(body: BodyModel, betas: np.ndarray, pose: np.ndarray, trans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) vertices and (24, 3) joints of the posed embedded body, world frame."""
    t = {k: torch.as_tensor(v[None], dtype=torch.float32) for k, v in
         {"betas": betas, "global_orient": pose[:3], "body_pose": pose[3:66], "transl": trans}.items()}
    with torch.no_grad():
        out = body(**t)
    return out.vertices[0].double().numpy(), out.joints[0].double().numpy()


def _rest_pelvis(body: BodyModel, betas: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return body(betas=torch.as_tensor(betas[None], dtype=torch.float32)).joints[0, 0].double().numpy()


def _scene(body: BodyModel, rng: np.random.Generator, hidden: bool) -> _Scene:
    """A person standing in front of k1 with the object in front of (or behind) them."""
    betas = rng.normal(0.0, 0.6, 10)
    orient = Rotation.from_euler("y", rng.uniform(-0.4, 0.4)) * Rotation.from_euler("x", np.pi)
    pose = np.zeros(156)
    pose[:3] = orient.as_rotvec()
    pose[3:66] = rng.normal(0.0, 0.12, 63)
    pelvis = np.array([rng.uniform(-0.2, 0.2), 0.15, 2.8 + rng.uniform(-0.2, 0.2)])
    trans = pelvis - _rest_pelvis(body, betas)
    vertices, joints = _pose_body(body, betas, pose, trans)
    offset = np.array([0.0, -0.25, 0.45]) if hidden else np.array([rng.uniform(-0.25, 0.25), 0.0, -0.5])
    obj_rotation = Rotation.from_euler("y", rng.uniform(-np.pi, np.pi)).as_matrix()
    return _Scene(pose, betas, trans, vertices, joints, obj_rotation, pelvis + offset)


def _encode(image: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def _pickle(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, pickle.dumps(data, protocol=2))


def _camera(K: np.ndarray, width: int, rotation: np.ndarray, center: np.ndarray) -> Camera:
    return Camera(K, width, width * 3 // 4, RigidTransform(rotation.T, -rotation.T @ center))


def _openpose(joints_cam: np.ndarray, K: np.ndarray, rng: np.random.Generator, empty: bool) -> dict:
    """BEHAVE's ``k*.color.json``: BODY_25 ``body_joints`` from the projected SMPL joints (noisy)."""
    body25 = np.zeros((25, 3))
    if not empty:
        uvw = joints_cam @ K.T
        pixels = uvw[:, :2] / uvw[:, 2:3] + rng.normal(0.0, 0.6, (len(joints_cam), 2))
        for smpl, op in {**SMPL_FROM_BODY25, 15: 0}.items():
            body25[op] = [*pixels[smpl], 0.85]
    return {"body_joints": body25.reshape(-1).tolist(), "face_joints": [0.0] * 210,
            "left_hand_joints": [0.0] * 63, "right_hand_joints": [0.0] * 63}


def _estimates(scene: _Scene, rest: np.ndarray, rotation: np.ndarray, center: np.ndarray,
               rng: np.random.Generator) -> tuple[bytes, dict]:
    """(body estimate .npz bytes, object pose JSON) of one view, both perturbed, camera frame."""
    noise = Rotation.from_rotvec(rng.normal(0.0, 0.05, 3))
    orient = noise * Rotation.from_matrix(rotation.T) * Rotation.from_rotvec(scene.pose[:3])
    pelvis = rotation.T @ (scene.trans + rest - center) + rng.normal(0.0, 0.03, 3)
    buffer = io.BytesIO()
    np.savez(buffer, betas=scene.betas + rng.normal(0.0, 0.2, 10), body_pose=scene.pose[3:66] + rng.normal(0.0, 0.05, 63),
             global_orient=orient.as_rotvec(), transl=pelvis - rest)
    obj_noise = Rotation.from_rotvec(rng.normal(0.0, 0.08, 3)).as_matrix()
    obj = {"rotation": (obj_noise @ rotation.T @ scene.obj_rotation).tolist(),
           "translation": (rotation.T @ (scene.obj_translation - center) + rng.normal(0.0, 0.03, 3)).tolist(), "scale": 1.0}
    return buffer.getvalue(), obj


def _write_view(frame: Path, k: int, scene: _Scene, body: BodyModel, template: trimesh.Trimesh, K: np.ndarray,
                width: int, pose: tuple[np.ndarray, np.ndarray], rng: np.random.Generator, empty_keypoints: bool) -> None:
    rotation, center = pose
    camera = _camera(K, width, rotation, center)
    obj_vertices = template.vertices @ scene.obj_rotation.T + scene.obj_translation
    person = SceneMesh(scene.body_vertices, body.faces, (0.8, 0.6, 0.5), "person")
    obj = SceneMesh(obj_vertices, np.asarray(template.faces), (0.3, 0.5, 0.8), "object")
    both = render_scene([person, obj], camera)
    full = masks(render_scene([obj], camera, shading=False))["object"]
    visible = masks(both)
    atomic_write_bytes(frame / f"k{k}.color.jpg", _encode(both.rgb, "JPEG"))
    for name, mask in (("person_mask", visible["person"]), ("obj_rend_mask", visible["object"]), ("obj_rend_full", full)):
        atomic_write_bytes(frame / f"k{k}.{name}.png", _encode(mask.astype(np.uint8) * 255, "PNG"))
    joints_cam = (scene.joints - center) @ rotation
    atomic_write_json(frame / f"k{k}.color.json", _openpose(joints_cam, K, rng, empty_keypoints))
    body_npz, obj_pose = _estimates(scene, _rest_pelvis(body, scene.betas), rotation, center, rng)
    atomic_write_bytes(frame / f"k{k}.body_estimate.npz", body_npz)
    atomic_write_json(frame / f"k{k}.obj_pose.json", obj_pose)


def _write_fits(frame: Path, name: str, scene: _Scene) -> None:
    _pickle(frame / "person" / "fit02" / "person_fit.pkl", {
        "pose": scene.pose.astype(np.float32), "betas": scene.betas.astype(np.float32),
        "trans": scene.trans.astype(np.float32)})
    _pickle(frame / name / "fit01" / f"{name}_fit.pkl", {
        "angle": Rotation.from_matrix(scene.obj_rotation).as_rotvec().astype(np.float32),
        "trans": scene.obj_translation.astype(np.float32)})


def _write_calibs(root: Path, dates: set[str], width: int) -> None:
    K = intrinsics(width)
    for k, (rotation, center) in kinect_poses().items():
        atomic_write_json(_mkdir(root / "calibs" / "intrinsics" / str(k)) / "calibration.json", {"color": {
            "fx": K[0, 0], "fy": K[1, 1], "cx": K[0, 2], "cy": K[1, 2], "width": width, "height": width * 3 // 4}})
        for date in dates:
            atomic_write_json(_mkdir(root / "calibs" / date / "config" / str(k)) / "config.json", {
                "rotation": rotation.reshape(-1).tolist(), "translation": center.tolist()})


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_template(root: Path, name: str, seed: int) -> trimesh.Trimesh:
    """Write the object's template file (off-centre, as released) and return it centred."""
    mesh = object_mesh(name)
    shifted = trimesh.Trimesh(np.asarray(mesh.vertices) + template_offset(seed), mesh.faces, process=False)
    atomic_write_bytes(_mkdir(root / "objects" / name) / behave_template_file(name), shifted.export(file_type="ply"))
    vertices = np.asarray(shifted.vertices, dtype=np.float64)
    return trimesh.Trimesh(vertices - vertices.mean(axis=0), mesh.faces, process=False)


def _write_sequence(root: Path, seq: str, index: int, config: BehaveLayoutConfig, body: BodyModel,
                    template: trimesh.Trimesh) -> None:
    folder = _mkdir(root / "sequences" / seq)
    date, subject, name = seq.split("_")[:3]
    gender = "female" if subject in FEMALE_SUBJECTS else "male"
    atomic_write_json(folder / "info.json", {
        "config": f"../../calibs/{date}/config", "intrinsic": "../../calibs/intrinsics", "cat": name,
        "gender": gender, "kinects": list(KINECTS), "empty": None})
    rng = np.random.default_rng([config.seed, index])
    K, poses = intrinsics(config.width), kinect_poses()
    for f in range(config.frames):
        frame = _mkdir(folder / frame_name(f))
        scene = _scene(body, rng, hidden=index == 0 and f == HIDDEN_FRAME)
        _write_fits(frame, name, scene)
        for k in KINECTS:
            empty = k != 1 and (f + k + index) % 4 == 0
            _write_view(frame, k, scene, body, template, K, config.width, poses[k], rng, empty)


def write_behave_tree(out: str | Path, config: BehaveLayoutConfig | None = None) -> Path:
    """Write a synthetic BEHAVE tree at ``out`` (see the module docstring); returns ``out``.

    Raises:
        ValueError: a sequence name that is not ``Date<xx>_Sub<xx>_<object>_<action>`` with a
            BEHAVE object, no frame, or an image narrower than 32 pixels.
    """
    config = config or BehaveLayoutConfig()
    objects = [check_sequence_name(s) for s in config.sequences]
    if config.frames < 1 or config.width < 32 or not config.sequences:
        raise ValueError(f"behave layout: need >= 1 sequence, >= 1 frame and width >= 32, got {config}")
    root = _mkdir(Path(out))
    body = load_body_model(None)
    _write_calibs(root, {s.split("_")[0] for s in config.sequences}, config.width)
    templates = {name: _write_template(root, name, config.seed + i) for i, name in enumerate(dict.fromkeys(objects))}
    for index, seq in enumerate(config.sequences):
        _write_sequence(root, seq, index, config, body, templates[seq.split("_")[2]])
    atomic_write_json(root / "split.json", {"train": [], "test": list(config.sequences)})
    return root
