"""Which prior (and which occlusion maps) the fit of one photo uses, and the record that says so.

A prior file given by the user comes first. Without one, a built-in category uses the default
prior shipped with the package (:mod:`hoirecon.prior.builtin`: small, trained on the synthetic
generator; one trained on your own 2D images should do better). A preset with a contact term reads
the category's mean occlusion maps from that same prior file, so contact needs no dataset folder,
only the person's and the object's silhouettes. Without any prior, a preset that needs one falls
back to its documented preset without the prior term (with a warning), as ``hoirecon fit`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoirecon.fitting.optimize import FitConfig
from hoirecon.fitting.pipeline import without_prior
from hoirecon.io.occlusion_files import OcclusionMaps
from hoirecon.prior.builtin import default_prior_path, default_prior_record
from hoirecon.prior.fitting_prior import FittingPrior
from hoirecon.prior.maps import check_maps
from hoirecon.prior.prior import Prior, load_prior

DEFAULT_NOTE = ("the default prior shipped with hoirecon (small, trained on the synthetic generator); "
                "a prior trained on your own 2D images (hoirecon train) should do better")
"""What the record and the console say about a default prior."""


@dataclass(frozen=True)
class PriorRequest:
    """What the fit of one image needs from a prior."""

    category: str
    prior_path: Path | None
    """The ``--prior`` file, or None."""
    builtin_template: bool
    """Whether the object is the built-in template of ``category`` (a default prior fits only it)."""
    object_keypoints: int
    """Object keypoints of the template the fit uses (the prior must model 22 + this many)."""
    body_vertex_count: int
    template_vertex_count: int


@dataclass(frozen=True)
class ImagePrior:
    """The prior and maps a fit uses, its configuration after any fallback, and the record."""

    config: FitConfig
    prior: FittingPrior | None
    """None when the configuration has no prior term."""
    occlusion: OcclusionMaps | None
    """The mean occlusion maps, when the configuration has a contact term."""
    record: dict[str, Any] = field(default_factory=dict)
    """``source`` (``file``, ``default`` or None), ``path``, ``used_for`` and, for a default, its manifest entry."""

    @property
    def label(self) -> str:
        """One line on the prior used, for the console."""
        if self.record.get("source") is None:
            return "none"
        uses = " and ".join(self.record["used_for"]) or "nothing"
        what = f"default prior {self.record['path']}" if self.record["source"] == "default" else str(self.record["path"])
        return f"{what} (for {uses})"


def prior_source(request: PriorRequest) -> tuple[Path | None, str | None]:
    """The prior file to use and where it comes from (``file``, ``default``, or None for none)."""
    if request.prior_path is not None:
        return Path(request.prior_path), "file"
    if request.builtin_template:
        path = default_prior_path(request.category)
        if path is not None:
            return path, "default"
    return None, None


def _check_keypoints(prior: Prior, path: Path, request: PriorRequest) -> None:
    """ValueError naming the file when the prior models another keypoint count than the template."""
    expected = 22 + request.object_keypoints
    if prior.n_keypoints != expected:
        raise ValueError(f"{path}: the prior models {prior.n_keypoints} keypoints, category {request.category!r} "
                         f"has {expected} (22 body + {request.object_keypoints} object): a prior of another category?")


def choose_prior(config: FitConfig, request: PriorRequest) -> ImagePrior:
    """The prior and maps ``config`` needs for one image (see the module docstring).

    Raises ValueError naming the file when the prior does not fit the template, and
    ``MissingOcclusionMaps`` when a contact term needs maps the prior file does not hold.
    """
    path, source = prior_source(request)
    wants_prior, wants_contact = config.weights.prior > 0, config.weights.contact > 0
    if path is None:
        if wants_contact:
            raise ValueError(f"--preset {config.name}: the contact term needs the category's occlusion maps, which "
                             f"travel in a prior file; category {request.category!r} has no default prior, pass --prior FILE")
        if wants_prior:
            config = without_prior(config, request.category)
        return ImagePrior(config, None, None, {"source": None, "path": None, "used_for": []})
    if not (wants_prior or wants_contact):
        return ImagePrior(config, None, None, {"source": None, "path": None, "used_for": []})
    prior = load_prior(path)
    _check_keypoints(prior, path, request)
    maps = (check_maps(prior.occlusion, str(path), request.category if source == "default" else None,
                       request.body_vertex_count, request.template_vertex_count) if wants_contact else None)
    record: dict[str, Any] = {"source": source, "path": str(path),
                              "used_for": [use for use, on in (("prior", wants_prior), ("contact", wants_contact)) if on]}
    if source == "default":
        record.update(note=DEFAULT_NOTE, trained=default_prior_record(request.category))
    if maps is not None:
        record["occlusion_maps"] = {"images": maps.num_images, "eta": maps.eta, "dilation": maps.dilation}
    return ImagePrior(config, FittingPrior(prior) if wants_prior else None, maps, record)
