"""Symmetry groups of rigid objects and the keypoint permutations they induce.

A symmetry is a pair ``(R_s (3, 3), t_s (3,))`` mapping object-frame points ``p`` to
``p @ R_s.T + t_s``. Continuous symmetries are discretised: a rotation about an axis into
``steps`` equal angles, and the full rotation group of a sphere into the 60 rotations of the
icosahedron. The icosahedral group is exact for ``trimesh.creation.icosphere`` meshes (they
are subdivided icosahedra), and its rotations are at most about 37.4 degrees from any rotation.

That list serves the keypoint permutations and the surface metrics, but as a measure of rotation
error it is wrong for a sphere: every rotation maps a sphere onto itself, so its rotation cannot be
seen (from a mask, keypoints at its centre or its surface) and any error modulo a finite subgroup
(up to 37 degrees here) is noise. :func:`is_sphere` recognises such a geometry and
:func:`rotation_error` measures modulo the whole rotation group then, i.e. returns 0.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

Symmetry = tuple[np.ndarray, np.ndarray]
"""A rigid self-map of the object frame: rotation (3, 3) and translation (3,)."""


SPHERE_RTOL = 1e-3
"""Largest spread of the vertices' distances to their mean, relative to it, of a sphere."""
SPHERE_FACE_GAP = 0.02
"""Largest shortfall of a face centre's distance to the mean, relative to the radius, of a sphere
(0.3% for an icosphere of 3 subdivisions; a cube's corners are equidistant but its face centres
fall 42% short)."""


