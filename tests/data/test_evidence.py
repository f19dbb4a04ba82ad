"""The evidence inventory counts each kind of evidence per category and names the observation
model of synthetic data; ``hoirecon data check`` prints it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data.evidence import evidence_summary
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.io.arrays import load_columns


def test_counts_follow_the_columns(tmp_path: Path) -> None:
    root = generate(tmp_path / "ds", SynthConfig(categories=("basketball",), train=5, test=1, image_size=48,
                                                  seed=1, observation="clean"))
    path = root / "annotations" / "basketball.npz"
    cols = load_columns(path)
    cols["coco_keypoints"][0, :, 2] = 0.0  # nothing detected in image 0
    cols["est_corr_weight"][1:3] = 0.0  # no correspondences in images 1 and 2
    cols["has_gt"][4] = False
    cols["object_mask_file"][5] = ""
    np.savez_compressed(path, **cols)
    (found,) = evidence_summary(root)
    assert (found.images, found.body_keypoints, found.correspondences, found.ground_truth) == (6, 5, 4, 5)
    assert (found.body_estimate, found.human_masks, found.object_masks, found.observation) == (6, 6, 5, "clean")
    result = CliRunner().invoke(app, ["data", "check", str(root)])
    assert "body keypoints 5" in result.output and "simulated 'clean' evidence" in result.output
