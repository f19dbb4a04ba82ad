"""How a prior is trained: the configuration every training module and checkpoint shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.flow import FlowConfig
from hoirecon.prior.grouping import GroupingConfig
from hoirecon.prior.training_set import SUPERVISIONS


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (the data aside)."""

    supervision: str = "2d-knn"
    """'2d-knn' (groups from KNN on the 2.5D vectors), '2d-gt-groups' (ground-truth groups passed
    as a Grouping) or '3d' (x25d carries ground-truth virtual views, see training_set)."""
    flow: FlowConfig = field(default_factory=FlowConfig)
    """Flow architecture; features and condition are filled in from the data and encoder."""
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    """Condition encoder ('none' trains an unconditional prior)."""
    grouping: GroupingConfig = field(default_factory=GroupingConfig)
    """KNN grouping used by '2d-knn' when no grouping is passed."""
    epochs: int = 30
    """Training epochs (paper: 30)."""
    batch_size: int = 64
    """Images per step."""
    neighbours_per_step: int = 7
    """Other views drawn per image per step (besides the image itself)."""
    self_weight: float = 1.0
    """Loss weight of an image's own 2.5D vector."""
    lr: float = 1e-4
    """Adam learning rate (paper: 1e-4)."""
    grad_clip: float | None = None
    """Clip the gradient norm to this value (None: no clipping)."""
    dequantization: float = 1e-3
    """Std of the Gaussian noise added to training targets."""
    flip_probability: float = 0.5
    """Probability of a horizontal flip per image."""
    val_fraction: float = 0.1
    """Fraction of images held out for validation and early stopping (0: none)."""
    patience: int | None = 5
    """Stop after this many epochs without a better validation NLL (None: never)."""
    checkpoint_every: int = 1000
    """Also checkpoint every this many steps (besides every epoch)."""
    init_images: int = 4096
    """Images used to compute the input normalisation and initialise actnorms."""
    seed: int = 0
    """Seed of the split, the batch order, the augmentations and the initial weights."""

    def __post_init__(self) -> None:
        if self.supervision not in SUPERVISIONS:
            raise ValueError(f"supervision: expected one of {SUPERVISIONS}, got {self.supervision!r}")
        for name in ("epochs", "batch_size", "checkpoint_every", "init_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: expected >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction: expected in [0, 1), got {self.val_fraction}")

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of ``dataclasses.asdict``."""
        nested = {"flow": FlowConfig, "encoder": EncoderConfig, "grouping": GroupingConfig}
        return cls(**{k: nested[k](**v) if k in nested else v for k, v in data.items()})
