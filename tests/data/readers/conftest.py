"""Small fake WildHOI and BEHAVE trees built from a known 3D configuration.

Every tree is generated from ground truth the fixtures keep (joints, object poses, cameras),
so tests can check the readers' numbers: projections, rays and poses in every camera. The
estimator files (OpenPose, FrankMocap, EPro-PnP / StackFLOW, object keypoints and poses) are
written by a fake estimator that reports the truth exactly, unless a test perturbs them.
"""

from __future__ import annotations

import functools
import io
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image
from scipy.spatial.transform import Rotation

from hoirecon.objects import get_category_template, load_behave_template

BODY25_FROM_SMPL = {8: 0, 12: 1, 9: 2, 13: 4, 10: 5, 14: 7, 11: 8, 1: 12, 5: 16, 2: 17, 6: 18, 3: 19, 7: 20, 4: 21}
"""OpenPose BODY_25 index -> SMPL joint whose projection the fake detector reports there."""


class FakeBody:
    """A linear stand-in body model: joints = rest + shape and pose offsets (pelvis pose-independent)."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.rest = rng.normal(0.0, 0.25, (24, 3))
        self.rest[0] = [0.01, -0.22, 0.03]
        self.shape_dirs = rng.normal(0.0, 0.02, (10, 24, 3))
        self.pose_dirs = rng.normal(0.0, 0.05, (63, 24, 3))
        self.pose_dirs[:, 0] = 0.0

    def joints(self, betas: np.ndarray, body_pose: np.ndarray) -> np.ndarray:
        """(24, 3) joints in the model frame (zero global orientation and translation)."""
        return self.rest + np.einsum("i,ijk->jk", betas, self.shape_dirs) + np.einsum(
            "i,ijk->jk", body_pose, self.pose_dirs)

    def __call__(self, *, betas: torch.Tensor, body_pose: torch.Tensor) -> SimpleNamespace:
        joints = self.joints(betas.double().numpy()[0], body_pose.double().numpy()[0])
        return SimpleNamespace(joints=torch.as_tensor(joints[None]))


def dump(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=2)


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


WILD_SIZE = (640, 480)
"""(width, height) of the WildHOI frames (principal point at the centre)."""
BEHAVE_SIZE = (2048, 1536)
"""(width, height) of BEHAVE's Kinect colour images, as the calibration says."""


@functools.cache
def _encoded(size: tuple[int, int], channels: int, value: int, suffix: str) -> bytes:
    """A constant image file's bytes (encoded once per kind: full-size frames are slow to encode)."""
    shape = (size[1], size[0], channels) if channels > 1 else (size[1], size[0])
    buffer = io.BytesIO()
    Image.fromarray(np.full(shape, value, np.uint8)).save(buffer, format="PNG" if suffix == ".png" else "JPEG")
    return buffer.getvalue()


def write_image(path: Path, size: tuple[int, int] = WILD_SIZE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_encoded(size, 3, 90, path.suffix))


def write_mask(path: Path, size: tuple[int, int] = BEHAVE_SIZE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_encoded(size, 1, 0, path.suffix))


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = points_cam @ K.T
    return uvw[:, :2] / uvw[:, 2:3]


def random_rotation(rng: np.random.Generator, max_angle: float = np.pi) -> np.ndarray:
    axis = rng.normal(size=3)
    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * rng.uniform(0.1, max_angle)).as_matrix()


# ------------------------------------------------------------------------- object estimators

def stackflow_pickle(path: Path, R: np.ndarray, t: np.ndarray, K: np.ndarray, rng: np.random.Generator,
                     scale: float = 1.0, pose: bool = False, n: int = 300) -> dict:
    """StackFLOW's EPro-PnP output ``{x3d, x2d, w2d, pose_opt?}`` (float32) for an object posed
    ``scale * X @ R.T + t`` in the camera; 30 rows have zero weight. Returns what was written."""
    x3d = rng.normal(0.0, 0.1, (n, 3))
    w2d = rng.uniform(0.05, 1.0, (n, 2))
    w2d[rng.choice(n, 30, replace=False)] = 0.0
    data = {"x3d": x3d.astype(np.float32), "x2d": project(scale * x3d @ R.T + t, K).astype(np.float32),
            "w2d": w2d.astype(np.float32)}
    if pose:
        x, y, z, w = Rotation.from_matrix(R).as_quat()
        data["pose_opt"] = np.array([*t, w, x, y, z], np.float32)
    dump(path, data)
    return data