def is_sphere(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Whether a mesh (V, 3), (F, 3) is a sphere: every vertex at one distance from their mean
    (within :data:`SPHERE_RTOL`) and every face centre close to it (:data:`SPHERE_FACE_GAP`), e.g.
    an icosphere. The symmetry group of a sphere is the whole rotation group SO(3)."""
    vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(vertices) < 4 or len(faces) < 4:
        return False
    center = vertices.mean(0)
    radius = np.linalg.norm(vertices - center, axis=1)
    if not (radius.max() > 0 and np.ptp(radius) <= SPHERE_RTOL * radius.max()):
        return False
    face_radius = np.linalg.norm(vertices[faces].mean(1) - center, axis=1)
    return bool(face_radius.min() >= (1.0 - SPHERE_FACE_GAP) * radius.max())


def rotation_error(rot_a: np.ndarray, rot_b: np.ndarray, symmetries: np.ndarray, sphere: bool = False) -> np.ndarray:
    """Geodesic angle (radians) between rotations ``rot_a`` and ``rot_b`` (..., 3, 3) modulo the
    symmetry rotations (S, 3, 3): ``min_s angle(rot_a, rot_b @ R_s)`` (..,); all zeros for a
    ``sphere`` (see :func:`is_sphere`), whose every rotation is a symmetry."""
    rot_a, rot_b = np.asarray(rot_a, dtype=np.float64), np.asarray(rot_b, dtype=np.float64)
    if sphere:
        return np.zeros(np.broadcast_shapes(rot_a.shape, rot_b.shape)[:-2])
    turned = np.einsum("...ij,sjk->...sik", rot_b, np.asarray(symmetries, dtype=np.float64))
    trace = np.einsum("...ij,...sij->...s", rot_a, turned)
    return np.arccos(np.clip(0.5 * (trace.max(axis=-1) - 1.0), -1.0, 1.0))


def identity_symmetry() -> Symmetry:
    """The identity ``(I, 0)``."""
    return np.eye(3), np.zeros(3)


def is_identity(symmetry: Symmetry, atol: float = 1e-9) -> bool:
    """Whether ``symmetry`` is the identity map within ``atol``."""
    rot, trans = symmetry
    return bool(np.allclose(rot, np.eye(3), atol=atol) and np.allclose(trans, 0.0, atol=atol))


def axis_angle_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation (3, 3) by ``angle`` radians about the unit-normalised ``axis`` (3,) (Rodrigues)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    cross = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * (cross @ cross)


def axial_symmetries(axis: np.ndarray, steps: int) -> list[Symmetry]:
    """Rotations by ``2 pi k / steps`` (k = 0..steps-1) about ``axis`` through the origin.

    The first one (k = 0) is exactly the identity.
    """
    return [(axis_angle_matrix(axis, 2.0 * np.pi * k / steps), np.zeros(3)) for k in range(steps)]


def half_turn(axis: np.ndarray) -> Symmetry:
    """The 180-degree rotation about a coordinate ``axis`` (exact, no rounding noise)."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    return 2.0 * np.outer(axis, axis) - np.eye(3), np.zeros(3)


def compose(first: list[Symmetry], second: list[Symmetry]) -> list[Symmetry]:
    """All products ``b o a`` for a in ``first``, b in ``second`` (second-major order).

    With the identity first in both lists, the identity comes out first.
    """
    out = []
    for rot_b, trans_b in second:
        for rot_a, trans_a in first:
            out.append((rot_b @ rot_a, rot_b @ trans_a + trans_b))
    return out


def _frame(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Orthonormal frame (3, 3) whose columns are built from directions a and b (3,)."""
    e1 = a / np.linalg.norm(a)
    e2 = b - e1 * (e1 @ b)
    e2 = e2 / np.linalg.norm(e2)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=1)


def icosahedral_rotations() -> list[Symmetry]:
    """The 60 rotations mapping the icosahedron of ``trimesh.creation.icosphere(0)`` onto itself.

    Each rotation sends a fixed directed edge (a, b) of the icosahedron to one of its 60
    directed edges. The identity comes first.
    """
    import trimesh

    verts = trimesh.creation.icosphere(subdivisions=0).vertices
    edge_len = np.min([np.linalg.norm(verts[0] - v) for v in verts[1:]])
    adjacent = np.isclose(np.linalg.norm(verts[:, None] - verts[None], axis=-1), edge_len)
    a, b = 0, int(np.flatnonzero(adjacent[0])[0])
    source = _frame(verts[a], verts[b])
    rotations = [
        _frame(verts[i], verts[j]) @ source.T
        for i in range(len(verts))
        for j in np.flatnonzero(adjacent[i])
    ]
    rotations.sort(key=lambda rot: not np.allclose(rot, np.eye(3)))
    rotations[0] = np.eye(3)  # exactly, not up to rounding
    return [(rot, np.zeros(3)) for rot in rotations]


def keypoint_permutations(
    keypoints: np.ndarray, symmetries: list[Symmetry] | tuple[Symmetry, ...], tolerance: float
) -> np.ndarray:
    """Where each keypoint lands under each symmetry.

    Args:
        keypoints: (K, 3) object-frame keypoints.
        symmetries: S pairs ``(R_s, t_s)``.
        tolerance: largest allowed distance between a mapped keypoint and its target.

    Returns:
        (S, K) int64 ``perm`` with ``keypoints @ R_s.T + t_s ~= keypoints[perm[s]]``.

    Raises:
        ValueError: if some symmetry does not map the keypoints onto the keypoints.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    perms = np.zeros((len(symmetries), len(keypoints)), dtype=np.int64)
    for s, (rot, trans) in enumerate(symmetries):
        if len(keypoints) == 0:
            continue
        mapped = keypoints @ np.asarray(rot).T + np.asarray(trans)
        cost = np.linalg.norm(mapped[:, None] - keypoints[None], axis=-1)
        # coincident keypoints tie; prefer keeping an index where it is
        tie_break = 1e-9 * max(tolerance, 1e-12) * (1.0 - np.eye(len(keypoints)))
        rows, cols = linear_sum_assignment(cost + tie_break)
        worst = float(cost[rows, cols].max())
        if worst > tolerance:
            raise ValueError(
                f"symmetries[{s}]: maps keypoints {worst:.3g} m away from any keypoint "
                f"(tolerance {tolerance:.3g} m); it is not a symmetry of the keypoints"
            )
        perms[s, rows] = cols
    return perms
