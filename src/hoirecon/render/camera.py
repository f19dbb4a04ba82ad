"""Pinhole camera for the ray caster (OpenCV axes: x right, y down, z forward).

Pixel convention: integer pixel coordinates are pixel *centres*. Pixel ``(row i, col j)``
has its centre at ``u = j, v = i``, and a camera-space point ``p`` projects to
``u = fx * x / z + cx`` (plus skew), ``v = fy * y / z + cy``, i.e. ``K @ p`` followed by the
perspective divide. The image therefore covers ``u in [-0.5, width - 0.5)`` and
``v in [-0.5, height - 0.5)``.

Extrinsics are a :class:`~hoirecon.geometry.RigidTransform` mapping world points into the
camera: ``p_cam = extrinsics.apply(p_world)``. The default (the identity) means meshes are
already given in camera coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from hoirecon.geometry import RigidTransform, project_points

__all__ = ["Camera", "look_at_camera"]

_ORTHO_TOL = 1e-5


def _as_matrix(value: np.ndarray, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Return ``value`` as a read-only finite float64 array of ``shape``, else ValueError."""
    arr = np.array(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"Camera.{name}: expected shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"Camera.{name}: contains NaN or inf")
    arr.setflags(write=False)
    return arr


def _check_intrinsics(K: np.ndarray) -> None:
    """Raise ValueError unless ``K`` (3, 3) is an upper-triangular pinhole matrix."""
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"Camera.K: focal lengths must be positive, got {K[0, 0]}, {K[1, 1]}")
    if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0:
        raise ValueError("Camera.K: expected [[fx, s, cx], [0, fy, cy], [0, 0, 1]]")


def _check_rotation(R: np.ndarray) -> None:
    """Raise ValueError unless ``R`` (3, 3) is a proper rotation."""
    if not np.allclose(R @ R.T, np.eye(3), atol=_ORTHO_TOL) or np.linalg.det(R) < 0:
        raise ValueError("Camera.extrinsics.rotation: expected an orthonormal matrix with determinant +1")


def _identity() -> RigidTransform:
    """The identity extrinsics: meshes given in camera coordinates."""
    return RigidTransform(rotation=np.eye(3), translation=np.zeros(3))


def _checked_extrinsics(extrinsics: object) -> RigidTransform:
    """``extrinsics`` as a RigidTransform of read-only finite float64 arrays, else ValueError."""
    if not isinstance(extrinsics, RigidTransform):
        raise ValueError(f"Camera.extrinsics: expected a RigidTransform, got {type(extrinsics).__name__}")
    rotation = _as_matrix(extrinsics.rotation, "extrinsics.rotation", (3, 3))
    _check_rotation(rotation)
    return RigidTransform(rotation=rotation,
                          translation=_as_matrix(extrinsics.translation, "extrinsics.translation", (3,)))


