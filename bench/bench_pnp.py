"""Object initialisation by PnP: the previous path against the current one, on the same inputs.

Run: python bench/bench_pnp.py [--images 48] [--observation realistic] [--image-size 160]

The inputs are the dense 2D-3D correspondences of synthetic test images (``hoirecon.data.synthetic``,
the ``realistic`` evidence: 48 correspondences per image, 3 px noise, 30% gross outliers), as
``bench/bench_fit.py`` builds them. The previous path always runs RANSAC and scores its hypotheses
with the inlier threshold itself (``consensus=1, all_points_first=False``); the current one tries the
all-points pose first and scores RANSAC hypotheses within ``CONSENSUS_FACTOR`` times the threshold.
Both then refine on the inliers at the same threshold. Printed per path: seconds per image, the
median (and mean) rotation and translation errors against the true pose in the camera frame, the
methods used, and the ratio of the two times; then the same for the same images with every pixel
replaced by its true projection plus 1 px of noise (no outliers: the current path skips RANSAC).
Timings alternate between the paths (best of ``--repeats``); the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.pnp import ObjectInit, init_object_pnp
from hoirecon.geometry import project_points

PATHS = {"previous": {"consensus": 1.0, "all_points_first": False}, "current": {}}
"""Keyword arguments of ``init_object_pnp`` for each path."""


@dataclass(frozen=True)
class Case:
    """The correspondences of one image and its true object pose in the camera frame."""

    points: np.ndarray
    pixels: np.ndarray
    weight: np.ndarray
    K: np.ndarray
    scale: float
    rotation: np.ndarray
    translation: np.ndarray


def load_cases(root: Path, categories: list[str]) -> list[Case]:
    """Every test image of ``categories`` with its estimated correspondences and true pose."""
    cases = []
    for category in categories:
        for s in load_dataset(root).samples(category, "test"):
            gt, est = s.gt, s.estimate
            cam_r = gt.cam_rotation if gt.cam_rotation is not None else s.cam_rotation
            cam_c = gt.cam_center if gt.cam_center is not None else s.cam_center
            cases.append(Case(est.corr_points, est.corr_pixels, est.corr_weight, s.intrinsics, gt.object_scale,
                              cam_r.T @ gt.object_rotation, cam_r.T @ (gt.object_translation - cam_c)))
    return cases


def without_outliers(cases: list[Case], seed: int) -> list[Case]:
    """The same cases with every pixel at its true projection plus 1 px of noise."""
    rng = np.random.default_rng(seed)
    out = []
    for c in cases:
        true = project_points((c.scale * c.points) @ c.rotation.T + c.translation, c.K)
        out.append(Case(c.points, true + rng.normal(0.0, 1.0, true.shape), c.weight, c.K, c.scale,
                        c.rotation, c.translation))
    return out


def solve(cases: list[Case], options: dict) -> tuple[list[ObjectInit], float]:
    """Every case solved by one path, and the seconds per image."""
    start = time.perf_counter()
    results = [init_object_pnp(c.points, c.pixels, c.weight, c.K, scale=c.scale, **options) for c in cases]
    return results, (time.perf_counter() - start) / len(cases)


def errors(cases: list[Case], results: list[ObjectInit]) -> np.ndarray:
    """(N, 2) rotation error (degrees) and translation error (cm) per image."""
    rot = [np.degrees(Rotation.from_matrix(r.pose.rotation.T @ c.rotation).magnitude()) for c, r in zip(cases, results)]
    move = [100 * np.linalg.norm(r.pose.translation - c.translation) for c, r in zip(cases, results)]
    return np.stack([rot, move], axis=1)


def compare(label: str, cases: list[Case], repeats: int) -> None:
    """Time both paths (alternating, best of ``repeats``) and print their figures and ratio."""
    seconds: dict[str, float] = {}
    results: dict[str, list[ObjectInit]] = {}
    for _ in range(repeats):
        for name, options in PATHS.items():
            results[name], took = solve(cases, options)
            seconds[name] = min(seconds.get(name, np.inf), took)
    print(f"{label} ({len(cases)} images), load average {os.getloadavg()[0]:.1f}:")
    for name in PATHS:
        e = errors(cases, results[name])
        methods = dict(Counter(r.method for r in results[name]))
        print(f"  {name:8s} {seconds[name]:.5f} s/image; rotation error median {np.median(e[:, 0]):.2f} deg "
              f"(mean {e[:, 0].mean():.2f}), translation error median {np.median(e[:, 1]):.2f} cm "
              f"(mean {e[:, 1].mean():.2f}); methods {methods}")
    print(f"  time current / previous: {seconds['current'] / seconds['previous']:.3f} "
          f"(x{seconds['previous'] / seconds['current']:.1f} faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=48, help="test images per category")
    parser.add_argument("--categories", nargs="+", default=["baseball_bat", "skateboard", "basketball"])
    parser.add_argument("--observation", default="realistic", help="evidence preset: clean | realistic | hard")
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeats", type=int, default=2, help="timing rounds per path (the best is kept)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        config = SynthConfig(categories=tuple(args.categories), train=0, test=args.images, image_size=args.image_size,
                             seed=args.seed, observation=args.observation)
        cases = load_cases(generate(Path(tmp) / "ds", config), args.categories)
    compare(f"'{args.observation}' correspondences, {args.image_size} px", cases, args.repeats)
    compare("the same images without outliers (1 px noise)", without_outliers(cases, args.seed), args.repeats)


if __name__ == "__main__":
    main()
