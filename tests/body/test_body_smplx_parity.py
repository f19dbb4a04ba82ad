"""Our BodyModel against the reference `smplx` package on the same random model files."""

from __future__ import annotations

import pytest
import smplx  # noqa: E402  (a dev dependency: the reference these tests compare against)
import torch

from hoirecon.body import load_body_model

BATCH = 3


def _random_inputs(kind: str, dtype: torch.dtype, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random betas and poses (axis-angle up to ~0.8 rad per joint) for one model kind."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 0.5) -> torch.Tensor:
        return (torch.randn(*shape, generator=gen) * scale).to(dtype)

    body_joints = 23 if kind == "smpl" else 21
    inputs = {"betas": rand(BATCH, 10, scale=1.0), "global_orient": rand(BATCH, 3),
              "body_pose": rand(BATCH, 3 * body_joints), "transl": rand(BATCH, 3)}
    if kind != "smpl":
        inputs["left_hand_pose"] = rand(BATCH, 45)
        inputs["right_hand_pose"] = rand(BATCH, 45)
    if kind == "smplx":
        inputs.update(jaw_pose=rand(BATCH, 3), leye_pose=rand(BATCH, 3),
                      reye_pose=rand(BATCH, 3), expression=rand(BATCH, 10, scale=1.0))
    return inputs


def _reference_model(kind: str, files: dict, dtype: torch.dtype) -> torch.nn.Module:
    """The smplx package's model on the same file (full 45-d hand poses, flat mean)."""
    common = {"batch_size": BATCH, "dtype": dtype, "num_betas": 10}
    if kind == "smpl":
        return smplx.SMPL(model_path=str(files["smpl_pkl"]), **common)
    hands = {"use_pca": False, "flat_hand_mean": True, "ext": "npz"}
    if kind == "smplh":
        return smplx.SMPLH(model_path=str(files["smplh"]), **common, **hands)
    return smplx.SMPLX(model_path=str(files["smplx"]), num_expression_coeffs=10,
                       **common, **hands)


@pytest.mark.parametrize("kind", ["smpl", "smplh", "smplx"])
@pytest.mark.parametrize(("dtype", "atol"), [(torch.float32, 1e-5), (torch.float64, 1e-6)])
def test_matches_smplx_package(model_files, kind, dtype, atol) -> None:
    # float64 cannot agree further: smplx adds 1e-8 to every rotation vector
    ours = load_body_model(model_files[kind], dtype=dtype)
    reference = _reference_model(kind, model_files, dtype)
    inputs = _random_inputs(kind, dtype)
    with torch.no_grad():
        got = ours(**inputs)
        want = reference(**inputs)
    assert ours.model_type == kind
    n_joints = ours.num_joints
    assert got.vertices.shape == want.vertices.shape
    assert (got.vertices - want.vertices).abs().max() < atol
    assert (got.joints - want.joints[:, :n_joints]).abs().max() < atol
    # the comparison must not be trivially satisfied by a resting body
    assert (want.vertices - reference.v_template).abs().max() > 0.05


def test_smpl_pickle_and_npz_give_the_same_body(model_files) -> None:
    inputs = _random_inputs("smpl", torch.float32, seed=3)
    from_pkl = load_body_model(model_files["smpl_pkl"])(**inputs)
    from_npz = load_body_model(model_files["smpl"])(**inputs)
    assert torch.equal(from_pkl.vertices, from_npz.vertices)
    assert torch.equal(from_pkl.joint_rotations, from_npz.joint_rotations)