def _check_size(value: int, name: str) -> int:
    """Return ``value`` as a positive int, else ValueError naming it."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0
    if not ok:
        raise ValueError(f"Camera.{name}: expected a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True, eq=False)
class Camera:
    """Pinhole camera with intrinsics, image size and world-to-camera extrinsics.

    Arrays are copied and made read-only, so per-pixel rays can be cached safely.
    """

    K: np.ndarray
    """(3, 3) intrinsics [[fx, s, cx], [0, fy, cy], [0, 0, 1]] in pixels."""
    width: int
    """Image width W in pixels."""
    height: int
    """Image height H in pixels."""
    extrinsics: RigidTransform = field(default_factory=_identity)
    """World -> camera: ``rotation`` (3, 3) and ``translation`` (3,), ``p_cam = R @ p_world + t``."""

    def __post_init__(self) -> None:
        """Validate the arguments and store read-only float64 copies of the arrays."""
        object.__setattr__(self, "K", _as_matrix(self.K, "K", (3, 3)))
        object.__setattr__(self, "extrinsics", _checked_extrinsics(self.extrinsics))
        object.__setattr__(self, "width", _check_size(self.width, "width"))
        object.__setattr__(self, "height", _check_size(self.height, "height"))
        _check_intrinsics(self.K)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates, ``-R^T t``."""
        return self.extrinsics.inverse().translation

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """Map world points (P, 3) into camera coordinates (P, 3)."""
        return self.extrinsics.apply(np.asarray(points, dtype=np.float64))

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Project camera-space points (P, 3) to pixel coordinates (P, 2) ``(u, v)``.

        Points at or behind the camera (``z <= eps``) get ``inf`` coordinates; callers mask them.
        """
        return project_points(np.asarray(points_cam, dtype=np.float64), self.K, behind="inf")

    def in_image(self, uv: np.ndarray) -> np.ndarray:
        """(P,) bool: pixel coordinates (P, 2) fall inside the image footprint."""
        u, v = uv[:, 0], uv[:, 1]
        return (u >= -0.5) & (u < self.width - 0.5) & (v >= -0.5) & (v < self.height - 0.5)

    @cached_property
    def _camera_rays(self) -> np.ndarray:
        """(H*W, 3) per-pixel camera-space directions ``K^-1 [j, i, 1]`` with z = 1, row-major."""
        cols, rows = np.meshgrid(np.arange(self.width), np.arange(self.height))
        pix = np.stack([cols.ravel(), rows.ravel(), np.ones(cols.size)], axis=1)
        rays = pix.astype(np.float64) @ np.linalg.inv(self.K).T
        rays /= rays[:, 2:3]
        rays.setflags(write=False)
        return rays

    def camera_ray_directions(self) -> np.ndarray:
        """(H*W, 3) camera-space pixel rays with unit z, so the ray parameter is the depth.

        Row-major over pixels: index ``i * W + j`` is pixel (row i, col j). Cached, read-only.
        """
        return self._camera_rays

    @cached_property
    def _world_rays(self) -> np.ndarray:
        """(H*W, 3) unit world-space pixel directions."""
        rays = self._camera_rays @ self.extrinsics.rotation
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        rays.setflags(write=False)
        return rays

    def ray_directions(self) -> np.ndarray:
        """(H*W, 3) unit world-space directions from :attr:`center` through each pixel centre.

        Row-major over pixels (index ``i * W + j``). Cached per camera, read-only.
        """
        return self._world_rays


def _unit(vec: np.ndarray, name: str) -> np.ndarray:
    """Normalise a (3,) vector, raising ValueError naming ``name`` when it is degenerate."""
    arr = np.asarray(vec, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"look_at_camera: {name} must be a finite (3,) vector")
    norm = np.linalg.norm(arr)
    if norm < 1e-12:
        raise ValueError(f"look_at_camera: {name} has zero length")
    return arr / norm


def look_at_camera(
    eye: np.ndarray,
    target: np.ndarray,
    up: np.ndarray,
    focal: float,
    width: int,
    height: int,
) -> Camera:
    """Camera at ``eye`` (3,) looking at ``target`` (3,); world ``up`` (3,) points up in the image.

    The principal point is the image centre ``((W - 1) / 2, (H - 1) / 2)`` under the
    pixel-centre convention of this module; ``focal`` is in pixels.
    """
    if not focal > 0:
        raise ValueError(f"look_at_camera: focal must be positive, got {focal!r}")
    eye = np.asarray(eye, dtype=np.float64)
    forward = _unit(np.asarray(target, dtype=np.float64) - eye, "target - eye")
    up_dir = _unit(up, "up")
    down = forward * np.dot(up_dir, forward) - up_dir
    if np.linalg.norm(down) < 1e-6:
        raise ValueError("look_at_camera: up is parallel to the viewing direction")
    down /= np.linalg.norm(down)
    right = np.cross(down, forward)
    R = np.stack([right, down, forward])
    K = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])
    return Camera(K=K, width=width, height=height, extrinsics=RigidTransform(rotation=R, translation=-R @ eye))