def write_object_evidence(path: Path, kind: str, R: np.ndarray, t: np.ndarray, K: np.ndarray,
                          rng: np.random.Generator, keypoints: np.ndarray, scale: float = 1.0) -> None:
    """One object evidence file of ``kind``: 'pickle', 'pickle+pose', 'keypoints', 'pose' or 'json'."""
    if kind.startswith("pickle"):
        stackflow_pickle(path, R, t, K, rng, scale, pose=kind == "pickle+pose")
    elif kind == "keypoints":
        pix = project(scale * keypoints @ R.T + t, K)
        write_json(path, {"keypoints": np.c_[pix, np.full(len(pix), 0.9)].tolist()})
    elif kind == "pose":
        write_json(path, {"rotation": R.tolist(), "translation": t.tolist(), "scale": scale})
    else:
        points = rng.normal(0.0, 0.1, (40, 3))
        write_json(path, {"points": points.tolist(), "pixels": project(scale * points @ R.T + t, K).tolist(),
                          "weights": rng.uniform(0.5, 1.0, 40).tolist()})


# ----------------------------------------------------------------------------------- WildHOI

@dataclass
class WildFrame:
    """Known truth of one WildHOI frame."""

    betas: np.ndarray
    body_pose: np.ndarray
    joints: np.ndarray  # (22, 3) human frame
    obj_R: np.ndarray
    obj_t: np.ndarray
    obj_s: float
    object_points: np.ndarray  # (k, 3) human frame
    cam_R: np.ndarray  # human -> camera
    cam_T: np.ndarray  # pelvis in camera
    K: np.ndarray


@dataclass
class WildTree:
    root: Path
    body: FakeBody
    frames: dict[str, WildFrame] = field(default_factory=dict)


def wild_frame(rng: np.random.Generator, body: FakeBody, keypoints: np.ndarray, scale: float) -> WildFrame:
    betas, pose = rng.normal(0, 1, 10), rng.normal(0, 0.2, 63)
    raw = body.joints(betas, pose)[:22]
    joints = raw - raw[0]
    obj_R, obj_t = random_rotation(rng), rng.normal(0, 0.3, 3)
    cam_R = Rotation.from_euler("xyz", [np.pi + rng.normal(0, 0.2), rng.uniform(-1, 1), 0.1]).as_matrix()
    K = np.array([[1000.0, 0, 320.0], [0, 1010.0, 240.0], [0, 0, 1]])
    return WildFrame(betas, pose, joints, obj_R, obj_t, scale, scale * keypoints @ obj_R.T + obj_t,
                     cam_R, np.array([0.1, -0.2, 4.0]) + rng.normal(0, 0.1, 3), K)


