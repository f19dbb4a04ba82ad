"""Qualitative figures: fitted meshes over the input image, and side and top views (paper Fig. 3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from hoirecon.body import BodyModel
from hoirecon.data.sample import Sample
from hoirecon.geometry import RigidTransform
from hoirecon.objects import ObjectTemplate
from hoirecon.render import Camera, SceneMesh, look_at_camera, render_scene

BODY_COLOR = (0.80, 0.62, 0.50)
OBJECT_COLOR = (0.25, 0.55, 0.90)
BACKDROP = (245, 246, 248)


@dataclass(frozen=True)
class Reconstruction:
    """A body and object in the human frame, ready to draw."""

    body_vertices: np.ndarray
    """(V, 3) human frame."""
    object_vertices: np.ndarray
    """(Vo, 3) human frame."""
    orient: np.ndarray
    """(3, 3) human -> camera rotation."""
    pelvis: np.ndarray
    """(3,) pelvis in the camera frame."""


def reconstruction(body: BodyModel, template: ObjectTemplate, betas: np.ndarray, body_pose: np.ndarray,
                   global_orient: np.ndarray, transl: np.ndarray, rotation: np.ndarray, translation: np.ndarray,
                   scale: float) -> Reconstruction:
    """Pose a body (camera-frame parameters) and an object (human-frame pose) for drawing."""
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32)[None])  # noqa: E731
    with torch.no_grad():
        out = body(betas=t(betas), body_pose=t(body_pose))
        posed = body(betas=t(betas), body_pose=t(body_pose), global_orient=t(global_orient), transl=t(transl))
    pelvis_h = out.joints[0, 0].double().numpy()
    verts = out.vertices[0].double().numpy() - pelvis_h
    obj = scale * np.asarray(template.vertices) @ np.asarray(rotation).T + translation
    orient = posed.joint_rotations[0, 0].double().numpy()
    return Reconstruction(verts, obj, orient, posed.joints[0, 0].double().numpy())


def _meshes(rec: Reconstruction, faces: np.ndarray, template: ObjectTemplate) -> list[SceneMesh]:
    """The body and object meshes in the human frame."""
    return [SceneMesh(rec.body_vertices, faces, BODY_COLOR, "human"),
            SceneMesh(rec.object_vertices, np.asarray(template.faces), OBJECT_COLOR, "object")]


def overlay_view(sample: Sample, rec: Reconstruction, faces: np.ndarray, template: ObjectTemplate,
                 alpha: float = 0.75) -> np.ndarray:
    """The reconstruction rendered with the image's own camera and blended over the image (H, W, 3)."""
    width, height = sample.image_size
    image = np.asarray(Image.open(sample.image_path).convert("RGB")) if sample.image_path else None
    human_to_camera = RigidTransform(rotation=rec.orient, translation=rec.pelvis)
    camera = Camera(sample.intrinsics, width, height, human_to_camera)
    result = render_scene(_meshes(rec, faces, template), camera, background=image)
    if image is None:
        return result.rgb
    hit = (result.instance > 0)[..., None]
    return np.where(hit, (alpha * result.rgb + (1 - alpha) * image).astype(np.uint8), image)


def orbit_view(rec: Reconstruction, faces: np.ndarray, template: ObjectTemplate, view: str, size: int = 256,
               center: np.ndarray | None = None, radius: float | None = None) -> np.ndarray:
    """A 'front', 'side' (from the body's left) or 'top' view in the human frame (size, size, 3)."""
    both = np.concatenate([rec.body_vertices, rec.object_vertices])
    center = 0.5 * (both.min(0) + both.max(0)) if center is None else center
    radius = float(np.linalg.norm(both - center, axis=1).max()) if radius is None else radius
    focal = 0.5 * size / np.tan(np.deg2rad(20))
    dist = 1.1 * radius / np.sin(np.deg2rad(20))
    if view == "front":
        eye, up = center + np.array([0, 0, dist]), np.array([0.0, 1.0, 0.0])
    elif view == "side":
        eye, up = center + np.array([dist, 0, 0]), np.array([0.0, 1.0, 0.0])
    elif view == "top":
        eye, up = center + np.array([0, dist, 0]), np.array([0.0, 0.0, -1.0])
    else:
        raise ValueError(f"view: expected 'front', 'side' or 'top', got {view!r}")
    camera = look_at_camera(eye, center, up, focal, size, size)
    background = np.broadcast_to(np.array(BACKDROP, np.uint8), (size, size, 3)).copy()
    return render_scene(_meshes(rec, faces, template), camera, background=background).rgb
