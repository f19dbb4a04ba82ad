"""What one row of an experiment runs: its evidence (data variant), its prior (prior variant) and its fit.

A row (:class:`Arm`) names a data variant, a prior variant and a fitting preset, optionally with
some loss weights replaced. This module turns them into the generator's ``SynthConfig``, the
prior's ``TrainConfig`` and the fit's ``FitConfig`` for one split, from the run's
:class:`~hoirecon.experiments.config.ExperimentConfig`.

Data variants:

* ``estimated``: every piece of evidence from the simulated detectors and estimators of the
  chosen observation preset (the default setting of this project);
* ``labels``: the paper's WildHOI protocol (Sec. 5.2): the object's 2D keypoints and dense
  correspondences are rendered from its pose labels (exact, nothing missing, no outliers), the
  body evidence stays estimated as before. Both variants draw the same scenes for a seed.

Prior variants are the training modes of :mod:`hoirecon.prior` by name (supervision, neighbours,
condition encoder); the generator fields in ``ExperimentConfig.data`` reach every data variant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from hoirecon.data.synthetic.generator import SynthConfig
from hoirecon.data.synthetic.observation import CorrespondenceConfig, ObservationConfig, get_observation
from hoirecon.experiments.config import ExperimentConfig
from hoirecon.fitting.optimize import FitConfig, LossWeights, get_preset
from hoirecon.prior import FlowConfig, TrainConfig

DATA_VARIANTS = ("estimated", "labels")
"""Known data variants."""

PRIOR_VARIANTS: dict[str, dict[str, Any]] = {
    "3d": {"supervision": "3d"},
    "2d-gt-groups": {"supervision": "2d-gt-groups"},
    "2d-knn": {"supervision": "2d-knn"},
    "2d-knn-no-neighbours": {"supervision": "2d-knn", "neighbours_per_step": 0},
    "2d-knn-unconditional": {"supervision": "2d-knn", "encoder": {"name": "none"}},
    "2d-knn-image": {"supervision": "2d-knn", "encoder": {"name": "efficientnet-lite0"}},
}
"""Prior training modes by name: fields of TrainConfig replaced (nested configs as dicts)."""
INIT = "init"
"""The preset name of the unoptimised initialisation (a fit with zero steps)."""


@dataclass(frozen=True)
class Arm:
    """One row of an experiment: evidence, prior and fit."""

    name: str
    """Row label in the report (unique within an experiment)."""
    preset: str
    """Fitting preset (or ``init``: the initialisation, zero optimisation steps)."""
    prior: str = "2d-knn"
    """Prior variant, used when the preset's prior weight is > 0."""
    data: str = "estimated"
    """Data variant."""
    weights: tuple[tuple[str, float], ...] = ()
    """Loss weights replaced in the preset (field of LossWeights, value)."""

    def __post_init__(self) -> None:
        """Reject unknown variants and weight names at definition time."""
        if self.data not in DATA_VARIANTS:
            raise ValueError(f"arm {self.name!r}: unknown data variant {self.data!r}; known: {', '.join(DATA_VARIANTS)}")
        if self.prior not in PRIOR_VARIANTS:
            raise ValueError(f"arm {self.name!r}: unknown prior variant {self.prior!r}; known: {', '.join(PRIOR_VARIANTS)}")
        known = set(asdict(LossWeights()))
        bad = [k for k, _ in self.weights if k not in known]
        if bad:
            raise ValueError(f"arm {self.name!r}: unknown loss weights {bad}; known: {', '.join(sorted(known))}")
        if self.preset != INIT:
            get_preset(self.preset)  # raises for an unknown preset, naming the known ones

    @property
    def is_plain(self) -> bool:
        """A shipped preset as it is (the kind of row that serves as a reference)."""
        return not self.weights and self.preset != INIT


def observation_for(variant: str, base: str) -> ObservationConfig:
    """The evidence model of a data variant on top of the observation preset ``base``."""
    obs = get_observation(base)
    if variant == "estimated":
        return obs
    if variant != "labels":
        raise ValueError(f"unknown data variant {variant!r}; known: {', '.join(DATA_VARIANTS)}")
    exact = replace(obs.object, noise=0.0, occluded_noise=0.0, other_occluded_noise=0.0, occluded_drop=0.0,
                    flip_rate=0.0, swap_rate=(0.0,), gross_rate=(0.0,))
    return replace(obs, name=f"{obs.name}+object-labels", object=exact,
                   corr=CorrespondenceConfig(count=obs.corr.count, px=0.0, outliers=0.0))


def synth_config(config: ExperimentConfig, variant: str, seed: int, category: str) -> SynthConfig:
    """The generator settings of one split of a data variant (``config.data`` passed through)."""
    known = {f.name for f in fields(SynthConfig)}
    unknown = sorted(set(config.data) - known)
    if unknown:
        raise ValueError(f"data: {unknown} are not fields of the synthetic generator's config; known: {', '.join(sorted(known))}")
    return SynthConfig(categories=(category,), train=config.train, test=config.test, seed=seed,
                       image_size=config.image_size, workers=1,
                       observation=observation_for(variant, config.observation), **config.data)


def train_config(config: ExperimentConfig, variant: str, seed: int) -> TrainConfig:
    """The prior training settings of one split for a prior variant."""
    base = TrainConfig(epochs=config.prior_epochs, batch_size=64, lr=1e-3, seed=seed,
                       flow=replace(FlowConfig(), depth=config.prior_depth, width=config.prior_width))
    data = asdict(base)
    for key, value in PRIOR_VARIANTS[variant].items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return TrainConfig.from_dict(data)


def fit_config(arm: Arm, config: ExperimentConfig) -> FitConfig:
    """The fitting settings of a row (``init``: the ``none`` preset with zero steps)."""
    if arm.preset == INIT:
        return get_preset("none", object_steps=0, joint_steps=0)
    preset = get_preset(arm.preset, object_steps=config.object_steps, joint_steps=config.joint_steps)
    return replace(preset, weights=replace(preset.weights, **dict(arm.weights))) if arm.weights else preset
