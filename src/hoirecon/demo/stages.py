"""The demo's stages, each cached in its own folder by a fingerprint of what it depends on."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from hoirecon.io.atomic import atomic_write_json

log = logging.getLogger(__name__)
PRESET_ORDER = ("none", "contact", "prior", "prior+contact", "phosa")


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and seeds of the end-to-end demo."""

    categories: tuple[str, ...] = ("baseball_bat", "skateboard", "basketball")
    """Categories with different kinds of interaction (two-hand swing, feet on a board, a ball in and out of hand)."""
    train: int = 256
    """Training images per category (unlabelled in 3D: the prior sees only 2D keypoints and cameras)."""
    test: int = 16
    """Test images per category."""
    image_size: int = 160
    """Image size, pixels."""
    seed: int = 0
    """Master seed."""
    prior_epochs: int = 20
    """Prior training epochs (paper: 30)."""
    prior_depth: int = 4
    """Flow steps."""
    prior_width: int = 256
    """Coupling network width."""
    object_steps: int = 150
    """Fitting phase 1 steps."""
    joint_steps: int = 100
    """Fitting phase 2 steps."""
    eval_samples: int = 10_000
    """Surface samples per mesh (WildHOI protocol: 10k)."""
    presets: tuple[str, ...] = PRESET_ORDER
    """Fitting presets compared."""
    workers: int = 2
    """Processes for data synthesis."""
    observation: str = "realistic"
    """Evidence the fit is given: detector-like noise preset (clean | realistic | hard; see docs/evidence.md)."""

    def quick(self) -> DemoConfig:
        """A smaller run for a first look (about 2 minutes on 2 cores)."""
        return replace(self, train=72, test=8, image_size=128, prior_epochs=10, prior_width=128,
                       object_steps=100, joint_steps=60, eval_samples=4000)


@dataclass
class Stage:
    """One cached unit of work: ``<markers>/<name>.json`` records the fingerprint of its inputs."""

    name: str
    markers: Path
    inputs: dict
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def marker(self) -> Path:
        return self.markers / f"{self.name.replace(' ', '_').replace('+', '_')}.json"

    def fingerprint(self) -> str:
        blob = json.dumps(self.inputs, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def is_done(self) -> bool:
        """Whether a finished run with the same inputs is recorded."""
        if not self.marker.is_file():
            return False
        try:
            return json.loads(self.marker.read_text()).get("fingerprint") == self.fingerprint()
        except json.JSONDecodeError:
            return False

    def run(self, work: Callable[[], object]) -> bool:
        """Run ``work`` unless a finished run with the same inputs exists; returns whether it ran.

        Work interrupted half-way resumes inside ``work`` (synthesis chunks, fit batches and
        training checkpoints are keyed by their own configuration fingerprints).
        """
        if self.is_done():
            log.info("%s: reused (cached)", self.name)
            self.timings[self.name] = json.loads(self.marker.read_text()).get("seconds", 0.0)
            return False
        start = time.perf_counter()
        work()
        seconds = time.perf_counter() - start
        self.timings[self.name] = seconds
        atomic_write_json(self.marker, {"fingerprint": self.fingerprint(), "seconds": seconds, "inputs": self.inputs})
        return True


def config_dict(config: DemoConfig) -> dict:
    """Plain-data form of the configuration."""
    return asdict(config)


@dataclass
class DemoOutputs:
    """Where everything went and how long it took."""

    out: Path
    data: Path
    priors: dict[str, Path] = field(default_factory=dict)
    occlusion: dict[str, Path] = field(default_factory=dict)
    fits: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
