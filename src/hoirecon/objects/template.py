"""Rigid object templates: a mesh, its keypoints, its symmetries and its named parts.

An :class:`ObjectTemplate` is the object model of the method (paper eq. 3): vertices ``X_hat``
(V, 3) in metres in the object frame, posed as ``X = s * X_hat @ R.T + t``. Keypoint ``k`` is the
mean of the vertices in ``keypoint_vertex_ids[k]``, so keypoints move exactly with the mesh under
any similarity transform. A symmetry ``(R_s, t_s)`` maps the object frame onto itself
(``X_hat @ R_s.T + t_s`` is the same surface); row ``s`` of ``keypoint_permutations`` says where
each keypoint lands: ``keypoints @ R_s.T + t_s == keypoints[keypoint_permutations[s]]``.
Arrays are stored read-only so cached templates can be shared safely; copy before editing
(``torch.tensor(template.vertices)`` copies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from hoirecon.objects.symmetry import Symmetry, is_identity
from hoirecon.objects.symmetry import keypoint_permutations as _derive_permutations

BODY_PARTS: tuple[str, ...] = (
    "left_hand",
    "right_hand",
    "left_foot",
    "right_foot",
    "pelvis",
    "torso",
    "head",
)
"""Body parts an ``interaction_pairs`` entry may name (PHOSA-style part contact)."""

_ROTATION_TOL = 1e-6


def _readonly(array: np.ndarray) -> np.ndarray:
    """Return ``array`` with its write flag cleared (the caller owns a fresh copy)."""
    array.setflags(write=False)
    return array


def _id_array(ids: Any, what: str, num_vertices: int) -> np.ndarray:
    """Validate a 1-D array of vertex ids in ``[0, num_vertices)``; returns (N,) int64."""
    arr = np.array(ids)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what}: expected a non-empty 1-D array of integer vertex ids")
    if arr.min() < 0 or arr.max() >= num_vertices:
        raise ValueError(
            f"{what}: vertex ids must lie in [0, {num_vertices}), got [{arr.min()}, {arr.max()}]"
        )
    return _readonly(arr.astype(np.int64))


def _check_vertices(vertices: Any) -> np.ndarray:
    """Validate vertices (V, 3) finite; returns a read-only float64 copy."""
    arr = np.array(vertices, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
        raise ValueError(f"vertices: expected shape (V, 3) with V > 0, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("vertices: contains NaN or infinite values")
    return _readonly(arr)


def _check_faces(faces: Any, num_vertices: int) -> np.ndarray:
    """Validate faces (F, 3) indexing ``num_vertices`` vertices; returns a read-only int64 copy."""
    arr = np.array(faces)
    if arr.size == 0:
        return _readonly(np.zeros((0, 3), dtype=np.int64))
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"faces: expected an integer array of shape (F, 3), got {arr.shape}")
    if arr.min() < 0 or arr.max() >= num_vertices:
        raise ValueError(f"faces: vertex ids must lie in [0, {num_vertices})")
    return _readonly(arr.astype(np.int64))


def _check_symmetry(pair: Any, index: int) -> Symmetry:
    """Validate one symmetry ``(R_s (3, 3) proper rotation, t_s (3,))``."""
    try:
        rot, trans = pair
    except (TypeError, ValueError) as error:
        raise ValueError(f"symmetries[{index}]: expected a pair (R (3, 3), t (3,))") from error
    rot = np.array(rot, dtype=np.float64)
    trans = np.array(trans, dtype=np.float64)
    if rot.shape != (3, 3) or trans.shape != (3,):
        raise ValueError(
            f"symmetries[{index}]: expected R (3, 3) and t (3,), got {rot.shape}, {trans.shape}"
        )
    if not (np.all(np.isfinite(rot)) and np.all(np.isfinite(trans))):
        raise ValueError(f"symmetries[{index}]: contains NaN or infinite values")
    orthogonal = np.allclose(rot @ rot.T, np.eye(3), atol=_ROTATION_TOL)
    if not orthogonal or np.linalg.det(rot) < 0:
        raise ValueError(f"symmetries[{index}]: R is not a proper rotation (R R^T = I, det R = +1)")
    return _readonly(rot), _readonly(trans)


def _check_permutations(perms: Any, num_symmetries: int, num_keypoints: int) -> np.ndarray:
    """Validate keypoint permutations (S, K): each row a permutation, row 0 the identity."""
    arr = np.array(perms)
    if arr.size == 0 and num_keypoints == 0:
        return _readonly(np.zeros((num_symmetries, 0), dtype=np.int64))
    if arr.shape != (num_symmetries, num_keypoints) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"keypoint_permutations: expected integers of shape (S, K) = "
            f"({num_symmetries}, {num_keypoints}), got {arr.shape}"
        )
    expected = np.arange(num_keypoints)
    for row, perm in enumerate(arr):
        if not np.array_equal(np.sort(perm), expected):
            raise ValueError(
                f"keypoint_permutations[{row}]: not a permutation of 0..{num_keypoints - 1}"
            )
    if not np.array_equal(arr[0], expected):
        raise ValueError("keypoint_permutations[0]: the identity symmetry must map k to k")
    return _readonly(arr.astype(np.int64))


def max_pairwise_distance(points: np.ndarray, chunk: int = 2048) -> float:
    """Largest distance between two of ``points`` (P, 3), over their convex hull when it exists."""
    candidates = points
    if len(points) >= 5:
        try:
            candidates = points[ConvexHull(points).vertices]
        except QhullError:  # flat or degenerate sets: fall back to all points
            candidates = points
    best = 0.0
    for start in range(0, len(candidates), chunk):
        block = candidates[start : start + chunk]
        sq = ((block[:, None, :] - candidates[None, :, :]) ** 2).sum(-1)
        best = max(best, float(sq.max()))
    return float(np.sqrt(best))


def _transform(points: np.ndarray, R: Any, t: Any, s: Any) -> Any:
    """``s * points @ R^T + t`` for points (P, 3), R (*, 3, 3), t (*, 3), s scalar or (*,).

    Works on numpy arrays, or on torch tensors when ``R`` is one (gradients flow to R, t, s).
    Returns (*, P, 3).
    """
    if type(R).__module__.startswith("torch"):
        import torch

        X = torch.tensor(points, dtype=R.dtype, device=R.device)
        s = torch.as_tensor(s, dtype=R.dtype, device=R.device)
        t = torch.as_tensor(t, dtype=R.dtype, device=R.device)
        return s[..., None, None] * (X @ R.transpose(-1, -2)) + t[..., None, :]
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    if R.shape[-2:] != (3, 3) or t.shape[-1:] != (3,):
        raise ValueError(f"R must be (*, 3, 3) and t (*, 3), got {R.shape} and {t.shape}")
    return s[..., None, None] * (points @ np.swapaxes(R, -1, -2)) + t[..., None, :]


@dataclass(frozen=True, eq=False)
class ObjectTemplate:
    """A rigid object template with keypoints, symmetries and named parts (see module docstring)."""

    name: str
    """Template name (a category name for the built-in templates)."""
    vertices: np.ndarray
    """(V, 3) float64 vertices in metres, in the object frame."""
    faces: np.ndarray
    """(F, 3) int64 triangle vertex ids."""
    keypoint_vertex_ids: tuple[np.ndarray, ...]
    """K groups of vertex ids; keypoint k is the mean of its group's vertices."""
    keypoint_names: tuple[str, ...]
    """K unique keypoint names."""
    symmetries: tuple[Symmetry, ...]
    """S rigid maps ``(R_s (3, 3), t_s (3,))`` of the object onto itself; identity first."""
    keypoint_permutations: np.ndarray
    """(S, K) int64: transformed keypoint k of symmetry s lands on keypoint ``perm[s, k]``."""
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    """Named vertex-id sets, e.g. ``"handle"``, used for part contact."""
    interaction_pairs: tuple[tuple[str, str], ...] = ()
    """Declared ``(body_part, object_part)`` contacts; body parts from :data:`BODY_PARTS`."""
    category: str = ""
    """Object category (the name when empty)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name: expected a non-empty string")
        self._set("vertices", _check_vertices(self.vertices))
        num_v = len(self.vertices)
        self._set("faces", _check_faces(self.faces, num_v))
        self._set("keypoint_vertex_ids", self._checked_keypoints(num_v))
        self._set("symmetries", self._checked_symmetries())
        self._set(
            "keypoint_permutations",
            _check_permutations(
                self.keypoint_permutations, len(self.symmetries), len(self.keypoint_names)
            ),
        )
        parts = {str(k): _id_array(v, f"parts[{k!r}]", num_v) for k, v in dict(self.parts).items()}
        self._set("parts", parts)
        self._set("interaction_pairs", self._checked_pairs())
        self._set("category", str(self.category or self.name))

    def _set(self, key: str, value: Any) -> None:
        """Replace a field with its validated form (the dataclass is frozen)."""
        object.__setattr__(self, key, value)

    def _checked_keypoints(self, num_vertices: int) -> tuple[np.ndarray, ...]:
        """Validate keypoint groups against names; returns the groups as read-only int64 arrays."""
        groups = tuple(self.keypoint_vertex_ids)
        names = tuple(self.keypoint_names)
        if len(groups) != len(names):
            raise ValueError(
                f"keypoint_names: {len(names)} names for {len(groups)} keypoint groups"
            )
        if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"keypoint_names: expected unique non-empty strings, got {names}")
        self._set("keypoint_names", names)
        return tuple(
            _id_array(g, f"keypoint_vertex_ids[{k}] ({names[k]!r})", num_vertices)
            for k, g in enumerate(groups)
        )

    def _checked_symmetries(self) -> tuple[Symmetry, ...]:
        """Validate the symmetries and that the first one is the identity."""
        syms = tuple(_check_symmetry(pair, i) for i, pair in enumerate(self.symmetries))
        if not syms or not is_identity(syms[0]):
            raise ValueError("symmetries: expected at least one, with the identity (I, 0) first")
        return syms

    def _checked_pairs(self) -> tuple[tuple[str, str], ...]:
        """Validate ``(body_part, object_part)`` pairs against BODY_PARTS and ``parts``."""
        pairs = tuple((str(b), str(o)) for b, o in self.interaction_pairs)
        for body, part in pairs:
            if body not in BODY_PARTS:
                raise ValueError(
                    f"interaction_pairs: unknown body part {body!r}; expected one of {BODY_PARTS}"
                )
            if part not in self.parts:
                raise ValueError(
                    f"interaction_pairs: unknown object part {part!r}; "
                    f"parts are {sorted(self.parts)}"
                )
        return pairs

    @property
    def num_keypoints(self) -> int:
        """Number of keypoints K."""
        return len(self.keypoint_names)

    @property
    def num_symmetries(self) -> int:
        """Number of symmetries S (at least 1: the identity)."""
        return len(self.symmetries)

    @cached_property
    def keypoints(self) -> np.ndarray:
        """(K, 3) keypoints in the object frame: the mean of each keypoint's vertex group."""
        if not self.keypoint_vertex_ids:
            return _readonly(np.zeros((0, 3)))
        return _readonly(np.stack([self.vertices[ids].mean(0) for ids in self.keypoint_vertex_ids]))

    @cached_property
    def diameter(self) -> float:
        """Largest distance between two vertices, in metres."""
        return max_pairwise_distance(self.vertices)

    @cached_property
    def extents(self) -> np.ndarray:
        """(3,) side lengths of the axis-aligned bounding box in the object frame."""
        return _readonly(np.ptp(self.vertices, axis=0))

    @property
    def symmetry_rotations(self) -> np.ndarray:
        """(S, 3, 3) symmetry rotations, identity first."""
        return np.stack([rot for rot, _ in self.symmetries])

    @property
    def symmetry_translations(self) -> np.ndarray:
        """(S, 3) symmetry translations, zero first."""
        return np.stack([trans for _, trans in self.symmetries])

    def transformed(self, R: Any, t: Any, s: Any = 1.0) -> Any:
        """Posed vertices ``s * vertices @ R^T + t`` (paper eq. 3).

        Args:
            R: (*, 3, 3) rotation(s), numpy or torch (then the result is a torch tensor).
            t: (*, 3) translation(s).
            s: scalar or (*,) scale(s).

        Returns:
            (*, V, 3) posed vertices.
        """
        return _transform(self.vertices, R, t, s)

    def posed_keypoints(self, R: Any, t: Any, s: Any = 1.0) -> Any:
        """Posed keypoints ``s * keypoints @ R^T + t``: (*, K, 3) for R (*, 3, 3), t (*, 3)."""
        return _transform(self.keypoints, R, t, s)

    def to_trimesh(self) -> Any:
        """The mesh as a ``trimesh.Trimesh`` (vertex order kept, no processing)."""
        import trimesh

        return trimesh.Trimesh(np.array(self.vertices), np.array(self.faces), process=False)


