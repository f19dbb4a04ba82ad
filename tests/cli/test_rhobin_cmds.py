"""End to end through the CLI: a synthetic BEHAVE tree, its reference, the three RHOBIN tracks and
their scores; the submission's keys, the coverage rule, and scores that move the right way."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.eval.protocols import CoverageError, evaluate_human_files, evaluate_joint_files, evaluate_object_files

runner = CliRunner()
FAST = ["--preset", "none", "--object-steps", "15", "--joint-steps", "10"]


def _invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _dump(path: Path, data: dict) -> Path:
    path.write_bytes(pickle.dumps(data))
    return path


def _truth_submission(ref: dict) -> dict:
    """The reference's own values as a submission (obj_rots as matrices, as the README asks)."""
    out = {}
    for seq, d in ref["annotations"].items():
        out[seq] = {"frames": list(d["frames"]), "gender": d["gender"], "poses": d["poses"], "betas": d["betas"],
                    "trans": d["trans"], "obj_rots": Rotation.from_rotvec(d["obj_rots"]).as_matrix(),
                    "obj_trans": d["obj_trans"]}
    return out


@pytest.mark.slow
def test_rhobin_end_to_end(tmp_path: Path) -> None:
    tree, out, ref_path = tmp_path / "behave", tmp_path / "run", tmp_path / "ref.pkl"
    _invoke("synth", "--layout", "behave", "--out", tree)
    _invoke("rhobin", "make-ref", "--behave", tree, "--split", tree / "split.json", "--out", ref_path)
    ref = pickle.loads(ref_path.read_bytes())
    assert min(r for d in ref["annotations"].values() for r in d["occ_ratios"]) < 0.3  # the 0.3 rule has work

    outputs = {}
    for track in ("object", "human", "joint"):
        outputs[track] = _invoke("rhobin", "run", "--track", track, "--behave", tree, "--split", tree / "split.json",
                                 "--out", out, "--ref", ref_path, *FAST)
    assert "KHOR" in outputs["joint"] and "G2DR" in outputs["object"] and "BEV-HybrIK" in outputs["human"]
    assert "not comparable" in " ".join(outputs["human"].split())

    results = {t: pickle.loads((out / t / "results.pkl").read_bytes()) for t in ("object", "human", "joint")}
    for track, res in results.items():
        assert set(res) == set(ref["annotations"])
        for seq, entry in res.items():
            assert entry["frames"] == ref["annotations"][seq]["frames"]
    assert "poses" not in next(iter(results["object"].values()))
    assert "obj_rots" not in next(iter(results["human"].values()))

    # export-rhobin writes fits of BEHAVE frames in the same keys and frame, and only with the tree
    refused = runner.invoke(app, ["export-rhobin", "--fits", str(out / "fit"), "--out", str(tmp_path / "x.pkl")])
    assert refused.exit_code == 2 and "--behave" in refused.output
    _invoke("export-rhobin", "--fits", out / "fit", "--out", tmp_path / "exported.pkl", "--behave", tree,
            "--ref", ref_path)
    exported = pickle.loads((tmp_path / "exported.pkl").read_bytes())
    provenance = json.loads((tmp_path / "exported.pkl.provenance.json").read_text())
    assert provenance["track"] == "joint" and provenance["ref"]["hash"] and provenance["fit_info"]
    for seq, entry in results["joint"].items():
        assert exported[seq]["frames"] == entry["frames"]
        np.testing.assert_allclose(exported[seq]["obj_trans"], entry["obj_trans"])
        np.testing.assert_allclose(exported[seq]["trans"], entry["trans"])

    # a ground-truth prediction scores zero error (the joint track's chamfer: only the floor of its
    # independently drawn surface samples), a perturbed one scores worse
    truth = _dump(tmp_path / "truth.pkl", _truth_submission(ref))
    truth_joint = evaluate_joint_files(truth, ref_path).summary
    assert truth_joint["object_cd_mm"] < 20.0 and truth_joint["smpl_cd_mm"] < 20.0
    assert evaluate_human_files(truth, ref_path).summary["mpjpe_mm"] < 1e-6
    assert evaluate_object_files(truth, ref_path).summary["mssd_mm"] < 1e-6
    perturbed = _truth_submission(ref)
    for entry in perturbed.values():
        entry["obj_trans"] = entry["obj_trans"] + 0.05
        entry["poses"] = entry["poses"] + 0.1
    worse = _dump(tmp_path / "perturbed.pkl", perturbed)
    assert evaluate_object_files(worse, ref_path).summary["mssd_mm"] > 40.0
    assert evaluate_human_files(worse, ref_path).summary["mpjpe_pa_mm"] > 1.0
    worse_joint = evaluate_joint_files(worse, ref_path).summary
    assert worse_joint["object_cd_mm"] > truth_joint["object_cd_mm"] + 10.0

    # the coverage rule: one evaluated frame missing out of a few is below 97.5%
    partial = results["joint"]
    seq = next(iter(partial))
    keep = np.arange(1, len(partial[seq]["frames"]))
    partial[seq] = {k: (list(np.asarray(v)[keep]) if k == "frames" else v[keep] if isinstance(v, np.ndarray) else v)
                    for k, v in partial[seq].items()}
    with pytest.raises(CoverageError):
        evaluate_human_files(_dump(tmp_path / "partial.pkl", partial), ref_path)


@pytest.mark.parametrize(("args", "message"), [
    (["make-ref", "--split", "{split}", "--out", "{tmp}/ref.pkl"], "not a readable split file"),
    (["run", "--track", "hands", "--split", "{good}", "--out", "{tmp}/out"], "hands"),
    (["run", "--split", "{good}", "--out", "{tmp}/out", "--prior", "stool={tmp}/none.pt"], "prior file not found"),
    (["make-ref", "--split", "{good}", "--out", "{tmp}/ref.pkl"], "Date03_Sub03_stool_sit"),
])
def test_bad_input_is_one_line_naming_it(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "split.json").write_text("{")
    (tmp_path / "good.json").write_text('["Date03_Sub03_stool_sit"]')
    (tmp_path / "tree" / "sequences").mkdir(parents=True)
    filled = [a.format(split=tmp_path / "split.json", good=tmp_path / "good.json", tmp=tmp_path) for a in args]
    result = runner.invoke(app, ["rhobin", *filled, "--behave", str(tmp_path / "tree")])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_synth_behave_takes_the_seed_and_image_size_only(tmp_path: Path) -> None:
    from hoirecon.cli.data_cmds import behave_layout_config

    config = behave_layout_config({"seed": 3, "image_size": 96})
    assert (config.seed, config.width) == (3, 96)
    result = runner.invoke(app, ["synth", "--layout", "behave", "--train", "5", "--out", str(tmp_path / "t")])
    assert result.exit_code == 2 and "train" in result.output and not (tmp_path / "t" / "sequences").exists()
