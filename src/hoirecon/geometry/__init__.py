"""Geometry: rotations, rigid and similarity transforms, pinhole cameras, the 2.5D keypoint
representation and Procrustes.

All functions are pure, batched torch functions that accept any leading batch dims and raise
``ValueError`` naming the offending argument on malformed input. :func:`project_points`,
:func:`procrustes`, :func:`geodesic_angle` and :func:`check_in_front` also take numpy arrays
(computed in torch, returned as numpy), and the transforms hold either kind, so evaluation code
in numpy shares the same implementation.
"""

from hoirecon.geometry.camera import (
    DEPTH_EPS,
    BehindPolicy,
    check_in_front,
    focal_xy,
    intrinsics_matrix,
    project_points,
)
from hoirecon.geometry.procrustes import procrustes
from hoirecon.geometry.ray_distance import PARALLEL_EPS, ray_distance, ray_distances
from hoirecon.geometry.rotations import (
    axis_angle_to_rotmat,
    geodesic_angle,
    rot6d_to_rotmat,
    rotmat_to_axis_angle,
    rotmat_to_rot6d,
)
from hoirecon.geometry.transforms import RigidTransform, Similarity
from hoirecon.geometry.x25d import (
    X25D,
    camera_from_human_pose,
    from_x25d,
    human_to_camera,
    pixels_to_rays,
    points_to_rays,
    to_x25d,
)

__all__ = [
    "DEPTH_EPS",
    "PARALLEL_EPS",
    "X25D",
    "BehindPolicy",
    "RigidTransform",
    "Similarity",
    "axis_angle_to_rotmat",
    "camera_from_human_pose",
    "check_in_front",
    "focal_xy",
    "from_x25d",
    "geodesic_angle",
    "human_to_camera",
    "intrinsics_matrix",
    "pixels_to_rays",
    "points_to_rays",
    "procrustes",
    "project_points",
    "ray_distance",
    "ray_distances",
    "rot6d_to_rotmat",
    "rotmat_to_axis_angle",
    "rotmat_to_rot6d",
    "to_x25d",
]
