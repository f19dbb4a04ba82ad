"""Linear blend skinning for the SMPL family, as pure batched torch functions.

The pipeline is: shape (and expression) blend shapes on the template, pose-corrective
blend shapes from the joint rotations, rest joints regressed from the shaped template,
rigid transforms composed along the kinematic tree, and skinning of the posed template
by the per-vertex blend of those transforms. Joint regression is linear in the shape
coefficients, so `lbs` takes the regressed template and basis (`regress_joints` applied
once to ``v_template`` and ``shapedirs``) instead of regressing every vertex per call.
Dimension names: B batch, V vertices, J joints, C blend coefficients.

Written here rather than taken from the ``smplx`` package: that package's licence is
non-commercial and its loaders need chumpy for the official pickles; it is used only in
the tests, as the reference these functions are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class BodyOutput:
    """Posed body: world-space mesh, joints and joint orientations."""

    vertices: Tensor
    """(B, V, 3) posed vertices."""
    joints: Tensor
    """(B, J, 3) posed joints, in the model's joint order."""
    joint_rotations: Tensor
    """(B, J, 3, 3) global (world) rotation of each joint."""
    rest_joints: Tensor
    """(B, J, 3) joints of the shaped body in its rest pose (no translation)."""


@dataclass
class ChainOutput:
    """Rigid transforms of every joint after composing the kinematic chain."""

    rotations: Tensor
    """(B, J, 3, 3) global rotation of each joint."""
    joints: Tensor
    """(B, J, 3) posed joint positions (the transforms' translations)."""


def blend_shapes(coeffs: Tensor, basis: Tensor, template: Tensor | None = None) -> Tensor:
    """Linear combination of blend shapes: coeffs (B, C) and basis (V, 3, C) give the
    offsets (B, V, 3), added to `template` (V, 3) or (B, V, 3) when given. The result
    may be a vertex-major (V, 3, B) tensor seen as (B, V, 3); skinning uses it as is."""
    n_verts = basis.shape[0]
    if template is None:
        start = basis.new_zeros(1)
    elif template.ndim == 2:
        start = template.reshape(n_verts * 3, 1)
    else:
        start = template.permute(1, 2, 0).reshape(n_verts * 3, -1)
    flat = torch.addmm(start, basis.reshape(n_verts * 3, -1), coeffs.T)
    return flat.view(n_verts, 3, -1).permute(2, 0, 1)


def pose_features(rotmats: Tensor) -> Tensor:
    """Pose-corrective features of joint rotations (B, J, 3, 3): the entries of
    ``R - I`` of every joint but the root, flattened to (B, 9 (J - 1))."""
    eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
    return (rotmats[:, 1:] - eye).flatten(1)


def regress_joints(vertices: Tensor, regressor: Tensor) -> Tensor:
    """Joint positions as fixed linear combinations of vertices: vertices (*, V, D) and
    regressor (J, V) give joints (*, J, D); D is 3 for positions, or 3 C for a
    flattened blend-shape basis."""
    return torch.matmul(regressor, vertices)


def kinematic_levels(parents: Tensor) -> list[Tensor]:
    """Group the joints of a tree by depth: parents (J,) with -1 for roots and each
    parent listed before its children gives one index tensor per depth, roots first.
    Joints of one depth have their parents in the previous depth, so the chain can be
    composed one level at a time."""
    depth: list[int] = []
    for joint, parent in enumerate(parents.tolist()):
        if parent >= joint:
            raise ValueError(f"parents: joint {joint} has parent {parent}; parents must "
                             "come before their children")
        depth.append(0 if parent < 0 else depth[parent] + 1)
    levels = [[j for j, d in enumerate(depth) if d == k] for k in range(max(depth) + 1)]
    return [torch.tensor(lvl, dtype=torch.long, device=parents.device) for lvl in levels]