def write_wild_track(base: Path, video: str, hoi: str, frames: dict[str, WildFrame], k: int) -> None:
    ids = list(frames)
    fr = list(frames.values())
    cam = [f.joints @ f.cam_R.T + f.cam_T for f in fr]
    obj = [f.object_points @ f.cam_R.T + f.cam_T for f in fr]
    dump(base / "hoi_kps" / video / f"{hoi}_hoi_kps.pkl", {
        "frame_ids": ids,
        "smpl_kps_seq": np.stack([project(c, f.K) for c, f in zip(cam, fr)]),
        "object_kps_seq": np.stack([project(o, f.K) for o, f in zip(obj, fr)])[:, :k],
        "cam_R_seq": np.stack([f.cam_R for f in fr]).astype(np.float32),
        "cam_T_seq": np.stack([f.cam_T.reshape(1, 3) for f in fr]),
        "focal_seq": np.stack([[f.K[0, 0], f.K[1, 1]] for f in fr]),
        "princpt_seq": np.stack([[f.K[0, 2], f.K[1, 2]] for f in fr]),
    })
    dump(base / "smpler_x" / video / f"{hoi}_smplx.pkl", [{
        "frame_id": i, "betas": f.betas.reshape(1, 10), "body_pose": f.body_pose.reshape(21, 3),
        "left_hand_pose": np.zeros((15, 3)), "right_hand_pose": np.zeros((15, 3)),
        "cam_R": f.cam_R, "cam_T": f.cam_T.reshape(1, 3), "focal": [f.K[0, 0], f.K[1, 1]],
        "princpt": [f.K[0, 2], f.K[1, 2]], "bbox": np.array([1.0, 2.0, 30.0, 40.0]),
    } for i, f in frames.items()])
    dump(base / "object_pose" / video / f"{hoi}_obj_RT.pkl", [
        {"rotmat": f.cam_R @ f.obj_R, "trans": f.cam_R @ f.obj_t + f.cam_T} for f in fr])
    for i in ids:
        write_image(base / "images_temp" / video / f"{i}.jpg")


def write_test_annotation(path: Path, f: WildFrame) -> None:
    dump(path, {"smplx_betas": f.betas, "smplx_body_pose": f.body_pose.reshape(21, 3),
                "smplx_lhand_pose": np.zeros((15, 3)), "smplx_rhand_pose": np.zeros((15, 3)),
                "obj_rel_rotmat": f.obj_R, "obj_rel_trans": f.obj_t,
                "object_scale": np.array([f.obj_s]), "hoi_rotmat": f.cam_R, "hoi_trans": f.cam_T,
                "focal": [f.K[0, 0], f.K[1, 1]], "princpt": [f.K[0, 2], f.K[1, 2]]})


WILD_EVIDENCE = {  # <video>_<hoi>_<frame> -> object evidence files under object_evidence/<video>/<hoi>/
    "0001_000_000001": {"obj_pose.json": "pose", "obj_coor.json": "json"},
    "0001_000_000002": {"obj_coor.pkl": "pickle"},
    "0002_000_000010": {"obj_keypoints.json": "keypoints", "obj_coor.pkl": "pickle+pose"},
    "0002_000_000011": {"obj_coor.json": "json"},
}


def write_wild_evidence(base: Path, tree: WildTree, rng: np.random.Generator, keypoints: np.ndarray) -> None:
    """A fake object estimator's files for the frames of :data:`WILD_EVIDENCE`."""
    for image_id, files in WILD_EVIDENCE.items():
        video, hoi, frame = image_id.split("_")
        f = tree.frames[image_id]
        R, t = f.cam_R @ f.obj_R, f.cam_R @ f.obj_t + f.cam_T
        for suffix, kind in files.items():
            write_object_evidence(base / "object_evidence" / video / hoi / f"{frame}.{suffix}", kind, R, t, f.K, rng,
                                  keypoints, f.obj_s)


def build_wildhoi(root: Path, seed: int = 0) -> WildTree:
    """Category 'baseball' (k = 2): train video 0001 (3 frames, the last without a fit),
    test video 0002 (2 frames, frame 000010 annotated with object scale 1.2); object evidence
    files (:data:`WILD_EVIDENCE`) for every frame with a fit."""
    rng = np.random.default_rng(seed)
    tree = WildTree(root, FakeBody(seed))
    kps = get_category_template("baseball_bat").keypoints
    base = root / "baseball"
    train = {f"00000{i}": wild_frame(rng, tree.body, kps, 1.0) for i in (1, 2, 3)}
    test = {"000010": wild_frame(rng, tree.body, kps, 1.2), "000011": wild_frame(rng, tree.body, kps, 1.0)}
    write_wild_track(base, "0001", "000", train, 2)
    write_wild_track(base, "0002", "000", test, 2)
    data = pickle.loads((base / "hoi_kps/0001/000_hoi_kps.pkl").read_bytes())
    data["smpl_kps_seq"][2, 5] = np.nan
    dump(base / "hoi_kps/0001/000_hoi_kps.pkl", data)
    write_test_annotation(base / "test" / "0002_000_000010.pkl", test["000010"])
    write_json(root / "train_test_split.json", {"baseball": {"train_videos": ["0001"], "test_videos": ["0002"]}})
    for vid, frames in (("0001", train), ("0002", test)):
        for i, f in frames.items():
            tree.frames[f"{vid}_000_{i}"] = f
    write_wild_evidence(base, tree, rng, kps)
    return tree


