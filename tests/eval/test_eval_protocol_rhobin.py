"""RHOBIN tracks on hand-made results.pkl / ref.pkl: perfect scores, coverage rule, visibility
filter, pose layouts, file errors."""

from __future__ import annotations

import numpy as np
import pytest

from hoirecon.eval import metrics
from hoirecon.eval.protocols import (
    CoverageError,
    EvalInputError,
    evaluate_human_files,
    evaluate_joint_files,
    evaluate_object_files,
    load_rhobin_file,
)
from hoirecon.eval.protocols.bodies import pose_inputs
from hoirecon.eval.protocols.matching import VISIBLE_MIN

OBJ_SAMPLES = 500


def _write(case: dict, fx, name: str, obj: object):
    return fx.write_pickle(case["tmp"] / name / "results.pkl", obj)


def _drop_frames(seq: dict, rows: list[int]) -> dict:
    keep = [i for i in range(len(seq["frames"])) if i not in rows]
    def cut(v):
        if isinstance(v, list):
            return [v[i] for i in keep]
        return v[keep] if isinstance(v, np.ndarray) else v

    return {k: cut(v) for k, v in seq.items()}


def test_perfect_submission_scores_perfectly_on_every_track(rhobin_case: dict) -> None:
    pred, ref, models = rhobin_case["pred"], rhobin_case["ref"], rhobin_case["models"]
    obj = evaluate_object_files(pred, ref, samples=OBJ_SAMPLES)
    assert obj.summary["mssd_mm"] == pytest.approx(0.0, abs=1e-9)
    assert obj.summary["mspd_px"] == pytest.approx(0.0, abs=1e-9)
    assert obj.summary["re_deg"] == pytest.approx(0.0, abs=1e-9)
    assert obj.summary["mssd_ar"] == obj.summary["ar_all"] == 1.0
    human = evaluate_human_files(pred, ref, models)
    assert human.summary["mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)
    assert human.summary["pck"] == 100.0 and human.summary["auc"] == pytest.approx(1.0)
    assert human.summary["mpjae_deg"] == pytest.approx(0.0, abs=1e-4)
    joint = evaluate_joint_files(pred, ref, models, samples=600)
    denser = evaluate_joint_files(pred, ref, models, samples=2400)
    # independent draws on prediction and truth: the sampling floor, not 0, falling with the count
    assert 0 < denser.summary["smpl_cd_mm"] < 0.7 * joint.summary["smpl_cd_mm"]
    assert joint.method == "mine" and joint.settings["unit"] == "mm"
    assert joint.counts["evaluated"] == 20


def test_object_errors_match_the_single_pose_metrics(rhobin_case: dict, eval_fx) -> None:
    pred = eval_fx.submission_from(rhobin_case["reference"])
    seq_name = sorted(pred)[0]
    pred[seq_name]["obj_trans"] = pred[seq_name]["obj_trans"] + [0.03, 0.0, 0.0]
    result = evaluate_object_files(_write(rhobin_case, eval_fx, "shift", pred), rhobin_case["ref"],
                                   samples=OBJ_SAMPLES)
    rows = np.array(result.table.groups) == seq_name
    np.testing.assert_allclose(result.table.values["mssd_mm"][rows], 30.0, atol=1e-6)
    np.testing.assert_allclose(result.table.values["mssd_mm"][~rows], 0.0, atol=1e-6)
    seq = rhobin_case["reference"]["annotations"][seq_name]
    from hoirecon.eval.sampling import sample_surface
    tetra = eval_fx.tetra_template()
    points = sample_surface(tetra["verts"], tetra["faces"], OBJ_SAMPLES, 0)
    want = metrics.mspd(seq["obj_rots"][0], pred[seq_name]["obj_trans"][0], seq["obj_rots"][0],
                        seq["obj_trans"][0], points, metrics.BEHAVE_K)
    assert result.table.values["mspd_px"][0] == pytest.approx(want)


def test_coverage_rule_rejects_below_97_5_percent(rhobin_case: dict, eval_fx) -> None:
    reference = eval_fx.make_reference(lengths=(60, 40))
    ref = eval_fx.write_pickle(rhobin_case["tmp"] / "big" / "ref.pkl", reference)
    pred = eval_fx.submission_from(reference)
    name = sorted(pred)[0]
    pred[name] = _drop_frames(pred[name], [0, 1, 2])
    with pytest.raises(CoverageError, match=r"covers 97 of 100 .*3 missing") as info:
        evaluate_object_files(_write(rhobin_case, eval_fx, "low", pred), ref, samples=OBJ_SAMPLES)
    assert "results.pkl" in str(info.value) and "98 frames" in str(info.value)


def test_missing_frames_within_allowance_count_as_failures(rhobin_case: dict, eval_fx) -> None:
    reference = eval_fx.make_reference(lengths=(60, 40))
    ref = eval_fx.write_pickle(rhobin_case["tmp"] / "big" / "ref.pkl", reference)
    pred = eval_fx.submission_from(reference)
    name = sorted(pred)[0]
    pred[name] = _drop_frames(pred[name], [5, 6])
    path = _write(rhobin_case, eval_fx, "ok", pred)
    result = evaluate_object_files(path, ref, samples=OBJ_SAMPLES)
    assert result.counts["missing"] == 2 and result.counts["scored"] == 98
    assert result.summary["mssd_ar"] == pytest.approx(0.98)
    assert result.summary["ar_all"] == pytest.approx(0.98)
    assert result.summary["mssd_mm"] == pytest.approx(0.0, abs=1e-9)  # worst scored error is 0
    assert any("worst case" in note for note in result.notes)
    human = evaluate_human_files(path, ref, rhobin_case["models"])
    assert human.summary["pck"] == pytest.approx(98.0)


def test_visible_ratio_filter_drops_frames(rhobin_case: dict, eval_fx) -> None:
    reference = eval_fx.make_reference()
    name = sorted(reference["annotations"])[0]
    ratios = np.full(12, 0.9)
    ratios[[0, 3, 4, 7]] = [0.1, 0.29, 0.0, VISIBLE_MIN - 1e-3]
    reference["annotations"][name]["visible_ratios"] = ratios
    ref = eval_fx.write_pickle(rhobin_case["tmp"] / "vis" / "ref.pkl", reference)
    pred = eval_fx.submission_from(reference)
    pred[name] = _drop_frames(pred[name], [0, 3, 4, 7])  # leaving out hidden frames is fine
    path = _write(rhobin_case, eval_fx, "vis", pred)
    result = evaluate_object_files(path, ref, samples=OBJ_SAMPLES)
    assert result.counts["excluded"] == 4 and result.counts["evaluated"] == 16
    assert result.counts["missing"] == 0 and result.summary["ar_all"] == 1.0
    assert "t0000.000" not in [f for g, f in zip(result.table.groups, result.table.frames) if g == name]
    joint = evaluate_joint_files(path, ref, rhobin_case["models"], samples=300)
    assert joint.counts["evaluated"] == 16
    with pytest.raises(CoverageError):  # the human track has no visibility filter
        evaluate_human_files(path, ref, rhobin_case["models"])


def test_poses_72_and_156_give_the_same_scores(rhobin_case: dict, eval_fx) -> None:
    pred72 = eval_fx.submission_from(rhobin_case["reference"])
    for seq in pred72.values():
        seq["poses"] = seq["poses"] + 0.05
    pred156 = {}
    for name, seq in pred72.items():
        wide = np.zeros((len(seq["frames"]), 156))
        wide[:, :69] = seq["poses"][:, :69]
        wide[:, 111:114] = seq["poses"][:, 69:72]
        pred156[name] = dict(seq, poses=wide)
    ref, models = rhobin_case["ref"], rhobin_case["models"]
    a = evaluate_human_files(_write(rhobin_case, eval_fx, "p72", pred72), ref, models)
    b = evaluate_human_files(_write(rhobin_case, eval_fx, "p156", pred156), ref, models)
    assert a.summary["mpjpe_mm"] > 1.0
    assert b.summary == pytest.approx(a.summary)


def test_pose_layouts_map_onto_a_hand_model() -> None:
    class Fake:
        model_type = "smplh"

    poses = np.arange(72, dtype=float)[None]
    out = pose_inputs(Fake(), poses)
    assert out["body_pose"].shape == (1, 63) and out["left_hand_pose"][0, :3].tolist() == [66, 67, 68]
    right = out["right_hand_pose"][0]
    assert right[:3].tolist() == [69, 70, 71] and not right[3:].any()


def test_missing_key_names_key_and_file(rhobin_case: dict, eval_fx) -> None:
    pred = eval_fx.submission_from(rhobin_case["reference"])
    del pred[sorted(pred)[1]]["obj_trans"]
    path = _write(rhobin_case, eval_fx, "nokey", pred)
    with pytest.raises(EvalInputError, match=r"results\.pkl.*missing key 'obj_trans'"):
        evaluate_object_files(path, rhobin_case["ref"], samples=OBJ_SAMPLES)
    # the human track does not need object keys
    assert evaluate_human_files(path, rhobin_case["ref"], rhobin_case["models"]).counts["scored"] == 20


def _set_first(**changes):
    def change(pred: dict) -> None:
        name = sorted(pred)[0]
        pred[name] = changes["whole"] if "whole" in changes else dict(pred[name], **changes)
    return change


@pytest.mark.parametrize("change, message", [
    (_set_first(poses=np.zeros((12, 70))), r"'poses'.*\(T, 72\) or \(T, 156\)"),
    (_set_first(trans=np.zeros((5, 3))), r"'trans'.*5 rows"),
    (_set_first(gender="robot"), r"'gender'"),
    (_set_first(whole=[1, 2, 3]), r"expected a dict"),
])
def test_malformed_sequences_name_the_problem(rhobin_case: dict, eval_fx, change, message) -> None:
    pred = eval_fx.submission_from(rhobin_case["reference"])
    change(pred)
    with pytest.raises(EvalInputError, match=message):
        load_rhobin_file(_write(rhobin_case, eval_fx, "bad", pred), need_body=True, need_object=True)


def test_unreadable_and_unsafe_pickles_are_rejected(rhobin_case: dict) -> None:
    bad = rhobin_case["tmp"] / "garbage.pkl"
    bad.write_bytes(b"not a pickle at all")
    with pytest.raises(EvalInputError, match="garbage.pkl"):
        load_rhobin_file(bad, need_body=True, need_object=False)
    unsafe = rhobin_case["tmp"] / "unsafe.pkl"
    unsafe.write_bytes(b"cos\nsystem\n(S'echo hi'\ntR.")
    with pytest.raises(EvalInputError, match="os.system"):
        load_rhobin_file(unsafe, need_body=True, need_object=False)
    with pytest.raises(EvalInputError, match="not found"):
        load_rhobin_file(rhobin_case["tmp"] / "nope.pkl", need_body=True, need_object=False)


def test_bad_frame_is_counted_not_fatal(rhobin_case: dict, eval_fx) -> None:
    reference = eval_fx.make_reference(lengths=(60, 40))
    pred = eval_fx.submission_from(reference)
    first = pred[sorted(pred)[0]]
    first["obj_rots"][4] *= 2.0  # not a rotation
    first["obj_trans"][7] = np.nan
    ref = eval_fx.write_pickle(rhobin_case["tmp"] / "big" / "ref.pkl", reference)
    result = evaluate_object_files(_write(rhobin_case, eval_fx, "nan", pred), ref, samples=OBJ_SAMPLES)
    assert result.counts["invalid"] == 2 and result.summary["re_ar"] == pytest.approx(0.98)
    assert [result.table.status[i] for i in (4, 7)] == ["invalid", "invalid"]


def test_rotvec_reference_rotations_are_accepted(rhobin_case: dict, eval_fx) -> None:
    from scipy.spatial.transform import Rotation

    reference = eval_fx.make_reference()
    for seq in reference["annotations"].values():
        seq["obj_rots"] = Rotation.from_matrix(seq["obj_rots"]).as_rotvec()
    ref = eval_fx.write_pickle(rhobin_case["tmp"] / "rv" / "ref.pkl", reference)
    result = evaluate_object_files(rhobin_case["pred"], ref, samples=OBJ_SAMPLES)
    assert result.summary["re_deg"] == pytest.approx(0.0, abs=1e-5)
