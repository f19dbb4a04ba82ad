"""A trained prior on dataset samples: conditioning, sampling and densities for one image or
a fitting batch (what the post-optimisation and the evaluation of a prior call)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from hoirecon.data.sample import Sample
from hoirecon.prior.features import image_features
from hoirecon.prior.prior import Prior, load_prior
from hoirecon.prior.training_data import observations


def features_for(prior: Prior, samples: Sequence[Sample], cache: Path | None = None) -> Tensor | None:
    """Backbone features (B, F) of the samples' images when the prior's encoder needs them, else None.

    Raises ``ValueError`` (e.g. the backbone's package missing, an image unreadable) otherwise.
    """
    if prior.backbone is None:
        return None
    return image_features(samples, prior.backbone, cache, prior.encoder_config.weights)


@dataclass
class FittingPrior:
    """Adapter giving the fitting code what it needs from a prior for a batch of samples."""

    prior: Prior
    _last: tuple[tuple[str, ...], Tensor | None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # the fit differentiates densities with respect to X2.5D only, never the flow's weights
        self.prior.eval().requires_grad_(False)

    @property
    def device(self) -> torch.device:
        """Where the prior's weights are (its inputs are moved there)."""
        return self.prior.flow.standardize.mean.device

    def to(self, device: torch.device) -> FittingPrior:
        """This prior on ``device`` (itself when already there, else a copy: the caller's stays put)."""
        return self if self.device == device else FittingPrior(copy.deepcopy(self.prior).to(device))

    def _features(self, samples: Sequence[Sample]) -> Tensor | None:
        """Backbone features (B, F) of a batch, reused by the calls that follow for the same batch."""
        key = tuple(s.image_id for s in samples)
        if self._last is None or self._last[0] != key:
            features = features_for(self.prior, samples)
            self._last = (key, None if features is None else features.to(self.device))
        return self._last[1]

    def log_prob_fn(self, samples: Sequence[Sample]) -> Callable[[Tensor], Tensor]:
        """A differentiable X2.5D (B, M, K+1, 3) -> log p (B, M) for these images.

        The condition features are computed once per batch: the observations (and the image)
        do not change during the fit.
        """
        with torch.no_grad():
            obs = observations(samples).to(self.device)
            condition = self.prior.condition(obs, None, self._features(samples)).unsqueeze(1)
        return lambda x25d: self.prior.flow.log_prob(x25d.float().flatten(-2), condition)

    def sample_cameras(self, samples: Sequence[Sample], m: int, seed: int = 0) -> Tensor:
        """Initial virtual camera centres (B, M, 3): the camera part of M prior samples per image
        (the noise comes from a seeded CPU generator, so every device starts from the same cameras)."""
        gen = torch.Generator().manual_seed(seed)
        return self.prior.sample(observations(samples).to(self.device), m, generator=gen,
                                 features=self._features(samples))[:, :, -1]


def sample_for(prior: Prior, sample: Sample, n: int, seed: int = 0) -> Tensor:
    """n X2.5D samples (n, K+1, 3) for one dataset sample (unit rays, then the camera centre)."""
    return prior.sample(observations([sample]), n, generator=torch.Generator().manual_seed(seed),
                        features=features_for(prior, [sample]))[0]


def log_prob_for(prior: Prior, sample: Sample, x25d: Tensor) -> Tensor:
    """log p of X2.5D vectors (n, K+1, 3) given one dataset sample -> (n,)."""
    return prior.log_prob(observations([sample]), x25d[None].float(),
                          features=features_for(prior, [sample]))[0]


def load_fitting_prior(path: str | Path) -> FittingPrior:
    """Load a prior file for the fitting code."""
    return FittingPrior(load_prior(path))
