"""The worked example of docs/own-photos.md, end to end through the command line: a folder of
renders treated as photos (images, detector and estimator files, clicks; no ground truth) ->
``data build`` -> ``group`` -> ``train`` -> ``reconstruct --prior`` on a held-out image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data import load_dataset
from hoirecon.prior.prior import load_prior


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_photos_to_prior_to_reconstruct(photo_folder, renders: Path, tmp_path: Path) -> None:
    folder, truth = photo_folder
    assert not any("gt" in p.name for p in folder.iterdir())
    out = tmp_path / "my_dataset"
    _run(["data", "build", "--images", folder, "--category", "skateboard", "--out", out])
    _run(["group", "--data", out, "--category", "skateboard", "--k", "4", "--out", tmp_path / "groups.npz"])
    _run(["train", "--data", out, "--category", "skateboard", "--out", tmp_path / "prior.pt", "--epochs", "3",
          "--flow-depth", "2", "--flow-width", "32"])
    prior = load_prior(tmp_path / "prior.pt")
    assert prior.metadata["provenance"]["dataset"]["hash"] == load_dataset(out).content_hash()
    test = load_dataset(renders).sample("skateboard", "skateboard_000012")  # held out: not in the photo folder
    assert "skateboard_000012" not in truth
    keypoints = tmp_path / "person.json"
    keypoints.write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 0.9,
                                      "keypoints": test.coco_keypoints.reshape(-1).tolist()}]))
    clicks = tmp_path / "object.json"
    clicks.write_text(json.dumps({"keypoints": np.c_[test.estimate.object_keypoints_2d,
                                                     test.estimate.object_keypoint_conf].tolist()}))
    _run(["reconstruct", test.image_path, "--category", "skateboard", "--person-keypoints", keypoints,
          "--object-keypoints", clicks, "--prior", tmp_path / "prior.pt", "--preset", "prior",
          "--focal", test.intrinsics[0, 0], "--out", tmp_path / "recon"])
    record = json.loads((tmp_path / "recon" / "reconstruction.json").read_text())
    assert record["warnings"] == [] and "prior" in record["losses"]
