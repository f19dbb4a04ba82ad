"""BodyModel behaviour: inputs, defaults, gradients, rotations, attributes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hoirecon.body import SMPL_JOINT_NAMES, BodyModel

GEN_SEED = 5


@pytest.fixture(scope="module")
def tiny_models(make_arrays) -> dict[str, BodyModel]:
    """Small models (V=80) of each kind, float64."""
    return {kind: BodyModel(make_arrays(kind, seed=3, n_verts=80, n_faces=50),
                            dtype=torch.float64) for kind in ("smpl", "smplh", "smplx")}


def _randn(*shape: int, scale: float = 0.5) -> torch.Tensor:
    gen = torch.Generator().manual_seed(GEN_SEED + sum(shape))
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


def test_all_defaults_give_the_rest_body(tiny_arrays) -> None:
    model = BodyModel(tiny_arrays, dtype=torch.float64)
    out = model()
    v_template = torch.from_numpy(tiny_arrays["v_template"])
    assert out.vertices.shape == (1, 60, 3)
    assert torch.allclose(out.vertices[0], v_template, atol=1e-12)
    rest = torch.from_numpy(tiny_arrays["J_regressor"]) @ v_template
    assert torch.allclose(out.joints[0], rest, atol=1e-12)
    assert torch.allclose(out.rest_joints[0], rest, atol=1e-12)
    assert torch.equal(out.joint_rotations, torch.eye(3, dtype=torch.float64).expand(1, 24, 3, 3))


def test_batch_is_inferred_and_broadcast(tiny_models) -> None:
    model = tiny_models["smpl"]
    betas = _randn(1, 10)
    pose = _randn(4, 69)
    out = model(betas=betas, body_pose=pose)
    assert out.vertices.shape == (4, 80, 3)
    one = model(betas=betas, body_pose=pose[2:3])
    assert torch.allclose(out.vertices[2], one.vertices[0], atol=1e-12)
    with pytest.raises(ValueError, match="different batch sizes"):
        model(betas=_randn(2, 10), body_pose=_randn(3, 69))


def test_translation_shifts_everything(tiny_models) -> None:
    model = tiny_models["smplx"]
    pose, transl = _randn(2, 63), _randn(2, 3)
    still, moved = model(body_pose=pose), model(body_pose=pose, transl=transl)
    assert torch.allclose(moved.vertices - still.vertices, transl[:, None].expand(2, 80, 3))
    assert torch.allclose(moved.joints - still.joints, transl[:, None].expand(2, 55, 3))
    assert torch.equal(moved.joint_rotations, still.joint_rotations)


def test_body_pose_63_and_69(tiny_models) -> None:
    smpl, smplh = tiny_models["smpl"], tiny_models["smplh"]
    pose = _randn(2, 69)
    body_only = pose[:, :63]
    padded = torch.cat([body_only, torch.zeros(2, 6, dtype=torch.float64)], 1)
    assert torch.equal(smpl(body_pose=body_only).vertices, smpl(body_pose=padded).vertices)
    assert not torch.allclose(smpl(body_pose=pose).vertices, smpl(body_pose=padded).vertices)
    assert torch.equal(smplh(body_pose=pose).vertices, smplh(body_pose=body_only).vertices)
    with pytest.raises(ValueError, match=r"body_pose: expected \(B, 63\) or \(B, 69\)"):
        smpl(body_pose=_randn(2, 60))


def test_fewer_betas_are_zero_padded(tiny_models) -> None:
    model = tiny_models["smplx"]
    betas, expression = _randn(2, 4), _randn(2, 3)
    full = model(betas=torch.nn.functional.pad(betas, (0, 6)),
                 expression=torch.nn.functional.pad(expression, (0, 7)))
    short = model(betas=betas, expression=expression)
    assert torch.allclose(full.vertices, short.vertices, atol=1e-12)
    with pytest.raises(ValueError, match="betas: the model uses 10 coefficients, got 11"):
        model(betas=_randn(2, 11))


@pytest.mark.parametrize(("kind", "argument"), [
    ("smpl", "left_hand_pose"), ("smpl", "expression"), ("smplh", "jaw_pose"),
    ("smplh", "expression"),
])
def test_arguments_of_other_model_types_are_rejected(tiny_models, kind, argument) -> None:
    with pytest.raises(ValueError, match=f"{argument}: not an input of a {kind}"):
        tiny_models[kind](**{argument: _randn(1, 45 if "hand" in argument else 3)})


def test_wrong_input_sizes_are_named(tiny_models) -> None:
    with pytest.raises(ValueError, match=r"left_hand_pose: expected \(B, 45\)"):
        tiny_models["smplh"](left_hand_pose=_randn(2, 6))
    with pytest.raises(ValueError, match=r"global_orient: expected \(B, 3\)"):
        tiny_models["smplx"](global_orient=_randn(2, 4))
    with pytest.raises(ValueError, match="betas: expected a batch"):
        tiny_models["smpl"](betas=_randn(10))


@pytest.mark.parametrize("kind", ["smpl", "smplh", "smplx"])
def test_gradients_reach_every_input(tiny_models, kind) -> None:
    names = {"betas": 10, "global_orient": 3, "body_pose": 63, "transl": 3}
    if kind != "smpl":
        names.update(left_hand_pose=45, right_hand_pose=45)
    if kind == "smplx":
        names.update(jaw_pose=3, leye_pose=3, reye_pose=3, expression=10)
    inputs = {name: _randn(2, size).requires_grad_() for name, size in names.items()}
    out = tiny_models[kind](**inputs)
    (out.vertices.square().sum() + out.joints.square().sum()).backward()
    for name, value in inputs.items():
        assert value.grad is not None and torch.isfinite(value.grad).all(), name
        assert (value.grad.abs().sum(1) > 0).all(), name


def test_joint_rotations_are_rotations(tiny_models) -> None:
    out = tiny_models["smplx"](global_orient=_randn(3, 3, scale=2.0),
                               body_pose=_randn(3, 63, scale=2.0),
                               left_hand_pose=_randn(3, 45, scale=2.0))
    rot = out.joint_rotations
    eye = torch.eye(3, dtype=rot.dtype).expand_as(rot)
    assert torch.allclose(rot @ rot.transpose(-1, -2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(rot.shape[:2], dtype=rot.dtype))


def test_attributes(tiny_models, tiny_arrays) -> None:
    model = BodyModel(tiny_arrays, gender="male")
    assert model.model_type == "smpl" and model.gender == "male" and model.num_betas == 10
    assert model.joint_names == list(SMPL_JOINT_NAMES) and len(SMPL_JOINT_NAMES) == 24
    assert SMPL_JOINT_NAMES[0] == "pelvis" and SMPL_JOINT_NAMES[-1] == "right_hand"
    assert model.faces.dtype == np.int64 and model.faces.shape == (40, 3)
    assert torch.equal(model.faces_tensor, torch.from_numpy(model.faces))
    assert model.parents.tolist()[:4] == [-1, 0, 0, 0]
    assert model().vertices.dtype == torch.float32
    for kind, count in (("smplh", 52), ("smplx", 55)):
        names = tiny_models[kind].joint_names
        assert len(names) == count and names[:22] == list(SMPL_JOINT_NAMES[:22])
    assert tiny_models["smplx"].joint_names[22:25] == ["jaw", "left_eye", "right_eye"]
    assert tiny_models["smplh"].joint_names[22] == "left_index1"


def test_model_type_must_match_joint_count(tiny_arrays) -> None:
    assert BodyModel(tiny_arrays, model_type="SMPL").model_type == "smpl"
    with pytest.raises(ValueError, match="model_type 'smplx' expects 55 joints"):
        BodyModel(tiny_arrays, model_type="smplx")
    with pytest.raises(ValueError, match="unknown 'smpl-y'"):
        BodyModel(tiny_arrays, model_type="smpl-y")


def test_num_betas_and_state_dict(tiny_arrays) -> None:
    few = BodyModel(tiny_arrays, num_betas=4, dtype=torch.float64)
    assert few.num_betas == 4 and few.shapedirs.shape == (60, 3, 4)
    many = BodyModel(tiny_arrays, num_betas=300, dtype=torch.float64)
    assert many.num_betas == 10
    copy = BodyModel(tiny_arrays, num_betas=4, dtype=torch.float64)
    copy.load_state_dict(few.state_dict())
    pose = _randn(2, 69)
    assert torch.equal(copy(body_pose=pose).vertices, few(body_pose=pose).vertices)


def test_smplx_400_component_release_splits_shape_and_expression(make_arrays) -> None:
    arrays = make_arrays("smplx", seed=9, n_verts=40, n_faces=20)
    arrays["shapedirs"] = np.random.default_rng(9).normal(size=(40, 3, 400))
    del arrays["posedirs"]
    model = BodyModel(arrays, dtype=torch.float64)
    assert model.num_betas == 10 and model.num_expression == 10
    rest = model().vertices[0]
    one_hot = torch.zeros(1, 10, dtype=torch.float64)
    one_hot[0, 2] = 1.0
    shape_move = model(betas=one_hot).vertices[0] - rest
    expr_move = model(expression=one_hot).vertices[0] - rest
    # with no pose correctives and zero pose, coefficients move vertices by their column
    assert torch.allclose(shape_move, torch.from_numpy(arrays["shapedirs"][..., 2]))
    assert torch.allclose(expr_move, torch.from_numpy(arrays["shapedirs"][..., 302]))
