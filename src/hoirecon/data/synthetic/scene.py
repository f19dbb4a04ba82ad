"""Per-chunk scene synthesis: pose bodies and objects, pick cameras, render, annotate.

The ``gt_*`` columns are the truth. Everything else a fit may read is simulated evidence
(:mod:`hoirecon.data.synthetic.observation`): COCO-17 detections, detector masks, an HMR body
and object detections; the camera in the human frame and the 22-joint layout come from the
ESTIMATED body, never from the true one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel, load_body_model
from hoirecon.body.landmarks import (
    COCO_FROM_JOINTS,
    BodyLandmarks,
    coco_points,
    find_landmarks,
    joint_visibility,
)
from hoirecon.data.synthetic.appearance import dress, face_regions
from hoirecon.data.synthetic.background import random_background
from hoirecon.data.synthetic.camera import SampledCameras, sample_cameras
from hoirecon.data.synthetic.catalog import get_family
from hoirecon.data.synthetic.config import SynthConfig
from hoirecon.data.synthetic.detector2d import (
    COCO_LAYOUT,
    Detection,
    KeypointLayout,
    KeypointTruth,
    box_scale,
    detect_keypoints,
    object_layout,
)
from hoirecon.data.synthetic.estimators import correspondences
from hoirecon.data.synthetic.families import Draw, Family
from hoirecon.data.synthetic.hmr import (
    calibrate_pose_std,
    camera_from_body,
    human_frame_joints,
    project_human_frame,
    simulate_hmr,
)
from hoirecon.data.synthetic.masks import detector_mask
from hoirecon.data.synthetic.observation import OBJECT_SIGMA, HmrConfig, ObservationConfig
from hoirecon.data.synthetic.placement import ObjectPlacement
from hoirecon.geometry import project_points
from hoirecon.objects import ObjectTemplate, get_category_template
from hoirecon.render import Camera, SceneMesh, render_scene, save_png

OBJECT_COLORS = {
    "baseball_bat": (0.72, 0.52, 0.30), "tennis_racket": (0.15, 0.55, 0.85), "basketball": (0.90, 0.45, 0.12),
    "barbell": (0.35, 0.35, 0.38), "yoga_ball": (0.55, 0.25, 0.75), "bicycle": (0.80, 0.10, 0.12),
    "skateboard": (0.20, 0.65, 0.35), "cello": (0.55, 0.28, 0.10), "violin": (0.62, 0.32, 0.12),
}


@dataclass(frozen=True)
class SceneContext:
    """Everything a chunk needs that does not change between chunks of one category."""

    category: str
    config: SynthConfig
    family: Family
    template: ObjectTemplate
    body: BodyModel
    landmarks: BodyLandmarks
    faces: np.ndarray
    pelvis_basis: np.ndarray
    """(11, 3) rest pelvis as an affine function of the betas: [1, betas] @ basis."""
    observation: ObservationConfig
    """Error levels of the simulated evidence."""
    object_layout: KeypointLayout
    """The object keypoint detector's layout (sigmas, left/right pairs)."""
    pose_std: float
    """HMR pose-noise std (radians) calibrated to the observation's PA-MPJPE on this category."""
    face_region: np.ndarray
    """(F,) body region of each face (``appearance.face_regions``), for dressed renders."""

    @classmethod
    def build(cls, category: str, config: SynthConfig) -> SceneContext:
        """Load the template, the embedded body and its landmarks; calibrate the HMR noise."""
        body = load_body_model(config.body_model)
        with torch.no_grad():
            rest = body()
        landmarks = find_landmarks(rest.vertices[0].numpy(), rest.joints[0].numpy())
        family, template, obs = get_family(category), get_category_template(category), config.resolved_observation()
        layout = object_layout(tuple(template.keypoint_names), obs.object.sigma or OBJECT_SIGMA)
        faces = np.asarray(body.faces)
        return cls(category, config, family, template, body, landmarks, faces, _pelvis_basis(body),
                   obs, layout, _calibrated_pose_std(config.body_model, category, obs.hmr, config.shape_std),
                   face_regions(rest.vertices[0].numpy(), rest.joints[0].numpy(), faces))


@functools.lru_cache(maxsize=64)
def _calibrated_pose_std(body_model: str | None, category: str, hmr: HmrConfig, shape_std: float) -> float:
    """Calibrate the HMR pose noise on 256 typical bodies of the category (fixed seed, cached)."""
    rng = np.random.default_rng(0)
    draw = get_family(category).pose(rng, 256)
    betas = np.clip(rng.normal(0.0, shape_std, (256, 10)), -2.5, 2.5)
    return calibrate_pose_std(load_body_model(body_model), betas, draw.body_pose, hmr)


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


