"""Object templates of RHOBIN-file evaluations.

A sequence's object name comes from its ``obj_name`` key or, as in BEHAVE sequence names
(``Date03_Sub04_chairwood_sit``), the third ``_``-separated part. The mesh is looked up in the
reference's ``templates`` (``{"verts": (V, 3), "faces": (F, 3), "symmetries": [...]}``, where a
symmetry is the official evaluator's ``{"R": (3, 3), "t": (3, 1)}`` dict (BOP's layout), a (4, 4)
transform or an ``(R (3, 3), t (3,))`` pair), then among the built-in categories. The identity is
always among the symmetries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hoirecon.eval.protocols.pose_errors import with_identity
from hoirecon.eval.protocols.result import EvalInputError
from hoirecon.eval.protocols.submission import RhobinFile, Sequence
from hoirecon.geometry import RigidTransform
from hoirecon.objects import CATEGORIES, get_category_template


@dataclass(frozen=True)
class FileTemplate:
    """A template mesh with its symmetries, in metres."""

    name: str
    vertices: np.ndarray
    """(V, 3) object-frame vertices."""
    faces: np.ndarray
    """(F, 3) triangles."""
    symmetries: RigidTransform
    """(S,) object-frame symmetries (numpy fields), identity first."""


def _symmetries(raw: Any, where: str) -> RigidTransform:
    rots, trans = [], []
    for k, item in enumerate(raw if raw is not None else []):
        try:
            if isinstance(item, dict):
                rot, t = np.asarray(item["R"], float), np.asarray(item["t"], float).reshape(3)
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                rot, t = np.asarray(item[0], float), np.asarray(item[1], float).reshape(3)
            else:
                matrix = np.asarray(item, float)
                rot, t = matrix[:3, :3], matrix[:3, 3]
            if rot.shape != (3, 3):
                raise ValueError(f"rotation shape {rot.shape}")
        except (TypeError, ValueError, IndexError, KeyError) as error:
            raise EvalInputError(f"{where}: symmetries[{k}]: expected an {{'R', 't'}} dict, a (4, 4) "
                                 f"transform or an (R, t) pair ({error})") from error
        rots.append(rot)
        trans.append(t)
    if not rots:
        return RigidTransform(rotation=np.eye(3)[None], translation=np.zeros((1, 3)))
    return with_identity(np.stack(rots), np.stack(trans))


def _from_file(raw: Any, name: str, where: str) -> FileTemplate:
    if not isinstance(raw, dict):
        raise EvalInputError(f"{where}: expected a dict with 'verts' and 'faces'")
    verts_key = "verts" if "verts" in raw else "vertices"
    for key in (verts_key, "faces"):
        if key not in raw:
            raise EvalInputError(f"{where}: missing key {key!r}")
    verts = np.asarray(raw[verts_key], dtype=np.float64)
    faces = np.asarray(raw["faces"])
    if verts.ndim != 2 or verts.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise EvalInputError(f"{where}: expected verts (V, 3) and faces (F, 3), got "
                             f"{verts.shape} and {faces.shape}")
    return FileTemplate(name, verts, faces.astype(np.intp), _symmetries(raw.get("symmetries"), where))


class TemplateLookup:
    """Resolve and cache the template of each sequence of a reference file."""

    def __init__(self, ref: RhobinFile) -> None:
        self.ref = ref
        self._cache: dict[str, FileTemplate] = {}

    def get(self, seq: Sequence) -> FileTemplate:
        """The template of ``seq``'s object; :class:`EvalInputError` when there is none."""
        name = seq.obj_name
        if name is None:
            raise EvalInputError(f"{self.ref.path}: sequence {seq.name!r}: no object name "
                                 "(add 'obj_name' or name it like Date03_Sub04_<object>_...)")
        if name not in self._cache:
            self._cache[name] = self._resolve(name, seq.name)
        return self._cache[name]

    def _resolve(self, name: str, seq_name: str) -> FileTemplate:
        if name in self.ref.templates:
            return _from_file(self.ref.templates[name], name,
                              f"{self.ref.path}: templates[{name!r}]")
        if name in CATEGORIES:
            template = get_category_template(name)
            symmetries = with_identity(template.symmetry_rotations, template.symmetry_translations)
            return FileTemplate(name, template.vertices, template.faces, symmetries)
        raise EvalInputError(
            f"{self.ref.path}: sequence {seq_name!r}: unknown object {name!r}; add "
            f"templates[{name!r}] = {{'verts', 'faces'}} to the reference file, or use a "
            f"built-in category ({', '.join(CATEGORIES)})")


def place_behave(vertices: np.ndarray, rots: np.ndarray, trans: np.ndarray,
                 scales: np.ndarray | None) -> np.ndarray:
    """Object vertices the BEHAVE way, ``(v @ R.T + t) * s``.

    Args:
        vertices: (V, 3) template. rots: (B, 3, 3). trans: (B, 3). scales: (B,) or None (= 1).

    Returns:
        (B, V, 3) placed vertices.
    """
    placed = np.einsum("vj,bij->bvi", vertices, rots) + trans[:, None]
    return placed if scales is None else placed * scales[:, None, None]
