"""The named experiments: which rows each runs, what they are compared with, which paper table they mirror.

* ``supervision`` (paper Table 2): priors trained from 3D, from 2D with ground-truth groups and
  from 2D with KNN groups, plus rows the paper lacks: KNN without neighbours (each image's own
  view only), an unconditional flow, and an image-feature condition against the keypoint
  layout; each fitted with the ``prior`` preset (the paper's BEHAVE setting, no contact term).
* ``losses`` (paper Table 4): the presets ``none``, ``contact``, ``prior``, ``prior+contact``
  and ``phosa``, and the initialisation.
* ``evidence``: the paper's WildHOI protocol (object correspondences rendered from the pose
  labels) against fully estimated evidence, for ``none``, ``prior+contact`` and ``phosa``.

Every experiment also fits ``none`` and ``phosa`` on each of its data variants: the references
of the paired differences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hoirecon.experiments.published import TABLE_2, TABLE_3, TABLE_4, PublishedTable
from hoirecon.experiments.variants import INIT, Arm

REFERENCES = ("none", "phosa")
"""Presets every row is compared with, on the same images."""


@dataclass(frozen=True)
class Experiment:
    """A named experiment: its rows, contrasts and the paper's rows to show beside them."""

    name: str
    title: str
    arms: tuple[Arm, ...]
    contrasts: tuple[tuple[str, str], ...] = ()
    """(row, other row) pairs whose paired differences the report shows besides the references."""
    published: tuple[PublishedTable, ...] = ()
    description: str = ""
    references: tuple[str, ...] = field(default=REFERENCES)

    def __post_init__(self) -> None:
        """Reject duplicate row names and contrasts or references naming no row."""
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {self.name!r}: duplicate row names in {names}")
        missing = [n for pair in self.contrasts for n in pair if n not in names]
        if missing:
            raise ValueError(f"experiment {self.name!r}: contrasts name unknown rows {missing}")
        for arm in self.arms:
            for ref in self.references:
                self.reference_of(arm, ref)

    def arm(self, name: str) -> Arm:
        """The row called ``name``."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f"experiment {self.name!r} has no row {name!r}")

    def reference_of(self, arm: Arm, preset: str) -> Arm:
        """The plain ``preset`` row on the same evidence as ``arm`` (its paired reference)."""
        for other in self.arms:
            if other.is_plain and other.preset == preset and other.data == arm.data:
                return other
        raise ValueError(f"experiment {self.name!r}: no plain {preset!r} row on {arm.data!r} evidence")

    @property
    def data_variants(self) -> tuple[str, ...]:
        """The data variants the rows use, in row order."""
        return tuple(dict.fromkeys(a.data for a in self.arms))


SUPERVISION = Experiment(
    "supervision", "Prior supervision (paper Table 2)",
    (Arm("3d", "prior", prior="3d"),
     Arm("2d-gt-groups", "prior", prior="2d-gt-groups"),
     Arm("2d-knn", "prior", prior="2d-knn"),
     Arm("2d-knn, no neighbours", "prior", prior="2d-knn-no-neighbours"),
     Arm("2d-knn, unconditional", "prior", prior="2d-knn-unconditional"),
     Arm("2d-knn, image condition", "prior", prior="2d-knn-image"),
     Arm("none", "none"), Arm("phosa", "phosa")),
    contrasts=(("2d-knn", "3d"), ("2d-knn", "2d-gt-groups"), ("2d-knn, no neighbours", "2d-knn"),
               ("2d-knn, unconditional", "2d-knn"), ("2d-knn, image condition", "2d-knn")),
    published=(TABLE_2,),
    description="Priors trained in each mode on the same training images, each fitted with the `prior` preset "
                "(prior term, no contact term: the paper's Table 2 setting) on the same test images.",
)

LOSSES = Experiment(
    "losses", "Optimisation losses (paper Table 4)",
    (Arm("init", INIT), Arm("none", "none"), Arm("contact", "contact"), Arm("prior", "prior"),
     Arm("prior+contact", "prior+contact"), Arm("phosa", "phosa")),
    contrasts=(("prior+contact", "prior"), ("prior+contact", "contact"), ("prior", "contact")),
    published=(TABLE_4,),
    description="One KNN-grouped 2D prior per split; every preset fits the same test images from the same "
                "initialisation (`init` is that initialisation, unoptimised).",
)

EVIDENCE = Experiment(
    "evidence", "Object evidence from labels (the paper's WildHOI protocol) against estimated evidence",
    tuple(Arm(f"{data} / {preset}", preset, data=data)
          for data in ("labels", "estimated") for preset in ("none", "prior+contact", "phosa")),
    contrasts=tuple((f"labels / {p}", f"estimated / {p}") for p in ("none", "prior+contact", "phosa")),
    published=(TABLE_3,),
    description="`labels`: the object's keypoints and dense correspondences rendered from its pose labels, as "
                "the paper's Sec. 5.2 does on WildHOI (the body evidence is estimated in both); `estimated`: "
                "everything from the simulated detectors and estimators. Same scenes for both per seed; the "
                "prior of each variant is trained on that variant's training evidence.",
)

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (SUPERVISION, LOSSES, EVIDENCE)}
"""The named experiments, by name."""


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; ``ValueError`` listing the known ones otherwise."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known experiments are {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]
