"""BEHAVE protocol: invariant to a similarity of the whole prediction, 10k samples by default."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.eval.protocols import evaluate_behave, evaluate_behave_files, evaluate_wildhoi
from hoirecon.eval.protocols.surfaces import MeshBatch, surface_errors


def _batch(pred_body: np.ndarray, pred_obj: np.ndarray, gt_body: np.ndarray,
           gt_obj: np.ndarray) -> MeshBatch:
    rng = np.random.default_rng(9)
    body_faces = rng.integers(0, pred_body.shape[1], size=(60, 3))
    obj_faces = rng.integers(0, pred_obj.shape[1], size=(30, 3))
    frames = np.arange(len(pred_body))
    return MeshBatch(pred_body, pred_obj, gt_body, gt_obj, body_faces, obj_faces, frames)


def test_aligned_chamfer_unchanged_by_a_similarity_of_the_prediction() -> None:
    rng = np.random.default_rng(0)
    gt_body, gt_obj = rng.normal(size=(2, 40, 3)), rng.normal(size=(2, 20, 3)) + 1.0
    pred_body = gt_body + rng.normal(scale=0.05, size=gt_body.shape)
    pred_obj = gt_obj + rng.normal(scale=0.05, size=gt_obj.shape)
    batch = _batch(pred_body, pred_obj, gt_body, gt_obj)
    rot = Rotation.random(random_state=1).as_matrix()
    s, t = 2.7, np.array([3.0, -1.0, 5.0])
    moved = _batch(s * pred_body @ rot.T + t, s * pred_obj @ rot.T + t,
                   gt_body, gt_obj)
    plain = surface_errors(batch, 3000, seed=0, align=True)
    after = surface_errors(moved, 3000, seed=0, align=True)
    np.testing.assert_allclose(after, plain, rtol=1e-6, atol=1e-9)
    assert (plain > 0).all()
    unaligned = surface_errors(moved, 3000, seed=0, align=False)
    assert (unaligned > 10 * plain).all()


def test_dataset_behave_perfect_is_the_floor_and_procrustes_absorbs_offsets(fit_case: dict, eval_fx) -> None:
    result = evaluate_behave(fit_case["data"], fit_case["fits"], samples=1000)
    assert result.protocol == "behave" and result.settings["procrustes"] is True
    perfect_wildhoi = evaluate_wildhoi(fit_case["data"], fit_case["fits"], samples=1000)
    # a perfect fit: Procrustes is the identity, so both protocols score the same sampling floor
    assert result.summary["smpl_cd_cm"] == pytest.approx(perfect_wildhoi.summary["smpl_cd_cm"], rel=1e-6)
    assert result.summary["object_cd_cm"] == pytest.approx(perfect_wildhoi.summary["object_cd_cm"], rel=1e-6)
    assert result.summary["smpl_cd_cm"] > 0
    gt = fit_case["gt"]
    moved = eval_fx.perturbed(gt, object_translation=gt["object_translation"] + [0.0, 0.1, 0.0])
    eval_fx.write_fits(fit_case["fits"], moved)
    behave = evaluate_behave(fit_case["data"], fit_case["fits"], samples=1000)
    wildhoi = evaluate_wildhoi(fit_case["data"], fit_case["fits"], samples=1000)
    # the joint alignment absorbs part of the offset, and moves the body a little
    assert 0 < behave.summary["object_cd_cm"] < wildhoi.summary["object_cd_cm"]
    assert behave.summary["smpl_cd_cm"] > 0


def test_behave_uses_10k_samples_by_default(fit_case: dict) -> None:
    result = evaluate_behave(fit_case["data"], fit_case["fits"])
    assert result.settings["samples"] == 10_000


def _move_rigidly(seq: dict, model, rot: np.ndarray, shift: np.ndarray) -> dict:
    """The same sequence seen after the rigid motion x -> rot x + shift of the whole scene."""
    import torch

    with torch.no_grad():
        pelvis = model(betas=torch.as_tensor(seq["betas"], dtype=torch.float32)).rest_joints[:, 0]
    pelvis = pelvis.double().numpy()
    orient = Rotation.from_matrix(rot) * Rotation.from_rotvec(seq["poses"][:, :3])
    poses = seq["poses"].copy()
    poses[:, :3] = orient.as_rotvec()
    trans = (pelvis + seq["trans"]) @ rot.T + shift - pelvis
    return dict(seq, poses=poses, trans=trans, obj_rots=rot @ seq["obj_rots"],
                obj_trans=seq["obj_trans"] @ rot.T + shift)


def test_behave_on_rhobin_files_is_invariant_to_moving_the_prediction(rhobin_case: dict,
                                                                      eval_fx) -> None:
    from hoirecon.body import load_body_model

    reference = rhobin_case["reference"]
    pred = eval_fx.submission_from(reference)
    rng = np.random.default_rng(5)
    for seq in pred.values():
        seq["poses"][:, 3:] += rng.normal(scale=0.05, size=seq["poses"][:, 3:].shape)
        seq["obj_trans"] = seq["obj_trans"] + rng.normal(scale=0.05, size=seq["obj_trans"].shape)
    rot, shift = Rotation.random(random_state=3).as_matrix(), np.array([0.4, -1.0, 2.0])
    moved = {}
    for name, seq in pred.items():
        gender = reference["annotations"][name]["gender"]
        model = load_body_model(rhobin_case["models"], gender=gender)
        moved[name] = _move_rigidly(seq, model, rot, shift)
    base = eval_fx.write_pickle(rhobin_case["tmp"] / "base" / "results.pkl", pred)
    other = eval_fx.write_pickle(rhobin_case["tmp"] / "moved" / "results.pkl", moved)
    a = evaluate_behave_files(base, rhobin_case["ref"], rhobin_case["models"], samples=800)
    b = evaluate_behave_files(other, rhobin_case["ref"], rhobin_case["models"], samples=800)
    assert a.summary["smpl_cd_cm"] > 0.01 and a.summary["object_cd_cm"] > 0.01
    assert b.summary == pytest.approx(a.summary, rel=1e-3)
    assert a.settings["unit"] == "cm" and a.protocol == "behave"