def _instance_truth(instance: np.ndarray, uv: np.ndarray, visible: np.ndarray, target: int, other: int,
                    size: tuple[int, int]) -> KeypointTruth:
    """What the renderer says about the true points (P, 2) of instance ``target``."""
    mask = instance == target
    pix = np.clip(np.round(uv).astype(int), 0, np.array(size) - 1)
    inside = (uv >= 0).all(axis=1) & (uv <= np.array(size, float) - 1.0).all(axis=1)
    behind_other = ~visible & inside & (instance[pix[:, 1], pix[:, 0]] == other)
    pixels = np.argwhere(mask)[:, ::-1].astype(float)
    return KeypointTruth(uv, visible, behind_other, box_scale(mask, uv, size), pixels)


def _detections(ctx: SceneContext, rng: np.random.Generator, scene: dict, result, k: np.ndarray) -> tuple[Detection, Detection]:
    """The COCO-17 body detection and the object keypoint detection of one rendered image.

    The true camera keeps the whole scene in front of it (:func:`sample_cameras`), so a point
    behind it is a broken camera and ``project_points`` raises.
    """
    size, obs, t = (ctx.config.image_size, ctx.config.image_size), ctx.observation, ctx.template
    body_vis = joint_visibility(result.vertex_visible[0], ctx.landmarks)
    coco_vis = np.concatenate([result.vertex_visible[0][ctx.landmarks.face_vertices], body_vis[list(COCO_FROM_JOINTS)]])
    coco = _instance_truth(result.instance, project_points(scene["coco_cam"], k), coco_vis, 1, 2, size)
    obj_vis = np.array([result.vertex_visible[1][ids].any() for ids in t.keypoint_vertex_ids])
    obj = _instance_truth(result.instance, project_points(scene["obj_kp_cam"], k), obj_vis, 2, 1, size)
    return (detect_keypoints(rng, coco, COCO_LAYOUT, obs.body, size),
            detect_keypoints(rng, obj, ctx.object_layout, obs.object, size))


def layout_confidence(coco_conf: np.ndarray, joint_conf: float) -> np.ndarray:
    """(22,) confidence of the 22-joint layout: the COCO detector's where a joint has a COCO twin."""
    conf = np.full(22, joint_conf)
    conf[list(COCO_FROM_JOINTS)] = coco_conf[5:]
    return conf


def _annotate(ctx: SceneContext, rng: np.random.Generator, scene: dict, result, k: np.ndarray, est: dict) -> dict:
    """Evidence columns of one rendered image; ``est`` holds its estimated body and camera."""
    size, t = (ctx.config.image_size, ctx.config.image_size), ctx.template
    coco, obj = _detections(ctx, rng, scene, result, k)
    uv22 = project_human_frame(est["joints"], est["cam_rotation"], est["cam_center"], k)
    conf = np.concatenate([layout_confidence(coco.conf, ctx.observation.hmr.joint_conf), obj.conf])
    project = lambda p: project_points(scene["obj_scale"] * p @ scene["obj_rot_cam"].T + scene["obj_t_cam"], k)  # noqa: E731
    pts, pix, w = correspondences(rng, t.vertices, result.vertex_visible[1], project, size, ctx.observation.corr)
    return {"keypoints_2d": np.concatenate([uv22, obj.uv]), "keypoint_conf": conf, "keypoint_visible": conf > 0,
            "coco_keypoints": np.concatenate([coco.uv, coco.conf[:, None]], axis=1),
            "cam_rotation": est["cam_rotation"], "cam_center": est["cam_center"],
            "est_object_keypoints_2d": obj.uv, "est_object_keypoint_conf": obj.conf,
            "est_corr_points": pts, "est_corr_pixels": pix, "est_corr_weight": w}


def _write_images(root: Path, category: str, image_id: str, rgb: np.ndarray, human: np.ndarray,
                  obj: np.ndarray) -> dict[str, str]:
    rel = {"image_file": f"images/{category}/{image_id}.png",
           "human_mask_file": f"masks/{category}/{image_id}.human.png",
           "object_mask_file": f"masks/{category}/{image_id}.object.png"}
    save_png(root / rel["image_file"], rgb)
    save_png(root / rel["human_mask_file"], human)
    save_png(root / rel["object_mask_file"], obj)
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


