"""Per-chunk scene synthesis: pose bodies and objects, pick cameras, render, annotate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel, load_body_model
from hoirecon.data.synthetic.background import random_background
from hoirecon.data.synthetic.camera import SampledCameras, sample_cameras
from hoirecon.data.synthetic.estimators import correspondences, detect_keypoints, perturb_body
from hoirecon.data.synthetic.families import Draw, Family, get_family
from hoirecon.data.synthetic.placement import ObjectPlacement
from hoirecon.data.synthetic.landmarks import BodyLandmarks, coco_points, find_landmarks, joint_visibility
from hoirecon.objects import ObjectTemplate, get_category_template
from hoirecon.render import Camera, SceneMesh, render_scene, save_png

if TYPE_CHECKING:
    from hoirecon.data.synthetic.generator import SynthConfig

OBJECT_COLORS = {
    "baseball_bat": (0.72, 0.52, 0.30), "tennis_racket": (0.15, 0.55, 0.85), "basketball": (0.90, 0.45, 0.12),
    "barbell": (0.35, 0.35, 0.38), "yoga_ball": (0.55, 0.25, 0.75), "bicycle": (0.80, 0.10, 0.12),
    "skateboard": (0.20, 0.65, 0.35), "cello": (0.55, 0.28, 0.10), "violin": (0.62, 0.32, 0.12),
}


@dataclass(frozen=True)
class SceneContext:
    """Everything a chunk needs that does not change between chunks of one category."""

    category: str
    config: "SynthConfig"
    family: Family
    template: ObjectTemplate
    body: BodyModel
    landmarks: BodyLandmarks
    faces: np.ndarray
    pelvis_basis: np.ndarray
    """(11, 3) rest pelvis as an affine function of the betas: [1, betas] @ basis."""

    @classmethod
    def build(cls, category: str, config: "SynthConfig") -> "SceneContext":
        """Load the template, the embedded body and its landmarks for one category."""
        body = load_body_model(config.body_model)
        with torch.no_grad():
            rest = body()
        landmarks = find_landmarks(rest.vertices[0].numpy(), rest.joints[0].numpy())
        return cls(category, config, get_family(category), get_category_template(category), body, landmarks,
                   np.asarray(body.faces), _pelvis_basis(body))


def _pelvis_basis(body: BodyModel) -> np.ndarray:
    """The rest pelvis is linear in the betas (shape blend then a linear regressor): sample it exactly."""
    betas = torch.cat([torch.zeros(1, 10), torch.eye(10)])
    with torch.no_grad():
        pelvis = body(betas=betas).joints[:, 0].double().numpy()
    return np.concatenate([pelvis[:1], pelvis[1:] - pelvis[:1]])


def pose_bodies(body: BodyModel, betas: np.ndarray, body_pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Human-frame vertices (B, V, 3), joints (B, J, 3) and rest pelvis positions (B, 3)."""
    with torch.no_grad():
        out = body(betas=torch.as_tensor(betas, dtype=torch.float32),
                   body_pose=torch.as_tensor(body_pose, dtype=torch.float32))
    joints = out.joints.double().numpy()
    pelvis = joints[:, :1]
    return out.vertices.double().numpy() - pelvis, joints - pelvis, pelvis[:, 0]


def _camera_frame(points: np.ndarray, cam_rotation: np.ndarray, cam_center: np.ndarray) -> np.ndarray:
    return (points - cam_center) @ cam_rotation


def _project(points_cam: np.ndarray, k: np.ndarray) -> np.ndarray:
    uvw = points_cam @ k.T
    return uvw[:, :2] / uvw[:, 2:3]


def _body_estimate(ctx: SceneContext, rng: np.random.Generator, row: dict, pelvis_cam: np.ndarray) -> dict:
    est = perturb_body(rng, row["gt_betas"], row["gt_body_pose"], row["gt_global_orient"], pelvis_cam, ctx.config.noise)
    rest_pelvis = np.concatenate([[1.0], est["betas"]]) @ ctx.pelvis_basis
    return {"est_betas": est["betas"], "est_body_pose": est["body_pose"], "est_global_orient": est["global_orient"],
            "est_transl": est["pelvis_cam"] - rest_pelvis}


def _annotate(ctx: SceneContext, rng: np.random.Generator, scene: dict, result, k: np.ndarray) -> dict:
    """Keypoints, visibility and estimator outputs of one rendered image."""
    size = (ctx.config.image_size, ctx.config.image_size)
    t = ctx.template
    body_vis = joint_visibility(result.vertex_visible[0], ctx.landmarks)
    obj_vis = np.array([result.vertex_visible[1][ids].any() for ids in t.keypoint_vertex_ids])
    points = np.concatenate([scene["joints_cam"][:22], scene["obj_kp_cam"]])
    visible = np.concatenate([body_vis, obj_vis])
    uv, conf = detect_keypoints(rng, _project(points, k), visible, size, ctx.config.noise.keypoint_px)
    coco_uv = _project(scene["coco_cam"], k)
    coco_vis = result.vertex_visible[0][ctx.landmarks.face_vertices]
    coco_vis = np.concatenate([coco_vis, body_vis[[16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8]]])
    coco_det, coco_conf = detect_keypoints(rng, coco_uv, coco_vis, size, ctx.config.noise.keypoint_px)
    obj_det, obj_conf = detect_keypoints(rng, uv[22:], obj_vis, size, ctx.config.noise.object_keypoint_px)
    project = lambda p: _project(scene["obj_scale"] * p @ scene["obj_rot_cam"].T + scene["obj_t_cam"], k)  # noqa: E731
    pts, pix, w = correspondences(rng, t.vertices, result.vertex_visible[1], project, size, ctx.config.noise)
    return {"keypoints_2d": uv, "keypoint_conf": conf, "keypoint_visible": visible,
            "coco_keypoints": np.concatenate([coco_det, coco_conf[:, None]], axis=1),
            "est_object_keypoints_2d": obj_det, "est_object_keypoint_conf": obj_conf,
            "est_corr_points": pts, "est_corr_pixels": pix, "est_corr_weight": w}


