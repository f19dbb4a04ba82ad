"""The skinning functions against naive, joint-by-joint and vertex-by-vertex versions."""

from __future__ import annotations

import numpy as np
import roma
import torch

from hoirecon.body import (
    BodyModel,
    blend_shapes,
    chain_transforms,
    kinematic_levels,
    pose_features,
    regress_joints,
    skin_vertices,
)


def _naive_pose(arrays: dict, betas: torch.Tensor, rotvecs: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Textbook LBS in float64: regress joints from the shaped mesh, walk the tree one
    joint at a time with 4x4 matrices, skin with per-vertex 4x4 blends."""
    t = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in arrays.items()}
    parents = arrays["kintree_table"][0].astype(np.int64)
    rot = roma.rotvec_to_rotmat(rotvecs)  # (B, J, 3, 3)
    shaped = t["v_template"] + torch.einsum("bs,vcs->bvc", betas, t["shapedirs"][..., :10])
    feats = (rot[:, 1:] - torch.eye(3, dtype=rot.dtype)).flatten(1)
    posed = shaped + torch.einsum("bp,vcp->bvc", feats, t["posedirs"])
    joints = torch.einsum("jv,bvc->bjc", t["J_regressor"], shaped)
    world = []
    for j in range(len(parents)):
        local = torch.eye(4, dtype=rot.dtype).repeat(len(betas), 1, 1)
        local[:, :3, :3] = rot[:, j]
        local[:, :3, 3] = joints[:, j] - (joints[:, parents[j]] if j > 0 else 0)
        world.append(local if j == 0 else world[parents[j]] @ local)
    world = torch.stack(world, dim=1)  # (B, J, 4, 4)
    unposed = world.clone()
    unposed[..., :3, 3] -= (world[..., :3, :3] @ joints[..., None])[..., 0]
    blend = torch.einsum("vj,bjmn->bvmn", t["weights"], unposed)
    homo = torch.cat([posed, torch.ones_like(posed[..., :1])], dim=-1)
    verts = (blend @ homo[..., None])[..., :3, 0]
    return verts, world[..., :3, 3], world[..., :3, :3]


def test_model_matches_naive_lbs(tiny_arrays) -> None:
    gen = torch.Generator().manual_seed(1)
    betas = torch.randn(3, 10, generator=gen, dtype=torch.float64)
    rotvecs = 0.6 * torch.randn(3, 24, 3, generator=gen, dtype=torch.float64)
    model = BodyModel(tiny_arrays, dtype=torch.float64)
    out = model(betas=betas, global_orient=rotvecs[:, 0], body_pose=rotvecs[:, 1:].flatten(1))
    verts, joints, rotations = _naive_pose(tiny_arrays, betas, rotvecs)
    assert torch.allclose(out.vertices, verts, atol=1e-12)
    assert torch.allclose(out.joints, joints, atol=1e-12)
    assert torch.allclose(out.joint_rotations, rotations, atol=1e-12)


def test_kinematic_levels_group_by_depth(parents_by_kind) -> None:
    parents = torch.tensor(parents_by_kind["smpl"])
    levels = kinematic_levels(parents)
    assert [lvl.tolist() for lvl in levels[:3]] == [[0], [1, 2, 3], [4, 5, 6]]
    assert sorted(torch.cat(levels).tolist()) == list(range(24))
    for previous, level in zip(levels, levels[1:]):
        assert set(parents[level].tolist()) <= set(previous.tolist())
    assert len(kinematic_levels(torch.tensor(parents_by_kind["smplx"]))) == 11


def test_chain_handles_several_roots() -> None:
    parents = torch.tensor([-1, 0, -1, 2])
    rot = roma.rotvec_to_rotmat(torch.tensor([[[0.0, 0, 1.0], [0, 0, 0], [0, 0, 0.5],
                                               [0, 0, 0]]]))
    rest = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [5, 0, 0], [6, 0, 0]]])
    chain = chain_transforms(rot, rest, parents)
    assert torch.allclose(chain.joints[0, 3], torch.tensor([5 + np.cos(0.5), np.sin(0.5), 0],
                                                           dtype=torch.float32), atol=1e-6)
    assert torch.allclose(chain.rotations[0, 1], rot[0, 0])


def test_blend_and_regression_helpers() -> None:
    gen = torch.Generator().manual_seed(2)
    basis = torch.randn(7, 3, 4, generator=gen)
    coeffs = torch.randn(2, 4, generator=gen)
    template = torch.randn(7, 3, generator=gen)
    want = template + torch.einsum("bc,vdc->bvd", coeffs, basis)
    assert torch.allclose(blend_shapes(coeffs, basis, template), want, atol=1e-6)
    assert torch.allclose(blend_shapes(coeffs, basis, want), want + want - template, atol=1e-5)
    regressor = torch.rand(5, 7, generator=gen)
    assert torch.allclose(regress_joints(want, regressor)[1], regressor @ want[1], atol=1e-6)
    eye = torch.eye(3).expand(2, 4, 3, 3)
    assert torch.equal(pose_features(eye), torch.zeros(2, 27))


def test_skinning_with_identity_transforms_returns_input() -> None:
    gen = torch.Generator().manual_seed(3)
    verts = torch.randn(2, 9, 3, generator=gen)
    rest = torch.randn(2, 4, 3, generator=gen)
    weights = torch.rand(9, 4, generator=gen)
    weights = weights / weights.sum(1, keepdim=True)
    chain = chain_transforms(torch.eye(3).expand(2, 4, 3, 3), rest,
                             torch.tensor([-1, 0, 1, 1]))
    assert torch.allclose(skin_vertices(verts, weights, chain, rest), verts, atol=1e-6)


def test_gradcheck_float64(tiny_arrays) -> None:
    model = BodyModel(tiny_arrays, dtype=torch.float64)
    gen = torch.Generator().manual_seed(4)
    betas = torch.randn(2, 10, generator=gen, dtype=torch.float64, requires_grad=True)
    pose = (0.5 * torch.randn(2, 69, generator=gen, dtype=torch.float64)).requires_grad_()

    def f(b: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        out = model(betas=b, body_pose=p)
        return torch.cat([out.vertices[:, ::7].flatten(1), out.joints.flatten(1)], 1)

    assert torch.autograd.gradcheck(f, (betas, pose), eps=1e-6, atol=1e-6, fast_mode=True)
