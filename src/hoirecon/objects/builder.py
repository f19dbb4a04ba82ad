"""Assemble a template from trimesh primitives, tracking parts and keypoint vertex groups.

The procedural templates are concatenations of watertight primitives (boxes, cylinders,
tori, surfaces of revolution, extrusions). :class:`TemplateBuilder` keeps the vertex-id range
of every primitive so parts and keypoints can name the vertices they are made of. A keypoint
that does not sit on a natural vertex group gets a *marker*: a 12-vertex icosahedron a few
millimetres wide centred on the point (its vertex mean is exactly that point), placed inside
the solid where possible so it does not show.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import trimesh

from hoirecon.objects.symmetry import Symmetry
from hoirecon.objects.template import ObjectTemplate, build_template

MARKER_RADIUS = 0.004
"""Radius in metres of the keypoint marker icosahedra."""


def translation(offset: Any) -> np.ndarray:
    """Homogeneous (4, 4) translation by ``offset`` (3,)."""
    matrix = np.eye(4)
    matrix[:3, 3] = offset
    return matrix


def rigid(rotation: np.ndarray, offset: Any = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Homogeneous (4, 4) transform: rotate by ``rotation`` (3, 3), then translate by ``offset``."""
    matrix = translation(offset)
    matrix[:3, :3] = rotation
    return matrix


Z_TO_AXIS: dict[str, np.ndarray] = {
    "x": np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]),
    "y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
    "z": np.eye(3),
}
"""Exact rotations taking the z axis onto each coordinate axis (primitives are built along z)."""


def revolved(profile: Any, sections: int, transform: np.ndarray | None = None) -> trimesh.Trimesh:
    """Surface of revolution of ``profile`` (N, 2) = (radius, height) about z, then ``transform``.

    Profile points with radius 0 become single pole vertices, so a profile that starts and
    ends on the axis gives a closed surface. Ring vertices sit at angles ``2 pi k / sections``.
    """
    return trimesh.creation.revolve(
        np.asarray(profile, float), sections=sections, transform=transform
    )


def rod(
    length: float, radius: float, sections: int = 12, spacing: float | None = 0.05
) -> trimesh.Trimesh:
    """Capped cylinder along z centred at the origin, with a ring of vertices every ``spacing`` m.

    The intermediate rings give long tubes vertices along their length (for contact and
    occlusion maps); ``spacing=None`` keeps only the two end rings. Cap centres are pole vertices.
    """
    levels = 1 if spacing is None else max(1, int(np.ceil(length / spacing)))
    heights = np.linspace(-length / 2, length / 2, levels + 1)
    profile = [[0.0, heights[0]], *([radius, h] for h in heights), [0.0, heights[-1]]]
    return revolved(profile, sections)


def axis_tube(
    center: Any,
    length: float,
    radius: float,
    axis: str,
    sections: int = 12,
    spacing: float | None = 0.05,
) -> trimesh.Trimesh:
    """:func:`rod` along coordinate ``axis`` centred at ``center`` (3,).

    The ring phase is fixed (a ring vertex lies in a coordinate plane), so half-turns about
    coordinate axes map such tubes exactly onto each other for even ``sections``.
    """
    mesh = rod(length, radius, sections, spacing)
    mesh.apply_transform(rigid(Z_TO_AXIS[axis], center))
    return mesh


def tube(
    start: Any, end: Any, radius: float, sections: int = 12, spacing: float | None = 0.05
) -> trimesh.Trimesh:
    """:func:`rod` of ``radius`` from ``start`` (3,) to ``end`` (3,)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    length = float(np.linalg.norm(end - start))
    mesh = rod(length, radius, sections, spacing)
    align = trimesh.geometry.align_vectors([0.0, 0.0, 1.0], (end - start) / length)
    mesh.apply_transform(rigid(align[:3, :3], (start + end) / 2))
    return mesh


def box(
    extents: Any, center: Any = (0.0, 0.0, 0.0), rotation: np.ndarray | None = None
) -> trimesh.Trimesh:
    """Box of side lengths ``extents`` (3,), rotated by ``rotation``, centred at ``center``."""
    rot = np.eye(3) if rotation is None else rotation
    return trimesh.creation.box(extents=extents, transform=rigid(rot, center))


def monotone_outline(ys: np.ndarray, half_widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate the region ``|x| <= w(y)`` sampled at increasing ``ys`` (N,).

    ``half_widths`` (N,) must be 0 at both ends and positive inside. Returns 2-D vertices
    (2N - 2, 2) and counter-clockwise triangles (M, 3), ready for
    ``trimesh.creation.extrude_triangulation``.
    The region is y-monotone, so a strip between the left and right sides triangulates it
    (this avoids a polygon-triangulation dependency).
    """
    inner = np.arange(1, len(ys) - 1)
    left = np.column_stack([-half_widths[inner], ys[inner]])
    right = np.column_stack([half_widths[inner], ys[inner]])
    verts = np.vstack([[0.0, ys[0]], left, right, [0.0, ys[-1]]])
    n = len(inner)
    L = 1 + np.arange(n)
    R = 1 + n + np.arange(n)
    faces = [[0, R[0], L[0]]]
    for i in range(n - 1):
        faces += [[L[i], R[i], R[i + 1]], [L[i], R[i + 1], L[i + 1]]]
    faces.append([L[-1], R[-1], 2 * n + 1])
    return verts, np.asarray(faces, dtype=np.int64)


