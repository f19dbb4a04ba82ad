"""What a one-image reconstruction leaves in its folder: pictures, a 3D scene and a JSON record.

- ``overlay.png``: the fitted meshes over the photo, seen through the photo's camera.
- ``views.png``: front, side (from the body's left) and top views in the human frame.
- ``scene.glb``: the body and the object in the camera frame in glTF's axes (metres): glTF is
  y up and a glTF camera looks along -z, so the OpenCV camera frame of the fit (x right, y down,
  z forward) is turned half a turn about x, ``(x, y, z) -> (x, -y, -z)``; a glTF viewer's camera at
  the origin with no rotation sees the scene as the photo does.
- ``reconstruction.json``: the camera, the body and object parameters, the body joints in the
  camera frame, the evidence used, the final loss terms and the warnings of the run.
- ``fits/<category>.npz`` and ``fit.json``: the fit in the format the eval commands read
  (:mod:`hoirecon.io.fits`).

Everything is built in memory first (:func:`build_outputs`), then written file by file, each
atomically (:meth:`ReconstructionOutputs.write`), so a failed fit leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import trimesh
from PIL import Image, ImageDraw

from hoirecon.body import BodyModel
from hoirecon.data.sample import Sample
from hoirecon.fitting.optimize import FitConfig
from hoirecon.fitting.single import ImageCamera
from hoirecon.io.atomic import atomic_write_bytes, atomic_write_json
from hoirecon.io.fits import FitResults, save_fits, write_fit_info
from hoirecon.objects import ObjectTemplate
from hoirecon.render import save_png
from hoirecon.viz.figures import (
    BODY_COLOR,
    OBJECT_COLOR,
    Reconstruction,
    orbit_view,
    overlay_view,
    reconstruction,
)

OVERLAY_FILE = "overlay.png"
VIEWS_FILE = "views.png"
SCENE_FILE = "scene.glb"
RECORD_FILE = "reconstruction.json"
OPENCV_TO_GLTF = np.diag([1.0, -1.0, -1.0])
"""Rotation from the OpenCV camera axes (x right, y down, z forward) to glTF's (x right, y up, -z forward)."""
SCENE_AXES = ("glTF: x right, y up, z towards the viewer (the photo's camera sits at the origin looking along -z); "
              "a camera-frame point (x, y, z) of this record is (x, -y, -z) in scene.glb; metres")
"""What ``reconstruction.json`` says about the axes of ``scene.glb``."""
VIEWS: tuple[str, ...] = ("front", "side", "top")
"""The orbit views of ``views.png``, left to right."""


@dataclass(frozen=True)
class CameraScene:
    """The fitted body and object in the camera frame (metres)."""

    body_vertices: np.ndarray
    """(V, 3)."""
    body_faces: np.ndarray
    """(F, 3)."""
    joints: np.ndarray
    """(J, 3) the body model's joints, SMPL joint order."""
    object_vertices: np.ndarray
    """(Vo, 3)."""
    object_faces: np.ndarray
    """(Fo, 3)."""


def camera_scene(body: BodyModel, template: ObjectTemplate, row: dict[str, np.ndarray]) -> CameraScene:
    """Pose the body (camera-frame parameters) and the object (``object_*_cam``) of one fits row."""
    t = lambda key: torch.as_tensor(np.asarray(row[key], dtype=np.float32)[None])  # noqa: E731
    with torch.no_grad():
        out = body(betas=t("betas"), body_pose=t("body_pose"), global_orient=t("global_orient"), transl=t("transl"))
    rotation, translation = np.asarray(row["object_rotation_cam"]), np.asarray(row["object_translation_cam"])
    obj = float(row["object_scale"]) * np.asarray(template.vertices) @ rotation.T + translation
    return CameraScene(out.vertices[0].double().numpy(), np.asarray(body.faces), out.joints[0].double().numpy(),
                       obj, np.asarray(template.faces))


def human_frame(body: BodyModel, template: ObjectTemplate, row: dict[str, np.ndarray]) -> Reconstruction:
    """The body and object of one fits row in the human frame, for the pictures."""
    return reconstruction(body, template, row["betas"], row["body_pose"], row["global_orient"], row["transl"],
                          row["object_rotation"], row["object_translation"], float(row["object_scale"]))


