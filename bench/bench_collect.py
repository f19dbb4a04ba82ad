"""From photos to a prior: ``data build`` on synthetic renders treated as photos, then the prior it
trains, used to fit held-out images (the worked example of docs/own-photos.md, scored).

1. Synthesise a category (``--train`` training and ``--test`` held-out images, ``--size`` px).
2. Turn the training renders into a photo folder: the images, a person detector's file (the
   generator's simulated COCO detector), a body estimator's file (its simulated HMR estimate), the
   camera, and simulated clicks (true object keypoints projected, plus ``--click-noise`` px of
   Gaussian noise). No ground truth goes into the folder.
3. ``data build`` it; score the recovered object poses against the truth (rotation modulo the
   object's symmetries, translation in the camera, metres and relative to the object's distance).
4. ``group`` + ``train`` a small prior (depth 4, width 128, 40 epochs) on the built dataset, and the
   same prior on the generator's own training split (its simulated object keypoint detector) as
   a reference.
5. Fit the held-out test images with ``none`` and with ``prior`` (each prior) and score them with
   the WildHOI protocol (median object translation error, human frame).

    python bench/bench_collect.py [--category skateboard] [--train 160] [--test 24] [--size 256] [--click-noise 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hoirecon.collect.build import BuildConfig, build_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.object_pose import rotation_error
from hoirecon.eval.protocols.wildhoi import evaluate_wildhoi
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.objects import load_template
from hoirecon.prior import FlowConfig, TrainConfig
from hoirecon.prior.category import group_category, train_category

_SPEC = importlib.util.spec_from_file_location("collect_photos_bench",
                                               Path(__file__).parents[1] / "tests" / "collect" / "photos.py")
photos = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = photos
_SPEC.loader.exec_module(photos)


def pose_errors(out: Path, category: str, truth: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation (deg), translation (m) and relative translation errors of the kept rows' poses."""
    poses = json.loads((out / "collect" / f"{category}.poses.json").read_text())
    template = load_template(category)
    symmetries = list(zip(template.symmetry_rotations, template.symmetry_translations, strict=True))
    rot, trans, rel = [], [], []
    for image_id, p in poses.items():
        true = truth[image_id]
        rot.append(rotation_error(np.array(p["rotation_camera"]), true.rotation, symmetries))
        trans.append(float(np.linalg.norm(np.array(p["translation_camera"]) - true.translation)))
        rel.append(trans[-1] / float(np.linalg.norm(true.translation)))
    return np.array(rot), np.array(trans), np.array(rel)


def held_out_error(data: Path, category: str, preset: str, prior: Path | None, out: Path) -> tuple[float, int]:
    """Median object translation error (cm, WildHOI protocol) of the test split and how many were scored."""
    fit_dataset(data, category, "test", get_preset(preset), out, prior)
    table = evaluate_wildhoi(data, out, samples=500, min_coverage=0.0).table
    return float(np.median(table.values["trans_err_cm"][table.ok])), int(table.ok.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", default="skateboard")
    parser.add_argument("--train", type=int, default=160)
    parser.add_argument("--test", type=int, default=24)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--click-noise", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        data = generate(root / "renders", SynthConfig(categories=(args.category,), train=args.train, test=args.test,
                                                       seed=args.seed, image_size=args.size, workers=1))
        truth = photos.make_photo_folder(data, args.category, "train", root / "photos", args.click_noise, args.seed,
                                         f"{args.category}.annotations.json")
        built = time.perf_counter()
        summary = build_dataset(root / "photos", root / "collected", BuildConfig(args.category),
                                annotations=root / "photos" / f"{args.category}.annotations.json")
        seconds = time.perf_counter() - built
        rot, trans, rel = pose_errors(root / "collected", args.category, truth)
        print(f"data build: {summary.kept}/{summary.frames} kept ({summary.reasons or 'none dropped'}), "
              f"{seconds / max(summary.frames, 1):.2f} s/image; click noise {args.click_noise} px at {args.size} px")
        print(f"object pose vs truth: rotation median {np.median(rot):.1f} deg (mean {rot.mean():.1f}, "
              f"<= 10 deg: {np.mean(rot <= 10):.0%}); translation median {100 * np.median(trans):.1f} cm "
              f"({100 * np.median(rel):.1f}% of the object's distance)")
        config = TrainConfig(epochs=40, batch_size=64, lr=1e-3, seed=args.seed,
                             flow=replace(FlowConfig(), depth=4, width=128))
        group_category(root / "collected", args.category)
        train_category(root / "collected", args.category, root / "collected.pt", config)
        train_category(data, args.category, root / "reference.pt", config)
        none, n = held_out_error(data, args.category, "none", None, root / "fit_none")
        collected, _ = held_out_error(data, args.category, "prior", root / "collected.pt", root / "fit_collected")
        reference, _ = held_out_error(data, args.category, "prior", root / "reference.pt", root / "fit_reference")
        print(f"held-out fits ({n} test images), median object translation error: none {none:.1f} cm | "
              f"prior from the built dataset {collected:.1f} cm ({collected / none:.2f} x none) | "
              f"prior from the generator's own training split {reference:.1f} cm ({reference / none:.2f} x none)")
        print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
