"""What every batch of a category's fit shares: template, body model, configuration, prior,
occlusion maps and extra loss terms."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hoirecon.body import BodyModel
from hoirecon.fitting.optimize import FitConfig
from hoirecon.io.occlusion_files import OcclusionMaps
from hoirecon.objects import ObjectTemplate


@dataclass
class FitContext:
    """What every batch of a category shares."""

    category: str
    template: ObjectTemplate
    body: BodyModel
    config: FitConfig
    prior: object | None = None
    """A loaded prior (``hoirecon.prior.load_prior``) or None."""
    occlusion: OcclusionMaps | None = None
    """Mean occlusion maps of the category, needed by the contact term."""
    extra_terms: Callable | None = None
    """Extra loss terms (the PHOSA baseline) built per batch: (ctx, samples, init) -> callable."""
    device: str | None = None
    """Where the optimisation runs ('auto', 'cpu', 'cuda'; None: ``hoirecon.device``'s default chain)."""