def marker(point: Any, radius: float = MARKER_RADIUS) -> trimesh.Trimesh:
    """Icosahedron (12 vertices) centred exactly at ``point`` (3,)."""
    mesh = trimesh.creation.icosphere(subdivisions=0, radius=radius)
    mesh.apply_translation(np.asarray(point, float))
    return mesh


class TemplateBuilder:
    """Accumulates primitives with part labels and keypoint groups, then builds a template."""

    def __init__(self) -> None:
        self._meshes: list[trimesh.Trimesh] = []
        self._count = 0
        self._parts: dict[str, list[np.ndarray]] = {}
        self._keypoints: dict[str, np.ndarray] = {}

    def add(self, mesh: trimesh.Trimesh, part: str | tuple[str, ...] | None = None) -> np.ndarray:
        """Append ``mesh`` (optionally to one or more parts); returns its global vertex ids (N,)."""
        ids = self._count + np.arange(len(mesh.vertices))
        self._meshes.append(mesh)
        self._count += len(mesh.vertices)
        for name in (part,) if isinstance(part, str) else (part or ()):
            self._parts.setdefault(name, []).append(ids)
        return ids

    def add_part(self, name: str, ids: np.ndarray) -> None:
        """Add the vertices ``ids`` to part ``name``."""
        self._parts.setdefault(name, []).append(np.asarray(ids, dtype=np.int64))

    def ids_at(self, ids: np.ndarray, point: Any, atol: float = 1e-9) -> np.ndarray:
        """Those of ``ids`` whose vertex lies at ``point`` (3,), e.g. the pole of a cylinder cap."""
        verts = self.vertices[ids]
        found = ids[np.all(np.abs(verts - np.asarray(point, float)) <= atol, axis=1)]
        if found.size == 0:
            raise ValueError(f"no vertex at {point}")
        return found

    def add_mirrored(
        self, mesh: trimesh.Trimesh, symmetry: Symmetry, part: str | tuple[str, ...] | None = None
    ) -> np.ndarray:
        """Append ``mesh`` and its image under ``symmetry``; returns the first copy's ids."""
        ids = self.add(mesh, part)
        image = mesh.copy()
        image.apply_transform(rigid(symmetry[0], symmetry[1]))
        self.add(image, part)
        return ids

    def add_keypoint(self, name: str, ids: np.ndarray) -> None:
        """Declare keypoint ``name`` as the mean of the vertices ``ids``."""
        if name in self._keypoints:
            raise ValueError(f"keypoint {name!r} declared twice")
        self._keypoints[name] = np.asarray(ids, dtype=np.int64)

    def add_marker(self, name: str, point: Any, part: str | tuple[str, ...] | None = None) -> None:
        """Add a marker icosahedron at ``point`` (3,) and declare it as keypoint ``name``."""
        self.add_keypoint(name, self.add(marker(point), part))

    @property
    def vertices(self) -> np.ndarray:
        """(V, 3) vertices added so far."""
        return np.vstack([m.vertices for m in self._meshes])

    def build(
        self,
        name: str,
        symmetries: list[Symmetry] | None = None,
        interaction_pairs: tuple[tuple[str, str], ...] = (),
        recenter: bool = True,
    ) -> ObjectTemplate:
        """Concatenate the primitives into a template.

        Args:
            name: template and category name.
            symmetries: self-maps of the final (recentred) frame, identity first.
            interaction_pairs: ``(body_part, object_part)`` pairs.
            recenter: move the bounding-box centre to the origin.
        """
        offsets = np.cumsum([0] + [len(m.vertices) for m in self._meshes])
        verts = self.vertices
        faces = np.vstack(
            [m.faces + off for m, off in zip(self._meshes, offsets[:-1], strict=True)]
        )
        if recenter:
            verts = verts - 0.5 * (verts.min(0) + verts.max(0))
        parts = {k: np.unique(np.concatenate(v)) for k, v in self._parts.items()}
        return build_template(
            name,
            verts,
            faces,
            self._keypoints,
            symmetries=symmetries,
            parts=parts,
            interaction_pairs=interaction_pairs,
            category=name,
        )
