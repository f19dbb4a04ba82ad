"""The keypoint JSON file that sits beside a template mesh (``<mesh stem>.keypoints.json``).

Format (only ``keypoints`` is required)::

    {
      "name": "mug",                                 # optional, default: the mesh stem
      "category": "mug",                             # optional, default: the name
      "keypoints": {"handle_top": [12, 13], "rim": [40, 41, 42], ...},
      "symmetries": [{"R": [[...], [...], [...]], "t": [0, 0, 0]}, ...],
      "keypoint_permutations": [[0, 1, ...], ...],   # optional, derived when absent
      "parts": {"handle": [vertex ids...]},
      "interaction_pairs": [["right_hand", "handle"], ...]
    }

Keypoint ``k`` is the mean of the listed vertices (a single id is allowed). Keys may be names,
or all integer ids ("0", "1", ...), which are then ordered numerically. Symmetries are rigid
self-maps ``p -> p @ R.T + t`` of the mesh frame; the identity is added first when missing.
Every error names the file and the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.objects.symmetry import Symmetry
from hoirecon.objects.template import ObjectTemplate


@dataclass(frozen=True)
class KeypointFile:
    """Parsed contents of a keypoint JSON file (vertex ids checked against the mesh size)."""

    keypoints: dict[str, np.ndarray]
    """Ordered ``{name: vertex ids (N,)}``."""
    symmetries: list[Symmetry] = field(default_factory=list)
    keypoint_permutations: np.ndarray | None = None
    """(S, K) when the file gives them, else None (derive from the symmetries)."""
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    interaction_pairs: tuple[tuple[str, str], ...] = ()
    name: str | None = None
    category: str | None = None


def keypoint_json_path(mesh_path: str | Path) -> Path:
    """The conventional keypoint file of a mesh: ``<dir>/<stem>.keypoints.json``."""
    mesh_path = Path(mesh_path)
    return mesh_path.with_name(f"{mesh_path.stem}.keypoints.json")


def _vertex_ids(value: Any, where: str, num_vertices: int) -> np.ndarray:
    """Validate a vertex-id list (or a single id) against ``num_vertices``; returns (N,) int64."""
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f"{where}: expected a non-empty list of vertex ids, got {value!r}")
    for item in items:
        if not isinstance(item, int) or isinstance(item, bool):
            raise ValueError(f"{where}: vertex id {item!r} is not an integer")
        if not 0 <= item < num_vertices:
            raise ValueError(
                f"{where}: vertex id {item} is out of range for a mesh with {num_vertices} vertices"
            )
    return np.asarray(items, dtype=np.int64)


def _keypoints(raw: Any, where: str, num_vertices: int) -> dict[str, np.ndarray]:
    """Parse the ``keypoints`` mapping; all-integer keys are ordered numerically."""
    if not isinstance(raw, dict):
        raise ValueError(
            f"{where}: expected an object {{name: [vertex ids]}}, got {type(raw).__name__}"
        )
    keys = list(raw)
    if keys and all(k.strip().lstrip("-").isdigit() for k in keys):
        keys.sort(key=int)
    return {k: _vertex_ids(raw[k], f"{where}[{k!r}]", num_vertices) for k in keys}


def _matrix(value: Any, shape: tuple[int, ...], where: str) -> np.ndarray:
    """A finite float array of ``shape`` from JSON lists."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: expected numbers of shape {shape}") from error
    if arr.shape != shape or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{where}: expected finite numbers of shape {shape}, got shape {arr.shape}"
        )
    return arr


def _symmetries(raw: Any, where: str) -> list[Symmetry]:
    """Parse ``[{"R": 3x3, "t": 3}, ...]`` (``t`` defaults to zero)."""
    if not isinstance(raw, list):
        raise ValueError(f'{where}: expected a list of {{"R": 3x3, "t": 3}} objects')
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "R" not in item:
            raise ValueError(f'{where}[{i}]: expected an object with keys "R" (3x3) and "t" (3)')
        out.append(
            (
                _matrix(item["R"], (3, 3), f"{where}[{i}].R"),
                _matrix(item.get("t", [0.0, 0.0, 0.0]), (3,), f"{where}[{i}].t"),
            )
        )
    return out


def _pairs(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    """Parse ``[[body_part, object_part], ...]``."""
    if not isinstance(raw, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in raw
    ):
        raise ValueError(f"{where}: expected a list of [body_part, object_part] string pairs")
    return tuple((b, o) for b, o in raw)


def _permutations(raw: Any, where: str) -> np.ndarray:
    """Parse an (S, K) integer permutation table."""
    arr = np.asarray(raw)
    if arr.ndim == 2 and arr.size == 0:
        return np.zeros(arr.shape, dtype=np.int64)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{where}: expected a list of integer lists (S, K)")
    return arr.astype(np.int64)


def _load_json(path: Path) -> dict:
    """Read a JSON object from ``path``; errors name the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: keypoint file not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    return data


def read_keypoint_file(path: str | Path, num_vertices: int) -> KeypointFile:
    """Parse and validate a keypoint JSON file for a mesh with ``num_vertices`` vertices.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: on bad JSON, a missing ``keypoints`` key, or invalid values; the message
            names the file and the key.
    """
    path = Path(path)
    data = _load_json(path)
    if "keypoints" not in data:
        raise ValueError(f'{path}: missing required key "keypoints"')
    perms = data.get("keypoint_permutations")
    parts = data.get("parts", {})
    if not isinstance(parts, dict):
        raise ValueError(f"{path}: parts: expected an object {{name: [vertex ids]}}")
    return KeypointFile(
        keypoints=_keypoints(data["keypoints"], f"{path}: keypoints", num_vertices),
        symmetries=_symmetries(data.get("symmetries", []), f"{path}: symmetries"),
        keypoint_permutations=None
        if perms is None
        else _permutations(perms, f"{path}: keypoint_permutations"),
        parts={
            str(k): _vertex_ids(v, f"{path}: parts[{k!r}]", num_vertices) for k, v in parts.items()
        },
        interaction_pairs=_pairs(data.get("interaction_pairs", []), f"{path}: interaction_pairs"),
        name=str(data["name"]) if data.get("name") else None,
        category=str(data["category"]) if data.get("category") else None,
    )


def keypoint_file_dict(template: ObjectTemplate) -> dict[str, Any]:
    """The JSON-ready keypoint file of ``template`` (everything except the mesh)."""
    return {
        "name": template.name,
        "category": template.category,
        "keypoints": {
            n: ids.tolist()
            for n, ids in zip(template.keypoint_names, template.keypoint_vertex_ids, strict=True)
        },
        "symmetries": [
            {"R": rot.tolist(), "t": trans.tolist()} for rot, trans in template.symmetries
        ],
        "keypoint_permutations": template.keypoint_permutations.tolist(),
        "parts": {k: v.tolist() for k, v in template.parts.items()},
        "interaction_pairs": [list(p) for p in template.interaction_pairs],
    }