def build_template(
    name: str,
    vertices: np.ndarray,
    faces: np.ndarray,
    keypoint_vertex_ids: dict[str, Any],
    symmetries: tuple[Symmetry, ...] | list[Symmetry] | None = None,
    parts: dict[str, Any] | None = None,
    interaction_pairs: tuple[tuple[str, str], ...] = (),
    category: str = "",
    tolerance: float | None = None,
    keypoint_permutations: np.ndarray | None = None,
) -> ObjectTemplate:
    """Build a template, deriving the keypoint permutations of the symmetries.

    Args:
        name: template name.
        vertices: (V, 3) vertices in metres.
        faces: (F, 3) vertex ids.
        keypoint_vertex_ids: ordered ``{keypoint name: vertex ids}``.
        symmetries: rigid self-maps; None means identity only. The identity is prepended when
            the first entry is not it.
        parts: named vertex-id sets.
        interaction_pairs: ``(body_part, object_part)`` pairs.
        category: category name (defaults to ``name``).
        tolerance: largest keypoint mismatch allowed under a symmetry, in metres
            (default 1e-4 of the vertex bounding-box diagonal).
        keypoint_permutations: (S, K) permutations to use instead of deriving them (S counts
            the identity, which must then be given first).

    Raises:
        ValueError: on invalid input, or a symmetry that does not map keypoints onto keypoints.
    """
    verts = _check_vertices(vertices)
    syms = [_check_symmetry(pair, i) for i, pair in enumerate(symmetries or [])]
    if not syms or not is_identity(syms[0]):
        syms.insert(0, (np.eye(3), np.zeros(3)))
    names = tuple(keypoint_vertex_ids)
    groups = tuple(np.array(ids) for ids in keypoint_vertex_ids.values())
    checked = [
        _id_array(g, f"keypoint_vertex_ids[{n!r}]", len(verts))
        for n, g in zip(names, groups, strict=True)
    ]
    keypoints = np.stack([verts[g].mean(0) for g in checked]) if checked else np.zeros((0, 3))
    if tolerance is None:
        tolerance = 1e-4 * float(np.linalg.norm(np.ptp(verts, axis=0)))
    perms = (
        _derive_permutations(keypoints, syms, tolerance)
        if keypoint_permutations is None
        else keypoint_permutations
    )
    return ObjectTemplate(
        name=name,
        vertices=verts,
        faces=faces,
        keypoint_vertex_ids=groups,
        keypoint_names=names,
        symmetries=tuple(syms),
        keypoint_permutations=perms,
        parts=dict(parts or {}),
        interaction_pairs=tuple(interaction_pairs),
        category=category or name,
    )
