"""How large an experiment is: seeds, categories, split sizes, prior and fit schedules, evidence.

One :class:`ExperimentConfig` fixes everything but the experiment's rows (see
:mod:`hoirecon.experiments.registry`). Test seeds are ``first_seed .. first_seed + seeds - 1``
and always below :data:`TUNE_SEED_BASE`; tuning runs on seeds from :data:`TUNE_SEED_BASE` up,
so a weight is never chosen on a split that a table reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hoirecon.data.synthetic.observation import OBSERVATION_PRESETS
from hoirecon.objects import CATEGORIES

TUNE_SEED_BASE = 1000
"""Tuning splits use seeds >= this; test splits use seeds below it."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes, seeds and evidence of an experiment run."""

    seeds: int = 3
    """Number of seeds (independent splits) per category."""
    first_seed: int = 0
    """Seed of the first split (test seeds stay below 1000, the first tuning seed)."""
    categories: tuple[str, ...] = ("baseball_bat", "skateboard", "basketball")
    """Object categories; every seed is run on each."""
    train: int = 256
    """Training images per split (the prior sees only their 2D evidence)."""
    test: int = 48
    """Test images per split (the fits are scored on these)."""
    image_size: int = 128
    """Image width and height, pixels."""
    observation: str = "realistic"
    """Evidence preset of the synthetic detectors and estimators (clean, realistic, hard)."""
    prior_epochs: int = 40
    """Prior training epochs."""
    prior_depth: int = 4
    """Flow steps of the prior."""
    prior_width: int = 128
    """Coupling network width of the prior."""
    object_steps: int = 150
    """Fitting phase 1 steps (body frozen)."""
    joint_steps: int = 100
    """Fitting phase 2 steps (everything)."""
    eval_samples: int = 2000
    """Surface samples per mesh for the chamfer distances (the paper uses 10k)."""
    resamples: int = 2000
    """Bootstrap resamples of the images for the 95% intervals."""
    data: dict[str, Any] = field(default_factory=dict)
    """Further fields of the synthetic generator's SynthConfig, as given (e.g. multi-view clips)."""

    def __post_init__(self) -> None:
        """Reject sizes and names that cannot run, naming the field."""
        for name in ("seeds", "train", "test", "prior_epochs", "prior_depth", "prior_width", "eval_samples",
                     "resamples"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected >= 1, got {getattr(self, name)}")
        for name in ("object_steps", "joint_steps", "first_seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: expected >= 0, got {getattr(self, name)}")
        if self.image_size < 16:
            raise ValueError(f"image_size: expected >= 16 pixels, got {self.image_size}")
        if not self.categories:
            raise ValueError("categories: expected at least one category")
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"categories: unknown {unknown}; known categories are {', '.join(CATEGORIES)}")
        if self.observation not in OBSERVATION_PRESETS:
            raise ValueError(f"observation: expected one of {', '.join(OBSERVATION_PRESETS)}, got {self.observation!r}")
        reserved = {"categories", "train", "test", "seed", "image_size", "observation", "workers"} & set(self.data)
        if reserved:
            raise ValueError(f"data: {sorted(reserved)} are set by the experiment's own options, not by data")

    @property
    def seed_list(self) -> tuple[int, ...]:
        """The seeds of the run."""
        return tuple(range(self.first_seed, self.first_seed + self.seeds))

    def check_test_seeds(self) -> None:
        """Refuse test seeds that reach the tuning seeds (>= TUNE_SEED_BASE)."""
        if self.seed_list[-1] >= TUNE_SEED_BASE:
            raise ValueError(f"seeds: test seeds must stay below {TUNE_SEED_BASE} (tuning seeds); "
                             f"got {self.seed_list[0]}..{self.seed_list[-1]}")

    def quick(self) -> ExperimentConfig:
        """A tiny set-up for tests and a first look: one seed, one category, a few images and steps."""
        return replace(self, seeds=1, categories=self.categories[:1], train=24, test=3, image_size=64,
                       prior_epochs=2, prior_depth=2, prior_width=32, object_steps=5, joint_steps=5,
                       eval_samples=300, resamples=200)

    def split_fingerprint(self) -> str:
        """Hash of what decides a unit's results (everything but which seeds, categories and resamples)."""
        fields = {k: v for k, v in asdict(self).items() if k not in ("seeds", "first_seed", "categories", "resamples")}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]
