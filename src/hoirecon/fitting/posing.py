"""Cheap differentiable body posing for fitting: joints always, skinned vertices only where asked.

The keypoint and prior losses need only the joints, which come from the kinematic chain
without skinning any vertex; the contact and PHOSA losses need a few hundred vertices. Posing
those alone makes one optimisation step independent of the mesh resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import roma
import torch
from torch import Tensor

from hoirecon.body import BodyModel
from hoirecon.body.lbs import ChainOutput, blend_shapes, chain_transforms, skin_vertices

NUM_BODY_POSE_JOINTS = 21


@dataclass
class PosedBody:
    """A posed body in the human frame (pelvis at the origin, no global orientation)."""

    joints: Tensor
    """(B, J, 3) joints."""
    vertices: Tensor | None
    """(B, Vs, 3) the requested vertices, or None."""
    rest_pelvis: Tensor
    """(B, 3) pelvis of the shaped rest body (what LBS rotates about)."""


def _coefficients(model: BodyModel, betas: Tensor) -> Tensor:
    """Pad betas (B, <=S) with zeros to the model's blend-coefficient count."""
    width = model.shapedirs.shape[-1]
    return torch.nn.functional.pad(betas[:, :width], (0, width - min(width, betas.shape[1])))


def _rotations(model: BodyModel, body_pose: Tensor) -> Tensor:
    """Local joint rotations (B, J, 3, 3): identity root and hands/face, the 21 body joints posed."""
    batch = body_pose.shape[0]
    aa = body_pose.new_zeros(batch, model.num_joints, 3)
    aa = torch.cat([aa[:, :1], body_pose.view(batch, NUM_BODY_POSE_JOINTS, 3), aa[:, 1 + NUM_BODY_POSE_JOINTS:]], dim=1)
    return roma.rotvec_to_rotmat(aa)


def _skin_per_image(model: BodyModel, coeffs: Tensor, chain: ChainOutput, rest_joints: Tensor, ids: Tensor) -> Tensor:
    """Skin a different vertex subset per image: ids (B, N) -> vertices (B, N, 3)."""
    v = model.v_template[ids] + torch.einsum("bnkc,bc->bnk", model.shapedirs[ids], coeffs)
    shift = chain.joints - torch.einsum("bjkl,bjl->bjk", chain.rotations, rest_joints)
    transforms = torch.cat([chain.rotations, shift[..., None]], dim=-1)  # (B, J, 3, 4)
    blended = torch.einsum("bnj,bjkl->bnkl", model.lbs_weights[ids], transforms)
    return torch.einsum("bnkl,bnl->bnk", blended[..., :3], v) + blended[..., 3]


def pose_body(model: BodyModel, betas: Tensor, body_pose: Tensor, vertex_ids: Tensor | None = None) -> PosedBody:
    """Pose ``betas`` (B, 10) and ``body_pose`` (B, 63) in the human frame.

    ``vertex_ids`` selects the vertices to skin: (Vs,) the same for every image, or (B, N) one
    subset per image. Pose correctives are ignored for the subset (the embedded body has none;
    for SMPL files they move vertices by millimetres).
    """
    coeffs = _coefficients(model, betas)
    rest_joints = blend_shapes(coeffs, model.joint_shapedirs, model.joint_template)
    chain = chain_transforms(_rotations(model, body_pose), rest_joints, model.parents, model.levels)
    pelvis = chain.joints[:, :1]
    vertices = None
    if vertex_ids is not None and vertex_ids.ndim == 2:
        vertices = _skin_per_image(model, coeffs, chain, rest_joints, vertex_ids) - pelvis
    elif vertex_ids is not None:
        v = blend_shapes(coeffs, model.shapedirs[vertex_ids], model.v_template[vertex_ids])
        vertices = skin_vertices(v, model.lbs_weights[vertex_ids], chain, rest_joints) - pelvis
    return PosedBody(chain.joints - pelvis, vertices, rest_joints[:, 0])
