"""What the synthetic generator makes: categories, sizes, seed, body model, evidence quality, cameras."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from hoirecon.data.synthetic.camera import CameraConfig
from hoirecon.data.synthetic.estimators import EstimatorNoise, observation_from_noise
from hoirecon.data.synthetic.observation import ObservationConfig, get_observation


@dataclass(frozen=True)
class SynthConfig:
    """What to generate."""

    categories: tuple[str, ...] = ("baseball_bat", "skateboard", "basketball")
    """Built-in categories to generate."""
    train: int = 200
    """Training images per category."""
    test: int = 50
    """Test images per category."""
    seed: int = 0
    """Master seed; the output is a deterministic function of the config."""
    image_size: int = 256
    """Width and height of the square images, pixels."""
    chunk: int = 32
    """Images per chunk (the unit of checkpointing and of parallel work)."""
    workers: int = 1
    """Worker processes (chunks are independent and seeded by position, so output does not depend on it)."""
    body_model: str | None = None
    """Body model file or folder (SMPL/SMPL-H/SMPL-X); None uses the embedded open body."""
    shape_std: float = 0.8
    """Std of the true body-shape coefficients."""
    observation: str | ObservationConfig = "realistic"
    """How good the evidence is: a preset name ('clean', 'realistic', 'hard') or a full config."""
    noise: EstimatorNoise | None = None
    """Older way to set the error levels; when given it replaces ``observation`` (scaled 'clean')."""
    camera: CameraConfig = field(default_factory=CameraConfig)
    """Distribution of the cameras."""

    def __post_init__(self) -> None:
        """Reject an unknown observation preset at once, naming the known ones."""
        self.resolved_observation()

    def resolved_observation(self) -> ObservationConfig:
        """The observation config this run uses."""
        if self.noise is not None:
            return observation_from_noise(self.noise)
        if isinstance(self.observation, ObservationConfig):
            return self.observation
        return get_observation(self.observation)

    def fingerprint(self) -> str:
        """Short hash of everything that changes the output (used to validate resumed parts)."""
        fields = {k: v for k, v in asdict(self).items() if k != "workers"}
        fields["observation"] = asdict(self.resolved_observation())  # a preset's values, not only its name
        blob = json.dumps(fields, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
