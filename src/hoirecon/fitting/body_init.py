"""A body in the camera frame as the fit starts from it, and how to get one from an estimate.

``pelvis_cam = transl + J0(betas)``: the body model's ``transl`` argument moves the rest pose,
whose pelvis ``J0`` depends on the shape, and the global rotation turns about that pelvis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hoirecon.body import BodyModel


@dataclass(frozen=True)
class BodyInit:
    """A body in the camera frame (axis-angle, the body model's parameters)."""

    betas: np.ndarray
    """(num_betas,) shape."""
    body_pose: np.ndarray
    """(63,) pose of the 21 body joints."""
    global_orient: np.ndarray
    """(3,) body -> camera rotation."""
    pelvis_cam: np.ndarray
    """(3,) pelvis joint in the camera frame (= transl + rest pelvis J0(betas))."""
    transl: np.ndarray
    """(3,) the body model's ``transl`` argument."""


def rest_pelvis(body_model: BodyModel, betas: np.ndarray) -> np.ndarray:
    """The rest-pose pelvis J0(betas) (3,) of shape betas (<= num_betas,): the point the
    body's global rotation turns about, so ``pelvis_cam = transl + J0(betas)``."""
    with torch.no_grad():
        basis = body_model.joint_shapedirs[0].detach().cpu().double()  # (3, C)
        coeffs = np.zeros(basis.shape[1])
        coeffs[:len(betas)] = betas
        return (body_model.joint_template[0].detach().cpu().double()
                + basis @ torch.as_tensor(coeffs)).numpy()


def _vector(value: Any, name: str, sizes: tuple[int, ...]) -> np.ndarray:
    """A finite flat float64 vector whose length is one of ``sizes`` (any length if empty)."""
    arr = np.asarray(value, dtype=np.float64).ravel()
    if (sizes and arr.size not in sizes) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected a finite vector of length {' or '.join(map(str, sizes))}, "
                         f"got shape {np.shape(value)}")
    return arr


def init_body_from_estimate(estimate: Any, body_model: BodyModel) -> BodyInit:
    """Body init from an HMR-style estimate with attributes ``betas``, ``body_pose`` (63 or
    69; SMPL's hand joints are dropped), ``global_orient`` (3) and ``transl`` (3) in the camera
    frame (a :class:`~hoirecon.data.sample.Estimate` or ``GroundTruth``). Shapes beyond the
    model's ``num_betas`` are dropped, shorter ones zero-padded."""
    betas = _vector(estimate.betas, "betas", ())
    num_betas = int(body_model.num_betas)
    betas = np.pad(betas[:num_betas], (0, max(0, num_betas - len(betas))))
    transl = _vector(estimate.transl, "transl", (3,))
    return BodyInit(betas=betas, body_pose=_vector(estimate.body_pose, "body_pose", (63, 69))[:63],
                    global_orient=_vector(estimate.global_orient, "global_orient", (3,)),
                    pelvis_cam=transl + rest_pelvis(body_model, betas), transl=transl)