def chain_transforms(rotmats: Tensor, rest_joints: Tensor, parents: Tensor,
                     levels: list[Tensor] | None = None) -> ChainOutput:
    """Compose local joint rotations (B, J, 3, 3) about rest joints (B, J, 3) along the
    tree `parents` (J,) into global rotations and posed joint positions. `levels` is
    `kinematic_levels(parents)`, computed here when not given."""
    levels = kinematic_levels(parents) if levels is None else levels
    has_parent = (parents >= 0).to(rest_joints.dtype)[:, None]
    local_t = rest_joints - rest_joints[:, parents.clamp(min=0)] * has_parent
    glob_r, glob_t = rotmats, local_t
    for level in levels[1:]:
        par = parents[level]
        par_r = glob_r[:, par]
        new_r = torch.matmul(par_r, rotmats[:, level])
        new_t = glob_t[:, par] + torch.matmul(par_r, local_t[:, level, :, None])[..., 0]
        glob_r = glob_r.index_copy(1, level, new_r)
        glob_t = glob_t.index_copy(1, level, new_t)
    return ChainOutput(rotations=glob_r, joints=glob_t)


def skin_vertices(vertices: Tensor, weights: Tensor, chain: ChainOutput,
                  rest_joints: Tensor) -> Tensor:
    """Linear blend skinning of rest-pose vertices (B, V, 3) with skinning weights
    (V, J), the chain's global transforms and the rest joints (B, J, 3) they rotate
    about; returns posed vertices (B, V, 3). Each column of the 3 x 4 transforms is
    blended by one (V, J) x (J, 3 B) product, batch innermost: that layout keeps the
    CPU matrix products and the per-vertex application (and their gradients) cheap."""
    rot = chain.rotations
    shift = chain.joints - torch.matmul(rot, rest_joints[..., None])[..., 0]
    per_joint = torch.cat([rot, shift[..., None]], dim=-1)  # (B, J, 3, 4)
    n_joints, batch = per_joint.shape[1], per_joint.shape[0]
    stacked = per_joint.permute(3, 1, 2, 0).reshape(4, n_joints, 3 * batch)
    blended = torch.matmul(weights, stacked).view(4, -1, 3, batch)  # (4, V, 3, B)
    # unbind rather than slicing: its backward stacks the gradients in one pass
    col_x, col_y, col_z, col_t = blended.unbind(0)  # each (V, 3, B)
    x, y, z = vertices.permute(1, 2, 0)[:, None].unbind(2)  # each (V, 1, B)
    posed = torch.addcmul(col_t, col_x, x).addcmul_(col_y, y).addcmul_(col_z, z)
    return posed.permute(2, 0, 1)


def lbs(coeffs: Tensor, rotmats: Tensor, v_template: Tensor, shapedirs: Tensor,
        joint_template: Tensor, joint_shapedirs: Tensor, weights: Tensor,
        parents: Tensor, posedirs: Tensor | None = None,
        levels: list[Tensor] | None = None) -> BodyOutput:
    """Pose a body: blend coefficients (B, C) on template (V, 3) with shape basis
    (V, 3, C), joint rotations (B, J, 3, 3), regressed joint template (J, 3) and joint
    basis (J, 3, C), skinning weights (V, J), tree `parents` (J,), and optional
    pose correctives (V, 3, 9 (J - 1)). No translation is applied."""
    rest_joints = blend_shapes(coeffs, joint_shapedirs, joint_template)
    v_posed = blend_shapes(coeffs, shapedirs, v_template)
    if posedirs is not None:
        v_posed = blend_shapes(pose_features(rotmats), posedirs, v_posed)
    chain = chain_transforms(rotmats, rest_joints, parents, levels)
    vertices = skin_vertices(v_posed, weights, chain, rest_joints)
    return BodyOutput(vertices=vertices.contiguous(), joints=chain.joints,
                      joint_rotations=chain.rotations, rest_joints=rest_joints.contiguous())
