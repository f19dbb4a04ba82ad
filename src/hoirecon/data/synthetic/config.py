"""What the synthetic generator makes: categories, sizes, seed, body model, evidence quality, cameras."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from hoirecon.data.synthetic.camera import CameraConfig
from hoirecon.data.synthetic.estimators import EstimatorNoise, observation_from_noise
from hoirecon.data.synthetic.observation import ObservationConfig, get_observation

MULTIVIEW_FIELDS = ("views_per_instance", "frames_per_clip", "clip_motion", "appearance_cue", "pose_spread")
"""Fields added with the multi-view data; a config of stills leaves them out of its fingerprint, so
datasets made before they existed keep theirs (and resume)."""


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
    views_per_instance: int = 1
    """Independent cameras that film each interaction instance (1 = every image its own interaction)."""
    frames_per_clip: int = 1
    """Frames each camera records of its instance (one video per camera; 1 = stills)."""
    clip_motion: float = 0.02
    """Std (radians per frame) of each body joint angle's speed along a clip."""
    appearance_cue: float = 0.0
    """How much the person's clothing colours follow the interaction (0 = drawn at random, 1 = set by
    its mode and the object's place around the body; see docs/multiview.md)."""
    pose_spread: float = 0.0
    """Extra std (radians) of every body joint angle of an instance, on top of the family's own variation:
    wider families (the object is placed from the moved joints, so grips hold)."""

    def __post_init__(self) -> None:
        """Reject an unknown observation preset and impossible multi-view settings at once."""
        self.resolved_observation()
        for name in ("views_per_instance", "frames_per_clip"):
            if isinstance(getattr(self, name), bool) or getattr(self, name) < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.appearance_cue <= 1.0:
            raise ValueError(f"appearance_cue: expected a value in [0, 1], got {self.appearance_cue}")
        for name in ("clip_motion", "pose_spread"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name}: expected a value >= 0, got {getattr(self, name)}")

    def check_instances(self) -> None:
        """Raise ``ValueError`` unless both splits hold whole instances (checked when generating, so a
        config may be built field by field)."""
        group = self.images_per_instance
        for split in ("train", "test"):
            if getattr(self, split) % group:
                raise ValueError(f"{split}: {getattr(self, split)} images do not split into instances of "
                                 f"{group} (views_per_instance x frames_per_clip); use a multiple of {group}")

    @property
    def images_per_instance(self) -> int:
        """Images of one interaction instance: every view's every frame."""
        return self.views_per_instance * self.frames_per_clip

    @property
    def is_multiview(self) -> bool:
        """Whether images come in instances and clips (or carry the appearance cue or wider families),
        not as the original unrelated stills."""
        return self.images_per_instance > 1 or self.appearance_cue > 0 or self.pose_spread > 0

    def resolved_observation(self) -> ObservationConfig:
        """The observation config this run uses."""
        if self.noise is not None:
            return observation_from_noise(self.noise)
        if isinstance(self.observation, ObservationConfig):
            return self.observation
        return get_observation(self.observation)

    def fingerprint(self) -> str:
        """Short hash of everything that changes the output (used to validate resumed parts)."""
        skip = {"workers"} | (set() if self.is_multiview else set(MULTIVIEW_FIELDS))
        fields = {k: v for k, v in asdict(self).items() if k not in skip}
        fields["observation"] = asdict(self.resolved_observation())  # a preset's values, not only its name
        blob = json.dumps(fields, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
