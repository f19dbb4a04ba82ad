"""Load and save object templates: built-in categories, mesh + keypoint JSON, BEHAVE objects.

Meshes are read and written with trimesh (``.ply`` and ``.obj``) without any processing, so
vertex ids in the keypoint file stay valid. PLY stores vertices as float32 (about 1e-7
relative precision); OBJ as 8-decimal text. The keypoint file format is described in
:mod:`hoirecon.objects.keypoint_file`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import trimesh

from hoirecon.io.atomic import atomic_write_bytes
from hoirecon.objects.keypoint_file import (
    KeypointFile,
    keypoint_file_dict,
    keypoint_json_path,
    read_keypoint_file,
)
from hoirecon.objects.procedural import CATEGORIES, get_category_template
from hoirecon.objects.template import ObjectTemplate, build_template

logger = logging.getLogger(__name__)

MESH_SUFFIXES: tuple[str, ...] = (".ply", ".obj")
"""Mesh file types the loaders accept."""

BEHAVE_OBJECTS: tuple[str, ...] = (
    "backpack",
    "basketball",
    "boxlarge",
    "boxlong",
    "boxmedium",
    "boxsmall",
    "boxtiny",
    "chairblack",
    "chairwood",
    "keyboard",
    "monitor",
    "plasticcontainer",
    "stool",
    "suitcase",
    "tablesmall",
    "tablesquare",
    "toolbox",
    "trashbin",
    "yogaball",
    "yogamat",
)
"""The 20 BEHAVE objects."""

_BEHAVE_FILES: dict[str, str] = {
    "chairblack": "chairblack_f2500.ply",
    "chairwood": "chairwood_f2500.ply",
    "tablesquare": "tablesquare_f2000.ply",
    "monitor": "monitor_closed_f1000.ply",
}
"""BEHAVE template files that do not follow ``<name>_f1000.ply``."""


def behave_template_file(name: str) -> str:
    """File name of BEHAVE object ``name``'s template, e.g. ``chairwood_f2500.ply``."""
    return _BEHAVE_FILES.get(name, f"{name}_f1000.ply")


def read_mesh(path: str | Path) -> trimesh.Trimesh:
    """Read a triangle mesh with vertex order kept.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: for an unsupported suffix, an unreadable file or a mesh without faces.
    """
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(
            f"{path}: unsupported mesh type {path.suffix!r}; expected one of {MESH_SUFFIXES}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path}: mesh file not found")
    try:
        mesh = trimesh.load(path, force="mesh", process=False, maintain_order=True)
    except Exception as error:  # trimesh raises many types for malformed files
        raise ValueError(
            f"{path}: could not read mesh ({type(error).__name__}: {error})"
        ) from error
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0 or len(mesh.faces) == 0:
        raise ValueError(f"{path}: no triangle mesh in file (needs vertices and faces)")
    if not np.all(np.isfinite(mesh.vertices)):
        raise ValueError(f"{path}: vertices contain NaN or infinite values")
    return mesh


def _read_keypoints(
    mesh_path: Path, keypoints: str | Path | None, num_vertices: int
) -> KeypointFile:
    """The given keypoint file, else ``<stem>.keypoints.json`` beside the mesh, else none."""
    if keypoints is None:
        found = keypoint_json_path(mesh_path)
        if not found.is_file():
            logger.debug(
                "%s: no keypoint file beside the mesh; template has no keypoints", mesh_path
            )
            return KeypointFile(keypoints={})
        keypoints = found
    return read_keypoint_file(keypoints, num_vertices)


def _template_from(
    vertices: np.ndarray, faces: np.ndarray, spec: KeypointFile, name: str, source: Path
) -> ObjectTemplate:
    """Build a template from mesh arrays and a parsed keypoint file; errors name ``source``."""
    try:
        return build_template(
            spec.name or name,
            vertices,
            faces,
            spec.keypoints,
            symmetries=spec.symmetries,
            parts=spec.parts,
            interaction_pairs=spec.interaction_pairs,
            category=spec.category or spec.name or name,
            keypoint_permutations=spec.keypoint_permutations,
        )
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from error


