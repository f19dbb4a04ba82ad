"""Rotation conversions and distances, thin typed wrappers around ``roma``.

Conventions: rotation matrices act on column vectors (``y = R @ x``); axis-angle vectors have
the rotation angle as their norm; the 6D representation of Zhou et al. (CVPR 2019) is the first
two COLUMNS of the matrix concatenated, ``(R00, R10, R20, R01, R11, R21)``, mapped back by
Gram-Schmidt. Every function accepts any leading batch dims. The conversions live in ``roma``;
this module fixes our names and conventions and validates inputs. The geodesic angle is written
here because roma's chordal form loses precision near pi, where the metrics need it.
"""

from __future__ import annotations

import roma
import torch
from torch import Tensor

from hoirecon.geometry._arrays import accepts_numpy
from hoirecon.geometry._checks import check_broadcast, check_tensor

_GRAMSCHMIDT_EPS = 1e-12


def axis_angle_to_rotmat(axis_angle: Tensor) -> Tensor:
    """Rotation matrices from axis-angle vectors (Rodrigues), with finite gradients at zero angle.

    Shapes: ``axis_angle (..., 3) -> (..., 3, 3)``. Small angles use roma's first-order
    expansion, so the map and its derivative stay finite at the identity.
    """
    check_tensor(axis_angle, "axis_angle", (3,))
    return roma.rotvec_to_rotmat(axis_angle)


def rotmat_to_axis_angle(rotmat: Tensor) -> Tensor:
    """Axis-angle vectors (angle in ``[0, pi]``) from rotation matrices.

    Shapes: ``rotmat (..., 3, 3) -> (..., 3)``. Goes through unit quaternions, which keeps the
    identity and small angles well conditioned; the result for exactly ``pi`` has an arbitrary
    sign, as any representation would.
    """
    check_tensor(rotmat, "rotmat", (3, 3))
    return roma.rotmat_to_rotvec(rotmat)


def rot6d_to_rotmat(rot6d: Tensor) -> Tensor:
    """Rotation matrices from the 6D representation (first two columns), by Gram-Schmidt.

    Shapes: ``rot6d (..., 6) -> (..., 3, 3)``. ``rot6d[..., :3]`` is the first column and
    ``rot6d[..., 3:]`` the second; any pair of non-collinear vectors is valid input, which is what
    makes this parameterisation pleasant for gradient descent. The third column is their cross
    product, so the result is always a proper rotation (det = +1).
    """
    check_tensor(rot6d, "rot6d", (6,))
    columns = torch.stack((rot6d[..., :3], rot6d[..., 3:]), dim=-1)
    return roma.special_gramschmidt(columns, epsilon=_GRAMSCHMIDT_EPS)


def rotmat_to_rot6d(rotmat: Tensor) -> Tensor:
    """The 6D representation (first two columns, concatenated) of rotation matrices.

    Shapes: ``rotmat (..., 3, 3) -> (..., 6)``; inverse of :func:`rot6d_to_rotmat` on rotations.
    """
    check_tensor(rotmat, "rotmat", (3, 3))
    return torch.cat((rotmat[..., :, 0], rotmat[..., :, 1]), dim=-1)


@accepts_numpy
def geodesic_angle(R_a: Tensor, R_b: Tensor) -> Tensor:
    """Angle in radians, in ``[0, pi]``, of the rotation taking ``R_b`` to ``R_a``.

    Shapes: ``R_a (..., 3, 3), R_b (..., 3, 3) -> (...)`` with broadcasting leading dims; torch
    tensors or numpy arrays (numpy in, numpy out). The angle of ``Q = R_a @ R_b^T`` is taken as
    ``atan2(sin, cos)`` with ``cos = (tr Q - 1) / 2`` and ``sin = |vee(Q - Q^T)| / 2``, which keeps
    full precision near both 0 and pi (``arccos`` of the trace loses about half the digits there,
    the chordal ``asin`` form near pi). The gradient is zero (a subgradient) at exactly 0 and pi.
    """
    check_tensor(R_a, "R_a", (3, 3))
    check_tensor(R_b, "R_b", (3, 3))
    check_broadcast({"R_a": R_a.shape[:-2], "R_b": R_b.shape[:-2]})
    relative = R_a @ R_b.transpose(-1, -2)
    cos = 0.5 * (relative.diagonal(dim1=-2, dim2=-1).sum(dim=-1) - 1.0)
    vee = torch.stack((relative[..., 2, 1] - relative[..., 1, 2],
                       relative[..., 0, 2] - relative[..., 2, 0],
                       relative[..., 1, 0] - relative[..., 0, 1]), dim=-1)
    sin = 0.5 * torch.linalg.vector_norm(vee, dim=-1)
    return torch.atan2(sin, cos.clamp(-1.0, 1.0))
