"""Interaction instances filmed by several cameras, each a short clip: the internet's multi-view structure.

The paper's grouping rests on the same kind of interaction being photographed from many
viewpoints. Here an *instance* (one person doing one thing with one object) is drawn from the
category's family, moves along a short clip (its joint angles drift at a constant random speed,
the object keeps its grip because it is placed again from the moved joints with the same random
draws), and is filmed by ``views_per_instance`` independent static cameras, ``frames_per_clip``
frames each. A chunk holds whole instances, images ordered instance, view, frame.

What a collection knows is evidence: which video an image is a frame of and the frame index
(``video_id``, ``frame_index``; video ids are hashes that do not reveal the instance). Which images
show the same instance is truth (``gt_instance_id``), read by evaluation and ablations only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.body.landmarks import coco_points
from hoirecon.data.synthetic.appearance import outfits
from hoirecon.data.synthetic.background import random_background
from hoirecon.data.synthetic.camera import SampledCameras, sample_cameras
from hoirecon.data.synthetic.config import SynthConfig
from hoirecon.data.synthetic.families import Draw
from hoirecon.data.synthetic.placement import ObjectPlacement
from hoirecon.data.synthetic.scene import Chunk, Look, SceneContext, _one_image, estimate_bodies, pose_bodies

FRAME_START_MAX = 500
"""Clips start at a random frame below this (frame indices look like a video's, not like 0, 1, 2)."""


@dataclass(frozen=True)
class ClipInfo:
    """Per image of a chunk: its instance, video and frame, and how it looks."""

    instance: np.ndarray
    """(B,) instance number within the category (truth)."""
    video_id: list[str]
    """(B,) id of the video (one per instance and camera)."""
    frame_index: np.ndarray
    """(B,) frame index within the video."""
    colours: np.ndarray
    """(B, 3, 3) colours of the body regions (``appearance.REGIONS``)."""
    backgrounds: list[np.ndarray]
    """(B,) background image (H, W, 3) uint8, shared by a video's frames."""


@dataclass(frozen=True)
class ChunkLayout:
    """How B images of a chunk map onto its instances, cameras and frames."""

    instance: np.ndarray
    """(B,) index of the instance within the chunk."""
    camera: np.ndarray
    """(B,) index of the camera (instance x view) within the chunk."""
    frame: np.ndarray
    """(B,) frame within the clip."""

    @classmethod
    def of(cls, count: int, views: int, frames: int) -> ChunkLayout:
        """Images ordered instance, view, frame."""
        j = np.arange(count)
        instance, rest = np.divmod(j, views * frames)
        return cls(instance, instance * views + rest // frames, rest % frames)


def widen(draw: Draw, rng: np.random.Generator, spread: float) -> Draw:
    """The draw with N(0, spread) radians added to every body joint angle (a wider family)."""
    if spread <= 0:
        return draw
    return Draw(draw.body_pose + rng.normal(0.0, spread, draw.body_pose.shape), draw.mode, draw.latent)


def clip_poses(draw: Draw, rng: np.random.Generator, frames: int, motion: float) -> np.ndarray:
    """Body poses (frames, n, 63) of n instances moving at constant joint speeds ~ N(0, motion) per
    frame, centred on the drawn pose (the clip's middle frame is the drawn interaction)."""
    velocity = rng.normal(0.0, motion, draw.body_pose.shape)
    offsets = np.arange(frames) - 0.5 * (frames - 1)
    return draw.body_pose[None] + offsets[:, None, None] * velocity[None]


def place_clips(ctx: SceneContext, draw: Draw, joints: np.ndarray, rng: np.random.Generator) -> list[ObjectPlacement]:
    """The object of every frame (frames of (n,) placements), placed from that frame's joints
    ``(frames, n, 22, 3)`` with the SAME random draws, so it follows the body smoothly."""
    state = rng.bit_generator.state
    placements = []
    for f in range(len(joints)):
        rng.bit_generator.state = state
        placements.append(ctx.family.place(draw, joints[f], ctx.template, rng))
    return placements


def _video_ids(config: SynthConfig, category: str, cameras: np.ndarray) -> list[str]:
    """Opaque ids of the chunk's videos from their global camera numbers."""
    salt = f"{config.seed}-{category}"
    return [hashlib.sha256(f"{salt}-{int(c)}".encode()).hexdigest()[:12] for c in cameras]


def _frame_mean_sphere(verts: np.ndarray, obj_verts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (n, 3) and radius (n,) of a sphere holding every frame's body and object ((frames, n, V, 3))."""
    both = np.concatenate([verts, obj_verts], axis=2)
    low, high = both.min(axis=(0, 2)), both.max(axis=(0, 2))
    center = 0.5 * (low + high)
    radius = np.linalg.norm(both - center[None, :, None], axis=-1).max(axis=(0, 2))
    return center, radius


def _take_placement(places: list[ObjectPlacement], frame: np.ndarray, instance: np.ndarray) -> ObjectPlacement:
    rot = np.stack([p.rotation for p in places])[frame, instance]
    trans = np.stack([p.translation for p in places])[frame, instance]
    return ObjectPlacement(rot, trans, np.stack([p.scale for p in places])[frame, instance])


def sample_instances(ctx: SceneContext, rng: np.random.Generator, start: int, count: int) -> tuple[Chunk, ClipInfo]:
    """Draw ``count // images_per_instance`` instances, their clips and cameras -> (``Chunk``, ClipInfo).

    ``start`` (a multiple of ``images_per_instance``) numbers the instances within the category.
    """
    cfg, t = ctx.config, ctx.template
    views, frames = cfg.views_per_instance, cfg.frames_per_clip
    n, layout = count // cfg.images_per_instance, ChunkLayout.of(count, views, frames)
    draw = widen(ctx.family.pose(rng, n), rng, cfg.pose_spread)
    betas = np.clip(rng.normal(0.0, cfg.shape_std, (n, 10)), -2.5, 2.5)
    poses = clip_poses(draw, rng, frames, cfg.clip_motion)
    verts, joints, rest = pose_bodies(ctx.body, np.tile(betas, (frames, 1)), poses.reshape(frames * n, 63))
    verts, joints, rest = (a.reshape(frames, n, *a.shape[1:]) for a in (verts, joints, rest))
    places = place_clips(ctx, draw, joints[..., :22, :], rng)
    obj_verts = np.stack([np.einsum("b,vj,bij->bvi", p.scale, t.vertices, p.rotation) + p.translation[:, None]
                          for p in places])
    center, radius = _frame_mean_sphere(verts, obj_verts)
    cams = sample_cameras(rng, np.repeat(center, views, 0), np.repeat(radius, views), (cfg.image_size,) * 2, cfg.camera)
    i, f, c = layout.instance, layout.frame, layout.camera
    place = _take_placement(places, f, i)
    obj_kp = np.einsum("b,kj,bij->bki", place.scale, t.keypoints, place.rotation) + place.translation[:, None]
    image_draw = Draw(poses[f, i], draw.mode[i], {k: v[i] for k, v in draw.latent.items()})
    chunk = Chunk(image_draw, betas[i], verts[f, i], joints[f, i], rest[f, i], place, obj_verts[f, i], obj_kp,
                  coco_points(verts[f, i], joints[f, i], ctx.landmarks),
                  SampledCameras(cams.cam_rotation[c], cams.cam_center[c], cams.intrinsics[c]))
    return chunk, _clip_info(ctx, rng, start, layout, draw, places[frames // 2], joints[frames // 2])


def _clip_info(ctx: SceneContext, rng: np.random.Generator, start: int, layout: ChunkLayout, draw: Draw, middle: ObjectPlacement,
               middle_joints: np.ndarray) -> ClipInfo:
    """Instances, videos, frames and looks of a chunk's images (looks set on each clip's middle frame)."""
    cfg, t = ctx.config, ctx.template
    first_instance = start // cfg.images_per_instance
    kp = np.einsum("b,kj,bij->bki", middle.scale, t.keypoints, middle.rotation) + middle.translation[:, None]
    offset = kp.mean(axis=1) - middle_joints[:, 0]
    looks = outfits(rng, draw.mode, len(ctx.family.modes), offset, cfg.appearance_cue)
    n_cameras = int(layout.camera.max()) + 1
    first_frame = rng.integers(0, FRAME_START_MAX, n_cameras)
    size = cfg.image_size
    scenes = [random_background(rng, size, size) for _ in range(n_cameras)]
    cameras = first_instance * cfg.views_per_instance + np.arange(n_cameras)
    videos = _video_ids(cfg, ctx.category, cameras)
    return ClipInfo(first_instance + layout.instance, [videos[c] for c in layout.camera],
                    first_frame[layout.camera] + layout.frame, looks[layout.instance],
                    [scenes[c] for c in layout.camera])


def make_clip_rows(ctx: SceneContext, root: Path, rng: np.random.Generator, start: int, count: int,
                   split: str) -> list[dict]:
    """Synthesise, render and annotate a chunk of ``count`` images of whole instances; returns the
    rows, each with its ``video_id`` / ``frame_index`` (evidence) and ``gt_instance_id`` (truth)."""
    chunk, info = sample_instances(ctx, rng, start, count)
    estimates = estimate_bodies(ctx, rng, chunk)
    rows = []
    for i in range(count):
        look = Look(info.colours[i], info.backgrounds[i])
        row = _one_image(ctx, root, rng, start + i, split, i, chunk, estimates[i], look)
        row.update(video_id=info.video_id[i], frame_index=np.array(info.frame_index[i], np.int64),
                   gt_instance_id=f"{ctx.category}_{int(info.instance[i]):06d}")
        rows.append(row)
    return rows