@pytest.fixture
def wildhoi_tree(tmp_path: Path) -> WildTree:
    return build_wildhoi(tmp_path / "wildhoi")


# ------------------------------------------------------------------------------------ BEHAVE

@dataclass
class BehaveFrame:
    """Known truth of one BEHAVE frame (world = camera k1)."""

    pose: np.ndarray
    betas: np.ndarray
    trans: np.ndarray
    pelvis: np.ndarray
    joints_world: np.ndarray  # (22, 3)
    obj_R: np.ndarray
    obj_t: np.ndarray


@dataclass
class BehaveTree:
    root: Path
    body: FakeBody
    cameras: dict[int, tuple[np.ndarray, np.ndarray]]  # k -> (R camera->world, t)
    K: np.ndarray
    frames: dict[str, BehaveFrame] = field(default_factory=dict)  # "<seq>/<frame>" -> truth
    evidence: dict[str, str] = field(default_factory=dict)  # image id -> object evidence file written

    def view_pose(self, truth: BehaveFrame, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(body rotation, pelvis, object rotation, object translation) in camera k."""
        R_k, t_k = self.cameras[k]
        body_R = R_k.T @ Rotation.from_rotvec(truth.pose[:3]).as_matrix()
        return body_R, R_k.T @ (truth.pelvis - t_k), R_k.T @ truth.obj_R, R_k.T @ (truth.obj_t - t_k)


def look_at(center: np.ndarray, target: np.ndarray) -> np.ndarray:
    z = (target - center) / np.linalg.norm(target - center)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def behave_cameras() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    target = np.array([0.0, 0.0, 3.0])
    cams = {1: (np.eye(3), np.zeros(3))}
    for k, angle in ((0, -1.2), (2, 1.0), (3, 2.6)):
        center = target + 3.0 * np.array([np.sin(angle), 0.1, -np.cos(angle)])
        cams[k] = (look_at(center, target), center)
    return cams


def behave_frame(rng: np.random.Generator, body: FakeBody) -> BehaveFrame:
    pose = np.concatenate([Rotation.from_euler("xyz", [np.pi, rng.uniform(-2, 2), 0.1]).as_rotvec(),
                           rng.normal(0, 0.2, 63), rng.normal(0, 0.1, 90)])
    betas = rng.normal(0, 1, 10)
    raw = body.joints(betas, pose[3:66])[:22]
    pelvis = np.array([0.0, 0.1, 3.0]) + rng.normal(0, 0.1, 3)
    R = Rotation.from_rotvec(pose[:3]).as_matrix()
    return BehaveFrame(pose, betas, pelvis - raw[0], pelvis, (raw - raw[0]) @ R.T + pelvis,
                       random_rotation(rng), pelvis + np.array([0.3, 0.2, 0.1]))


def write_openpose(path: Path, joints_world: np.ndarray, cam: tuple[np.ndarray, np.ndarray], K: np.ndarray,
                   rng: np.random.Generator, zero: bool = False) -> None:
    body25 = np.zeros((25, 3))
    if not zero:
        pix = project((joints_world - cam[1]) @ cam[0], K)
        body25[:, :2] = rng.uniform(100, 900, (25, 2))
        body25[:, 2] = 0.8
        for op, smpl in BODY25_FROM_SMPL.items():
            body25[op, :2] = pix[smpl]
    write_json(path, {"body_joints": body25.reshape(-1).tolist(), "face_joints": []})


OBJ_MASKS = {0: "obj_rend_mask.png", 1: "obj_rend_mask.jpg", 2: "obj_mask.png", 3: "obj_mask.jpg"}

BEHAVE_EVIDENCE = {  # (sequence object, frame, k) -> (object evidence file, kind); "{root}" = the release root
    ("chairwood", "t0003.000", 0): ("k0.obj_coor.pkl", "pickle"),
    ("chairwood", "t0003.000", 1): ("k1.object_coor.chairwood.pkl", "pickle"),
    ("chairwood", "t0003.000", 2): ("{root}/epro_pnp/Date03_Sub03_chairwood_hand/t0003.000/k2.obj_coor.pkl", "pickle"),
    ("chairwood", "t0003.000", 3): ("k3.obj_keypoints.json", "keypoints"),
    ("chairwood", "t0004.000", 0): ("k0.obj_pose.json", "pose"),
    ("chairwood", "t0004.000", 1): ("k1.obj_coor.pkl", "pickle+pose"),
    ("chairwood", "t0004.000", 2): ("k2.obj_coor.json", "json"),
    ("chairwood", "t0004.000", 3): ("k3.obj_coor.pkl", "pickle"),
}
"""Object evidence of the chair's views; every basketball view has ``k<k>.obj_coor.pkl``."""


def estimate_views(obj: str, frame: str) -> set[int]:
    """Views whose body estimate is ``k<k>.body_estimate.npz`` (with ``transl``) besides the
    FrankMocap ``k<k>.mocap.json`` every view has: k0, the ball, and the all-zero OpenPose view."""
    return {0, 1, 2, 3} if obj == "basketball" else {0, 2} if frame == "t0004.000" else {0}


def write_body_estimates(folder: Path, truth: BehaveFrame, tree: BehaveTree, k: int, npz: bool) -> None:
    """FrankMocap ``k<k>.mocap.json`` {pose 72, betas 10} (camera k's orientation, no translation)
    and, when ``npz``, our ``k<k>.body_estimate.npz`` with the model's ``transl`` in camera k."""
    body_R, pelvis, _, _ = tree.view_pose(truth, k)
    orient = Rotation.from_matrix(body_R).as_rotvec()
    write_json(folder / f"k{k}.mocap.json", {"pose": np.concatenate([orient, truth.pose[3:66], np.zeros(6)]).tolist(),
                                             "betas": truth.betas.tolist()})
    if npz:
        rest = tree.body.joints(truth.betas, truth.pose[3:66])[0]
        np.savez(folder / f"k{k}.body_estimate.npz", betas=truth.betas[None], body_pose=truth.pose[3:66],
                 global_orient=orient, transl=pelvis - rest)


def write_behave_frame(folder: Path, truth: BehaveFrame, fit_folder: str, tree: BehaveTree,
                       rng: np.random.Generator, zero_view: int | None = None) -> None:
    dump(folder / "person" / "fit02" / "person_fit.pkl",
         {"pose": truth.pose, "betas": truth.betas, "trans": truth.trans})
    dump(folder / fit_folder / "fit01" / f"{fit_folder}_fit.pkl",
         {"angle": Rotation.from_matrix(truth.obj_R).as_rotvec(), "trans": truth.obj_t})
    obj = "chairwood" if fit_folder == "chair" else "basketball"
    keypoints = load_behave_template(tree.root, obj).keypoints
    for k, cam in tree.cameras.items():
        write_image(folder / f"k{k}.color.jpg", BEHAVE_SIZE)
        write_mask(folder / f"k{k}.person_mask.jpg")
        write_mask(folder / f"k{k}.{OBJ_MASKS[k]}")
        write_openpose(folder / f"k{k}.color.json", truth.joints_world, cam, tree.K, rng, zero=k == zero_view)
        write_body_estimates(folder, truth, tree, k, k in estimate_views(obj, folder.name))
        name, kind = BEHAVE_EVIDENCE.get((obj, folder.name, k), (f"k{k}.obj_coor.pkl", "pickle"))
        path = Path(name.format(root=tree.root)) if name.startswith("{root}") else folder / name
        _, _, obj_R, obj_t = tree.view_pose(truth, k)
        write_object_evidence(path, kind, obj_R, obj_t, tree.K, rng, keypoints)
        tree.evidence[f"{folder.parent.name}_{folder.name}_k{k}"] = kind


def write_behave_calibs(root: Path, tree: BehaveTree) -> None:
    for k, (R, t) in tree.cameras.items():
        write_json(root / "calibs" / "intrinsics" / str(k) / "calibration.json", {"color": {
            "fx": tree.K[0, 0], "fy": tree.K[1, 1], "cx": tree.K[0, 2], "cy": tree.K[1, 2],
            "width": BEHAVE_SIZE[0], "height": BEHAVE_SIZE[1], "opencv": [0.0] * 12}})
        write_json(root / "calibs" / "Date03" / "config" / str(k) / "config.json",
                   {"rotation": R.reshape(-1).tolist(), "translation": t.tolist()})


def write_behave_objects(root: Path) -> None:
    for name, file in (("chairwood", "chairwood_f2500.ply"), ("basketball", "basketball_f1000.ply")):
        mesh = trimesh.creation.box(extents=(0.4, 0.8, 0.5)) if name == "chairwood" \
            else trimesh.creation.icosphere(subdivisions=1, radius=0.12)
        mesh.vertices += np.array([1.0, 2.0, 3.0])  # the loader centres it
        (root / "objects" / name).mkdir(parents=True, exist_ok=True)
        mesh.export(root / "objects" / name / file)
    write_json(root / "objects" / "chairwood" / "chairwood_f2500.keypoints.json",
               {"keypoints": {"seat": [0, 1], "back": [6, 7]}})


SEQUENCES = {  # name -> (object, fit folder, gender, frames)
    "Date03_Sub03_chairwood_hand": ("chairwood", "chair", "male", ("t0003.000", "t0004.000")),
    "Date03_Sub04_basketball": ("basketball", "sports ball", "female", ("t0001.000",)),
}


def build_behave(root: Path, seed: int = 0) -> BehaveTree:
    """Two sequences, four cameras, a chair fit under 'chair/' and a ball under 'sports ball/',
    the four object-mask spellings (one per camera), an all-zero OpenPose file (k2, t0004),
    FrankMocap estimates everywhere (ours with a translation in some views, see
    :func:`estimate_views`) and object evidence in every view (:data:`BEHAVE_EVIDENCE`)."""
    rng = np.random.default_rng(seed)
    K = np.array([[979.784, 0, 1018.952], [0, 979.840, 779.486], [0, 0, 1]])
    tree = BehaveTree(root, FakeBody(seed), behave_cameras(), K)
    write_behave_calibs(root, tree)
    write_behave_objects(root)
    for seq, (obj, fit_folder, gender, frames) in SEQUENCES.items():
        write_json(root / "sequences" / seq / "info.json", {
            "cat": obj, "gender": gender, "kinects": [0, 1, 2, 3], "beta": None, "empty": None,
            "config": "../../calibs/Date03/config", "intrinsic": "../../calibs/intrinsics"})
        for frame in frames:
            truth = behave_frame(rng, tree.body)
            zero = 2 if frame == "t0004.000" else None
            write_behave_frame(root / "sequences" / seq / frame, truth, fit_folder, tree, rng, zero)
            tree.frames[f"{seq}/{frame}"] = truth
    write_json(root / "split.json", {"train": ["Date03_Sub03_chairwood_hand"], "test": ["Date03_Sub04_basketball"]})
    return tree


@pytest.fixture
def behave_tree(tmp_path: Path) -> BehaveTree:
    return build_behave(tmp_path / "behave")
