"""The three RHOBIN tracks on the synthetic BEHAVE tree, beside the estimator files taken as they are.

Writes a tree with ``synth --layout behave``'s generator, builds its reference, runs each track
with a preset (default: the CLI's) and scores, as a baseline, a submission made of Kinect 1's
estimator files unchanged (the body estimate and the object pose estimate, no fit). Prints one
Markdown table per track. The numbers say whether the fit improves on its own inputs on clean
synthetic data, nothing about BEHAVE (see docs/behave.md).

    PYTHONPATH=src python bench/bench_rhobin_mini.py [--preset contact] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np

from hoirecon.body import load_body_model
from hoirecon.data.readers.behave import read_behave
from hoirecon.data.synthetic.behave_layout import BehaveLayoutConfig, write_behave_tree
from hoirecon.eval.protocols import evaluate_human_files, evaluate_joint_files, evaluate_object_files
from hoirecon.eval.protocols.submission import read_pickle
from hoirecon.fitting.optimize import FitConfig, get_preset
from hoirecon.tracks.keys import read_split
from hoirecon.tracks.reference import make_reference
from hoirecon.tracks.run import TrackInputs, run_track
from hoirecon.tracks.submission import build_results, reference_order, world_rows, write_results
from hoirecon.tracks.world import BehaveCalibration

SCORERS = {"object": evaluate_object_files, "human": evaluate_human_files, "joint": evaluate_joint_files}


def estimate_columns(tree: Path, body) -> dict[str, np.ndarray]:  # noqa: ANN001 - a BodyModel
    """Kinect 1's estimator outputs as fit columns (camera frame), read from evidence only."""
    rows = list(read_behave(tree, "test", views=[1], body_model=body, truth=False))
    est = [r.sample.estimate for r in rows]
    pose = [r.est_object_pose_camera for r in rows]
    return {"image_id": np.array([r.sample.image_id for r in rows]), "betas": np.stack([e.betas for e in est]),
            "body_pose": np.stack([e.body_pose for e in est]), "global_orient": np.stack([e.global_orient for e in est]),
            "transl": np.stack([e.transl for e in est]), "object_rotation_cam": np.stack([p.rotation for p in pose]),
            "object_translation_cam": np.stack([p.translation for p in pose]),
            "object_scale": np.array([p.scale for p in pose], dtype=np.float64)}


def baseline(tree: Path, ref: Path, out: Path, track: str) -> Path:
    body = load_body_model(None)
    calib = BehaveCalibration(tree)
    rows = world_rows(estimate_columns(tree, body), calib, body)
    genders = {k.sequence: calib.info(k.sequence).gender for k in rows}
    return write_results(build_results(rows, genders, track, reference_order(read_pickle(ref))), out)


def table(track: str, named: dict[str, object]) -> str:
    first = next(iter(named.values()))
    lines = ["| " + " | ".join(["method", *(m.label for m in first.metrics)]) + " |",
             "|" + "---|" * (len(first.metrics) + 1)]
    for name, result in named.items():
        lines.append("| " + " | ".join([name, *(f"{result.summary[m.key]:.4g}" for m in result.metrics)]) + " |")
    return f"### {track}\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=FitConfig().name)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        tree = write_behave_tree(base / "behave", BehaveLayoutConfig(seed=args.seed))
        ref = base / "ref.pkl"
        make_reference(tree, read_split(tree / "split.json"), ref)
        inputs = TrackInputs(tree, tree / "split.json", base / "run", get_preset(args.preset), ref=ref)
        for track, score in SCORERS.items():
            ours = run_track(track, inputs).result
            estimates = score(baseline(tree, ref, base / f"estimates_{track}.pkl", track), ref)
            print(table(track, {ours.method: ours, "estimator files as-is": estimates}) + "\n")


if __name__ == "__main__":
    main()
