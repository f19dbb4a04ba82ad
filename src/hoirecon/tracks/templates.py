"""BEHAVE object templates for the RHOBIN files: the release's meshes, centred, with their symmetries.

A template is ``objects/<name>/<name>_f1000.ply`` (chairs ``_f2500``, tablesquare ``_f2000``,
monitor ``monitor_closed_f1000``), centred by its own vertex mean as the BEHAVE toolkit does
(:func:`hoirecon.objects.load_behave_template`), so a fit ``(angle, trans)`` places it as
``v @ R(angle).T + trans``.

Symmetries (the set ``S_M`` of the object-track metrics) are not part of the public release: the
official ``ref.pkl`` carries its own list per object, and an evaluation against it uses those.
For a reference we build, they are found on the mesh itself: candidates are the half-turns about
the template's three principal axes (boxes, tables, mats), rotations by ``2 pi k / 12`` about an
axis for the round objects (:data:`AXIAL`), and the 60 icosahedral rotations for the balls; a
candidate is kept when it maps the mesh onto itself within :data:`SYMMETRY_TOL` of its diameter
(symmetric vertex-to-vertex distance), so a symmetry is never claimed that the shape does not have.
Each symmetry is written in the evaluator's layout, ``{"R": (3, 3), "t": (3, 1)}``, identity first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from hoirecon.objects import load_behave_template
from hoirecon.objects.symmetry import axial_symmetries, half_turn, icosahedral_rotations

SPHERES = ("basketball", "yogaball")
"""Objects whose candidates are the icosahedral rotations (a discretised sphere)."""
AXIAL = ("trashbin", "stool", "yogamat", "plasticcontainer")
"""Objects whose candidates include rotations about each principal axis by 2 pi k / 12."""
AXIAL_STEPS = 12
SYMMETRY_TOL = 0.02
"""Largest mean vertex displacement, as a fraction of the diameter, of a kept symmetry."""


@dataclass(frozen=True)
class RhobinTemplate:
    """A centred template and its symmetries."""

    name: str
    vertices: np.ndarray
    """(V, 3) centred vertices, metres."""
    faces: np.ndarray
    """(F, 3) triangles."""
    symmetries: np.ndarray
    """(S, 3, 3) rotations about the centre, identity first."""

    def reference_entry(self) -> dict:
        """The template as the official ``ref.pkl`` stores it: ``{verts, faces, symmetries}``."""
        return {"verts": self.vertices.astype(np.float32), "faces": self.faces.astype(np.int64),
                "symmetries": [{"R": r.copy(), "t": np.zeros((3, 1))} for r in self.symmetries]}


def principal_axes(vertices: np.ndarray) -> np.ndarray:
    """(3, 3) unit principal axes of a centred point set, as columns (largest spread first)."""
    _, vectors = np.linalg.eigh(vertices.T @ vertices)
    return vectors[:, ::-1]


def _candidates(name: str, vertices: np.ndarray) -> list[np.ndarray]:
    if name in SPHERES:
        return [rot for rot, _ in icosahedral_rotations()[1:]]
    axes = principal_axes(vertices).T
    out = [half_turn(axis)[0] for axis in axes]
    if name in AXIAL:
        out += [rot for axis in axes for rot, _ in axial_symmetries(axis, AXIAL_STEPS)[1:]]
    return out


def _self_distance(tree: cKDTree, vertices: np.ndarray, rotation: np.ndarray) -> float:
    """Mean distance of the rotated vertices to the mesh's vertices, both ways."""
    moved = vertices @ rotation.T
    there = tree.query(moved)[0].mean()
    back = cKDTree(moved).query(vertices)[0].mean()
    return float(max(there, back))


def detect_symmetries(name: str, vertices: np.ndarray, tol: float = SYMMETRY_TOL) -> np.ndarray:
    """(S, 3, 3) the rotations among ``name``'s candidates that map ``vertices`` (V, 3, centred)
    onto themselves within ``tol`` of the diameter; the identity first."""
    diameter = float(np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0)))
    tree = cKDTree(vertices)
    kept = [np.eye(3)]
    for rotation in _candidates(name, vertices):
        if np.allclose(rotation, np.eye(3)):
            continue
        if _self_distance(tree, vertices, rotation) <= tol * diameter:
            kept.append(rotation)
    return np.stack(kept)


def load_rhobin_template(root: str | Path, name: str) -> RhobinTemplate:
    """Object ``name``'s template under a BEHAVE root (``objects/<name>/...``), centred, with its
    detected symmetries. Raises ValueError / FileNotFoundError for an unknown name or a missing mesh."""
    template = load_behave_template(root, name)
    vertices = np.asarray(template.vertices, dtype=np.float64)
    return RhobinTemplate(name, vertices, np.asarray(template.faces), detect_symmetries(name, vertices))