def load_template(name_or_path: str | Path, keypoints: str | Path | None = None) -> ObjectTemplate:
    """A built-in category template, or a ``.ply``/``.obj`` mesh with its keypoint file.

    Args:
        name_or_path: one of :data:`~hoirecon.objects.procedural.CATEGORIES`, or a mesh path.
        keypoints: keypoint JSON for a mesh path; default ``<mesh stem>.keypoints.json`` beside
            the mesh when it exists, else the template has no keypoints (K = 0).

    Raises:
        ValueError: unknown category name, malformed mesh or keypoint file (message names it).
        FileNotFoundError: a mesh or keypoint file that does not exist.
    """
    if isinstance(name_or_path, str) and name_or_path in CATEGORIES:
        if keypoints is not None:
            raise ValueError(f"keypoints: built-in category {name_or_path!r} has its own keypoints")
        return get_category_template(name_or_path)
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        raise ValueError(
            f"unknown object category {str(name_or_path)!r}; expected one of "
            f"{', '.join(CATEGORIES)}, or a path to a {'/'.join(MESH_SUFFIXES)} mesh"
        )
    mesh = read_mesh(path)
    spec = _read_keypoints(path, keypoints, len(mesh.vertices))
    source = Path(keypoints) if keypoints is not None else keypoint_json_path(path)
    return _template_from(
        np.asarray(mesh.vertices), np.asarray(mesh.faces), spec, path.stem, source
    )


def _find_behave_mesh(root: Path, name: str) -> Path:
    """Locate BEHAVE object ``name``'s template under a dataset root or its ``objects`` folder."""
    if name not in BEHAVE_OBJECTS:
        raise ValueError(
            f"unknown BEHAVE object {name!r}; expected one of {', '.join(BEHAVE_OBJECTS)}"
        )
    file_name = behave_template_file(name)
    tried = [root / "objects" / name / file_name, root / name / file_name, root / file_name]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"BEHAVE template for {name!r} not found; tried {', '.join(map(str, tried))}"
    )


def load_behave_template(
    path_or_root: str | Path, name: str | None = None, keypoints: str | Path | None = None
) -> ObjectTemplate:
    """A BEHAVE object template, centred by its own vertex mean.

    BEHAVE object fits (axis-angle ``angle``, ``trans``) apply to this centred template:
    ``v' = v @ R(angle).T + trans``. Templates have no keypoints (K = 0) unless a keypoint file
    is given or sits beside the mesh; its symmetries are in the centred frame.

    Args:
        path_or_root: the BEHAVE root (holding ``objects/<name>/``), the ``objects`` folder,
            the object's folder, or the template mesh file itself.
        name: BEHAVE object name (one of :data:`BEHAVE_OBJECTS`); required unless a file is given.
        keypoints: optional keypoint JSON.

    Raises:
        ValueError: unknown object name or malformed files. FileNotFoundError: missing files.
    """
    root = Path(path_or_root)
    if root.is_file():
        mesh_path = root
        name = name or (root.parent.name if root.parent.name in BEHAVE_OBJECTS else root.stem)
    elif name is None:
        raise ValueError(f"{root}: a BEHAVE object name is required when a folder is given")
    else:
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: BEHAVE root folder not found")
        mesh_path = _find_behave_mesh(root, name)
    mesh = read_mesh(mesh_path)
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    vertices = vertices - vertices.mean(axis=0)
    spec = _read_keypoints(mesh_path, keypoints, len(vertices))
    source = Path(keypoints) if keypoints is not None else keypoint_json_path(mesh_path)
    return _template_from(vertices, np.asarray(mesh.faces), spec, name, source)


def save_template(template: ObjectTemplate, path: str | Path) -> Path:
    """Write ``template`` as a mesh (``.ply`` or ``.obj``) plus ``<stem>.keypoints.json``.

    Both files are written atomically; :func:`load_template` on ``path`` reads them back.
    Returns the keypoint file's path.
    """
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(
            f"{path}: unsupported mesh type {path.suffix!r}; expected one of {MESH_SUFFIXES}"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: output folder does not exist")
    exported = template.to_trimesh().export(file_type=path.suffix.lower()[1:])
    atomic_write_bytes(path, exported.encode("utf-8") if isinstance(exported, str) else exported)
    json_path = keypoint_json_path(path)
    text = json.dumps(keypoint_file_dict(template), indent=1)
    atomic_write_bytes(json_path, text.encode("utf-8"))
    return json_path