def _label(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` (H, W, 3) with ``text`` written in its top-left corner."""
    picture = Image.fromarray(image)
    ImageDraw.Draw(picture).text((6, 4), text, fill=(60, 60, 60))
    return np.asarray(picture)


def views_image(rec: Reconstruction, faces: np.ndarray, template: ObjectTemplate, size: int = 320) -> np.ndarray:
    """The front, side and top views side by side (size, 3 size, 3), framed alike and labelled."""
    both = np.concatenate([rec.body_vertices, rec.object_vertices])
    center = 0.5 * (both.min(0) + both.max(0))
    radius = float(np.linalg.norm(both - center, axis=1).max())
    return np.concatenate([_label(orbit_view(rec, faces, template, view, size, center, radius), view)
                           for view in VIEWS], axis=1)


def scene_glb(scene: CameraScene) -> bytes:
    """A binary glTF of the camera-frame body and object in glTF axes (:data:`OPENCV_TO_GLTF`; a
    proper rotation, so the faces keep their winding), coloured as in the pictures."""
    out = trimesh.Scene()
    for name, vertices, faces, color in (("body", scene.body_vertices, scene.body_faces, BODY_COLOR),
                                         ("object", scene.object_vertices, scene.object_faces, OBJECT_COLOR)):
        mesh = trimesh.Trimesh(np.asarray(vertices) @ OPENCV_TO_GLTF.T, faces, process=False)
        mesh.visual.face_colors = [*(int(255 * c) for c in color), 255]
        out.add_geometry(mesh, node_name=name, geom_name=name)
    return out.export(file_type="glb")


def _floats(value: Any) -> Any:
    """Arrays and numpy scalars as (nested) lists of Python floats, for JSON."""
    return np.asarray(value, dtype=np.float64).tolist()


def reconstruction_record(row: dict[str, np.ndarray], scene: CameraScene, camera: ImageCamera, category: str,
                          config: FitConfig, evidence: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """The content of ``reconstruction.json`` for one fits row (see the module docstring)."""
    width, height = camera.image_size
    return {
        "camera": {"focal": camera.focal, "principal_point": list(camera.principal_point),
                   "focal_assumed": camera.focal_assumed, "intrinsics": _floats(camera.intrinsics),
                   "image_size": [width, height],
                   "axes": "OpenCV: x right, y down, z forward; metres", "scene_glb_axes": SCENE_AXES},
        "body": {"betas": _floats(row["betas"]), "body_pose": _floats(row["body_pose"]),
                 "global_orient": _floats(row["global_orient"]), "transl": _floats(row["transl"]),
                 "joints_cam": _floats(scene.joints), "joint_order": "SMPL"},
        "object": {"category": category, "rotation_cam": _floats(row["object_rotation_cam"]),
                   "translation_cam": _floats(row["object_translation_cam"]), "scale": float(row["object_scale"]),
                   "rotation": _floats(row["object_rotation"]), "translation": _floats(row["object_translation"]),
                   "human_frame": "pelvis at the origin, the body's global orientation removed (SMPL axes)"},
        "evidence": evidence,
        "fit": {"preset": config.name, "config": asdict(config)},
        "losses": {key.removeprefix("loss_"): float(value) for key, value in row.items() if key.startswith("loss_")},
        "warnings": list(warnings),
    }


@dataclass
class ReconstructionOutputs:
    """Every file of a reconstruction, in memory."""

    overlay: np.ndarray
    """(H, W, 3) uint8."""
    views: np.ndarray
    """(S, 3 S, 3) uint8."""
    scene: bytes
    """The ``.glb`` file."""
    record: dict[str, Any]
    fits: FitResults
    fit_info: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    """More files by relative path: ``bytes`` or JSON-able content."""

    def write(self, out: Path) -> list[Path]:
        """Write every file into ``out`` (created if needed), each atomically, ``reconstruction.json``
        last; returns the paths written."""
        out = Path(out)
        paths = [save_fits(out, self.fits)]
        write_fit_info(out, self.fit_info)
        paths.append(out / "fit.json")
        for name, content in self.extra.items():
            write = atomic_write_bytes if isinstance(content, bytes) else atomic_write_json
            paths.append(write(out / name, content))
        paths += [save_png(out / OVERLAY_FILE, self.overlay), save_png(out / VIEWS_FILE, self.views),
                  atomic_write_bytes(out / SCENE_FILE, self.scene), atomic_write_json(out / RECORD_FILE, self.record)]
        return paths


def build_outputs(sample: Sample, fits: FitResults, body: BodyModel, template: ObjectTemplate, camera: ImageCamera,
                  config: FitConfig, evidence: dict[str, Any], warnings: list[str], fit_info: dict[str, Any]
                  ) -> ReconstructionOutputs:
    """Render the pictures and the scene and fill the record of the fit of ``sample`` (one fits row)."""
    row = fits.row(sample.image_id)
    scene, rec = camera_scene(body, template, row), human_frame(body, template, row)
    faces = np.asarray(body.faces)
    record = reconstruction_record(row, scene, camera, fits.category, config, evidence, warnings)
    return ReconstructionOutputs(overlay_view(sample, rec, faces, template), views_image(rec, faces, template),
                                 scene_glb(scene), record, fits, fit_info)