def _write_images(root: Path, category: str, image_id: str, result) -> dict[str, str]:
    rel = {"image_file": f"images/{category}/{image_id}.png",
           "human_mask_file": f"masks/{category}/{image_id}.human.png",
           "object_mask_file": f"masks/{category}/{image_id}.object.png"}
    save_png(root / rel["image_file"], result.rgb)
    save_png(root / rel["human_mask_file"], result.instance == 1)
    save_png(root / rel["object_mask_file"], result.instance == 2)
    return rel


def _f32(row: dict) -> dict:
    return {k: (np.asarray(v, np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v) for k, v in row.items()}


@dataclass(frozen=True)
class Chunk:
    """A batch of posed bodies and objects (human frame) with their cameras."""

    draw: Draw
    betas: np.ndarray
    verts: np.ndarray
    joints: np.ndarray
    rest_pelvis: np.ndarray
    place: ObjectPlacement
    obj_verts: np.ndarray
    obj_kp: np.ndarray
    coco: np.ndarray
    cams: SampledCameras


def sample_chunk(ctx: SceneContext, rng: np.random.Generator, count: int) -> Chunk:
    """Draw ``count`` interactions of the category and a camera for each."""
    cfg, t = ctx.config, ctx.template
    draw = ctx.family.pose(rng, count)
    betas = np.clip(rng.normal(0.0, cfg.shape_std, (count, 10)), -2.5, 2.5)
    verts, joints, rest_pelvis = pose_bodies(ctx.body, betas, draw.body_pose)
    place = ctx.family.place(draw, joints[:, :22], t, rng)
    obj_verts = np.einsum("b,vj,bij->bvi", place.scale, t.vertices, place.rotation) + place.translation[:, None]
    obj_kp = np.einsum("b,kj,bij->bki", place.scale, t.keypoints, place.rotation) + place.translation[:, None]
    both = np.concatenate([verts, obj_verts], axis=1)
    center = 0.5 * (both.min(axis=1) + both.max(axis=1))
    radius = np.linalg.norm(both - center[:, None], axis=-1).max(axis=1)
    cams = sample_cameras(rng, center, radius, (cfg.image_size, cfg.image_size), cfg.camera)
    return Chunk(draw, betas, verts, joints, rest_pelvis, place, obj_verts, obj_kp,
                 coco_points(verts, joints, ctx.landmarks), cams)


def make_rows(ctx: SceneContext, root: Path, rng: np.random.Generator, start: int, count: int, split: str) -> list[dict]:
    """Synthesise, render and annotate ``count`` images; returns their annotation rows."""
    chunk = sample_chunk(ctx, rng, count)
    return [_one_image(ctx, root, rng, start + i, split, i, chunk) for i in range(count)]


def _one_image(ctx: SceneContext, root: Path, rng: np.random.Generator, index: int, split: str, i: int, c: Chunk) -> dict:
    cfg, place = ctx.config, c.place
    rot, center, k = c.cams.cam_rotation[i], c.cams.cam_center[i], c.cams.intrinsics[i]
    image_id = f"{ctx.category}_{index:06d}"
    scene = {
        "joints_cam": _camera_frame(c.joints[i], rot, center),
        "obj_kp_cam": _camera_frame(c.obj_kp[i], rot, center),
        "coco_cam": _camera_frame(c.coco[i], rot, center),
        "obj_rot_cam": rot.T @ place.rotation[i], "obj_t_cam": _camera_frame(place.translation[i], rot, center),
        "obj_scale": place.scale[i],
    }
    skin = rng.uniform(0.35, 0.85, 3)
    meshes = [SceneMesh(_camera_frame(c.verts[i], rot, center), ctx.faces, tuple(skin), "human"),
              SceneMesh(_camera_frame(c.obj_verts[i], rot, center), np.asarray(ctx.template.faces),
                        OBJECT_COLORS[ctx.category], "object")]
    camera = Camera(k, cfg.image_size, cfg.image_size)
    result = render_scene(meshes, camera, background=random_background(rng, cfg.image_size, cfg.image_size))
    pelvis_cam = _camera_frame(np.zeros(3), rot, center)
    row = {"image_id": image_id, "split": split, **_write_images(root, ctx.category, image_id, result),
           "image_size": np.array([cfg.image_size, cfg.image_size]), "intrinsics": k, "cam_rotation": rot,
           "cam_center": center, "has_gt": np.array(True), "gt_betas": c.betas[i],
           "gt_body_pose": c.draw.body_pose[i], "gt_global_orient": Rotation.from_matrix(rot.T).as_rotvec(),
           "gt_transl": pelvis_cam - c.rest_pelvis[i], "gt_joints_3d": c.joints[i, :22],
           "gt_object_rotation": place.rotation[i], "gt_object_translation": place.translation[i],
           "gt_object_scale": np.array(place.scale[i]), "gt_object_keypoints_3d": c.obj_kp[i],
           "has_estimate": np.array(True)}
    row.update(_annotate(ctx, rng, scene, result, k))
    row.update(_body_estimate(ctx, rng, row, pelvis_cam))
    return _f32(row)
