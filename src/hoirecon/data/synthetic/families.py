"""Interaction families: per-category distributions over body pose, object pose and scale.

A family draws body poses with continuous latent variation (swing phase, stance, ball height,
pedal phase, ...) and then places the object relative to the POSED joints in the human frame,
so hands meet handles and feet meet pedals by construction. Several families include
non-contact moments (a dribbled ball, a thrown bat, an ollie, a rolling ball).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hoirecon.data.synthetic.placement import ObjectPlacement
from hoirecon.objects import ObjectTemplate


@dataclass
class Draw:
    """Body poses and the latent variables a family's placement step needs."""

    body_pose: np.ndarray
    """(B, 63) axis-angle body pose."""
    mode: np.ndarray
    """(B,) index of the interaction mode (e.g. dribble / hold / shoot)."""
    latent: dict[str, np.ndarray] = field(default_factory=dict)
    """Named (B,) continuous latents (phase, height, ...)."""


PoseFn = Callable[[np.random.Generator, int], Draw]
PlaceFn = Callable[[Draw, np.ndarray, ObjectTemplate, np.random.Generator], ObjectPlacement]


@dataclass(frozen=True)
class Family:
    """One category's interaction family."""

    category: str
    modes: tuple[str, ...]
    """Mode names; ``Draw.mode`` indexes into them."""
    pose: PoseFn
    place: PlaceFn
    contact_modes: tuple[str, ...]
    """Modes in which the body touches the object (the others are non-contact moments)."""


def sample_modes(rng: np.random.Generator, b: int, probs: list[float]) -> np.ndarray:
    """Draw (B,) mode indices with the given probabilities."""
    return rng.choice(len(probs), size=b, p=np.asarray(probs) / np.sum(probs))
