"""One unit of an experiment: every row on one split (seed, category), scored per test image.

A unit synthesises each data variant the experiment uses, trains the priors its rows need,
computes the occlusion maps, fits every row and scores each fit with the WildHOI protocol. Each
of these steps is a cached :class:`~hoirecon.demo.stages.Stage` in the unit's work folder, so an
interrupted unit resumes where it stopped. A row that raises (e.g. an image encoder whose
weights are missing) is recorded as failed with its error and the unit goes on; the record
keeps the per-image errors of the others, so the report can pair rows by image id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import generate
from hoirecon.demo.stages import Stage
from hoirecon.eval.protocols.wildhoi import WILDHOI_METRICS, evaluate_wildhoi
from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.registry import Experiment
from hoirecon.experiments.variants import Arm, fit_config, synth_config, train_config
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.io.occlusion_files import save_occlusion_maps
from hoirecon.prior.category import train_category

log = logging.getLogger(__name__)
METRIC_KEYS = tuple(m.key for m in WILDHOI_METRICS)
"""Per-image metrics kept for every row (WildHOI protocol: cm, cm, deg, cm)."""
UNIT_FORMAT = 1
"""Version of the unit record layout."""


def slug(name: str) -> str:
    """A file-name-safe form of a row or variant name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "_"


def unit_name(seed: int, category: str) -> str:
    """The name of the unit of one split (its record is ``units/<name>.json``)."""
    return f"seed{seed:04d}-{category}"


def unit_fingerprint(experiment: Experiment, config: ExperimentConfig) -> str:
    """Hash of what decides a unit's numbers: the rows and the split-level settings."""
    blob = json.dumps({"arms": [asdict(a) for a in experiment.arms], "config": config.split_fingerprint(),
                       "format": UNIT_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def error_text(err: BaseException) -> str:
    """``Type: message`` on one line (what the report shows of a failure)."""
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def _plain(values: np.ndarray) -> list[float | None]:
    """Floats for JSON, None where the image was not scored."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def truth_hash(data_dir: Path, category: str) -> str:
    """Hash of the test split's true bodies and object poses (rows on equal hashes may be paired)."""
    digest = hashlib.sha256()
    for sample in load_dataset(data_dir).samples(category, "test"):
        gt = sample.gt
        digest.update(sample.image_id.encode())
        for array in (gt.body_pose, gt.betas, gt.object_rotation, gt.object_translation):
            digest.update(np.round(np.asarray(array, dtype=float), 6).tobytes())
    return digest.hexdigest()[:16]


class Split:
    """One data variant of a unit: its dataset, priors, occlusion maps and fits, cached under ``root``."""

    def __init__(self, config: ExperimentConfig, variant: str, seed: int, category: str, root: Path,
                 timings: dict[str, float]) -> None:
        self.config, self.variant, self.seed, self.category, self.root = config, variant, seed, category, root
        self.timings = timings
        self.synth = synth_config(config, variant, seed, category)
        self.data = root / "data"
        self.priors: dict[str, Path | BaseException] = {}

    def _stage(self, name: str, inputs: dict) -> Stage:
        return Stage(f"{self.variant} {name}", self.root / "stages", {"data": self.synth.fingerprint(), **inputs},
                     self.timings)

    def prepare(self) -> None:
        """Synthesise the split and compute its occlusion maps."""
        Stage(f"{self.variant} synth", self.root / "stages", asdict(self.synth), self.timings).run(
            lambda: generate(self.data, self.synth, force=True))
        self._stage("occlusion", {}).run(lambda: save_occlusion_maps(
            self.occlusion, compute_occlusion_maps(load_dataset(self.data), self.category)))

    @property
    def occlusion(self) -> Path:
        """The split's mean occlusion maps file."""
        return self.root / "occlusion.npz"

    def prior(self, variant: str) -> Path:
        """The trained prior of a prior variant; a failed training is raised again for every row that needs it."""
        if variant not in self.priors:
            path = self.root / "priors" / f"{slug(variant)}.pt"
            config = train_config(self.config, variant, self.seed)
            try:
                self._stage(f"prior {slug(variant)}", {"train": asdict(config)}).run(
                    lambda: train_category(self.data, self.category, path, config))
                self.priors[variant] = path
            except Exception as err:  # noqa: BLE001 - recorded for each row that needs this prior
                self.priors[variant] = err
        found = self.priors[variant]
        if isinstance(found, BaseException):
            raise RuntimeError(f"prior {variant!r} could not be trained: {error_text(found)}") from found
        return found

    def fit(self, arm: Arm) -> Path:
        """Fit the test images with a row's settings; returns the fits folder."""
        config = fit_config(arm, self.config)
        prior = self.prior(arm.prior) if config.weights.prior > 0 else None
        folder = self.root / "fits" / slug(arm.name)
        self._stage(f"fit {slug(arm.name)}", {"fit": asdict(config), "prior": str(prior)}).run(
            lambda: fit_dataset(self.data, self.category, "test", config, folder, prior, self.occlusion, force=True))
        return folder

    def score(self, folder: Path) -> dict[str, Any]:
        """Per-image WildHOI errors of a fits folder (every test image listed; None where unscored)."""
        result = evaluate_wildhoi(self.data, folder, samples=self.config.eval_samples, seed=self.seed, min_coverage=0.0)
        table = result.table
        values = {k: np.where(table.ok, table.values[k], np.nan) for k in METRIC_KEYS}
        return {"image_ids": list(table.frames), "metrics": {k: _plain(v) for k, v in values.items()},
                "scored": int(np.isfinite(values["trans_err_cm"]).sum())}


def _run_arm(split: Split, arm: Arm) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        record = {"status": "ok", **split.score(split.fit(arm))}
    except Exception as err:  # noqa: BLE001 - one failed row is reported, the others go on
        log.warning("row %r on %s: %s", arm.name, split.root, error_text(err))
        record = {"status": "failed", "error": error_text(err)}
    record["seconds"] = time.perf_counter() - start
    return record


def run_unit(experiment: Experiment, config: ExperimentConfig, seed: int, category: str, work: Path) -> dict[str, Any]:
    """Run every row of ``experiment`` on the split (seed, category); work files go under ``work``.

    Returns the unit record: per row its status and per-image errors (or its error), per data
    variant the hash of the test truths, and the time of each stage.
    """
    slugs = [slug(a.name) for a in experiment.arms]
    if len(set(slugs)) != len(slugs):
        raise ValueError(f"experiment {experiment.name!r}: row names collide as file names: {slugs}")
    timings: dict[str, float] = {}
    arms: dict[str, dict[str, Any]] = {}
    truth: dict[str, str] = {}
    for variant in experiment.data_variants:
        split = Split(config, variant, seed, category, work / variant, timings)
        split.prepare()
        truth[variant] = truth_hash(split.data, category)
        for arm in (a for a in experiment.arms if a.data == variant):
            arms[arm.name] = _run_arm(split, arm)
    return {"format": UNIT_FORMAT, "experiment": experiment.name, "seed": seed, "category": category,
            "fingerprint": unit_fingerprint(experiment, config), "status": "ok", "arms": arms, "truth": truth,
            "timings": timings}