def estimate_bodies(ctx: SceneContext, rng: np.random.Generator, c: Chunk) -> list[dict]:
    """HMR estimates of a chunk's bodies, with the camera and human-frame joints derived from them.

    Each dict holds the ``est_*`` columns plus ``joints`` (22, 3), ``cam_rotation`` (3, 3) and
    ``cam_center`` (3,) of the estimated body's human frame.
    """
    rot, center = c.cams.cam_rotation, c.cams.cam_center
    orient = Rotation.from_matrix(np.swapaxes(rot, 1, 2)).as_rotvec()
    pelvis_cam = -np.einsum("bi,bij->bj", center, rot)
    est = simulate_hmr(rng, c.betas, c.draw.body_pose, orient, pelvis_cam, ctx.pose_std, ctx.observation.hmr)
    joints = human_frame_joints(ctx.body, est.betas, est.body_pose)
    cam_rotation, cam_center = camera_from_body(est.global_orient, est.pelvis_cam)
    rest = np.concatenate([np.ones((len(est.betas), 1)), est.betas], axis=1) @ ctx.pelvis_basis
    return [{"est_betas": est.betas[i], "est_body_pose": est.body_pose[i], "est_global_orient": est.global_orient[i],
             "est_transl": est.pelvis_cam[i] - rest[i], "joints": joints[i], "cam_rotation": cam_rotation[i],
             "cam_center": cam_center[i]} for i in range(len(est.betas))]


def make_rows(ctx: SceneContext, root: Path, rng: np.random.Generator, start: int, count: int, split: str) -> list[dict]:
    """Synthesise, render and annotate ``count`` images; returns their annotation rows."""
    chunk = sample_chunk(ctx, rng, count)
    estimates = estimate_bodies(ctx, rng, chunk)
    return [_one_image(ctx, root, rng, start + i, split, i, chunk, estimates[i]) for i in range(count)]


@dataclass(frozen=True)
class Look:
    """How one image looks when it is not drawn at random: the body's region colours and the scene."""

    colours: np.ndarray
    """(3, 3) RGB of the body regions (``appearance.REGIONS``)."""
    background: np.ndarray
    """(H, W, 3) uint8 background."""


def _render(ctx: SceneContext, rng: np.random.Generator, c: Chunk, i: int, look: Look | None = None):
    """Render image ``i``: a random skin colour and background, or the given ``look`` (its body
    drawn white, then dressed region by region)."""
    rot, center, k = c.cams.cam_rotation[i], c.cams.cam_center[i], c.cams.intrinsics[i]
    size = ctx.config.image_size
    skin = rng.uniform(0.35, 0.85, 3) if look is None else np.ones(3)
    meshes = [SceneMesh(_camera_frame(c.verts[i], rot, center), ctx.faces, tuple(skin), "human"),
              SceneMesh(_camera_frame(c.obj_verts[i], rot, center), np.asarray(ctx.template.faces),
                        OBJECT_COLORS[ctx.category], "object")]
    background = random_background(rng, size, size) if look is None else look.background.copy()
    result = render_scene(meshes, Camera(k, size, size), background=background)
    if look is not None:
        result = replace(result, rgb=dress(result.rgb, result.instance, result.hit_face, ctx.face_region, look.colours))
    return result


def _ground_truth(c: Chunk, i: int) -> dict:
    rot, center, place = c.cams.cam_rotation[i], c.cams.cam_center[i], c.place
    return {"has_gt": np.array(True), "gt_betas": c.betas[i], "gt_body_pose": c.draw.body_pose[i],
            "gt_global_orient": Rotation.from_matrix(rot.T).as_rotvec(),
            "gt_transl": _camera_frame(np.zeros(3), rot, center) - c.rest_pelvis[i], "gt_joints_3d": c.joints[i, :22],
            "gt_object_rotation": place.rotation[i], "gt_object_translation": place.translation[i],
            "gt_object_scale": np.array(place.scale[i]), "gt_object_keypoints_3d": c.obj_kp[i],
            "gt_cam_rotation": rot, "gt_cam_center": center}


def _one_image(ctx: SceneContext, root: Path, rng: np.random.Generator, index: int, split: str, i: int, c: Chunk,
               est: dict, look: Look | None = None) -> dict:
    rot, center, k, place = c.cams.cam_rotation[i], c.cams.cam_center[i], c.cams.intrinsics[i], c.place
    image_id = f"{ctx.category}_{index:06d}"
    scene = {
        "obj_kp_cam": _camera_frame(c.obj_kp[i], rot, center), "coco_cam": _camera_frame(c.coco[i], rot, center),
        "obj_rot_cam": rot.T @ place.rotation[i], "obj_t_cam": _camera_frame(place.translation[i], rot, center),
        "obj_scale": place.scale[i],
    }
    result = _render(ctx, rng, c, i, look)
    row = {"image_id": image_id, "split": split, "image_size": np.array([ctx.config.image_size] * 2),
           "intrinsics": k, **_ground_truth(c, i), "has_estimate": np.array(True),
           **{key: v for key, v in est.items() if key.startswith("est_")}}
    row.update(_annotate(ctx, rng, scene, result, k, est))
    human = detector_mask(rng, result.instance, 1, 2, ctx.observation.masks)
    obj = detector_mask(rng, result.instance, 2, 1, ctx.observation.masks)
    row.update(_write_images(root, ctx.category, image_id, result.rgb, human, obj))
    return _f32(row)
