"""Settings of the mask search (:func:`hoirecon.fitting.mask_search.search_object_pose`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoirecon.fitting.mask_search_loss import LossWeights

__all__ = ["MaskSearchConfig"]


@dataclass(frozen=True)
class MaskSearchConfig:
    """Settings of :func:`~hoirecon.fitting.mask_search.search_object_pose`; the defaults take one to
    three seconds per 256 x 256 image on one core (``bench/bench_mask_search.py``)."""

    num_rotations: int = 4096
    """Rotation hypotheses for a template without symmetries; divided by the number of symmetries."""
    min_rotations: int = 128
    """Fewest rotation hypotheses, however many symmetries the template has."""
    scales: tuple[float, ...] = (1.0,)
    """Scale hypotheses without a body (each held fixed); depth absorbs scale in a silhouette."""
    person_scales: tuple[float, ...] = (0.8, 1.0, 1.25)
    """Scale hypotheses when ``body_init`` gives the object's rough depth."""
    num_points: int = 384
    """Surface samples of the template projected by the loss."""
    num_contour: int = 192
    """Most mask contour pixels the projection must cover."""
    num_interior: int = 192
    """Most mask pixels (anywhere in the mask) the projection must cover."""
    screen_points: int = 128
    """Surface samples (a prefix of ``num_points``) used while screening."""
    screen_samples: int = 64
    """Contour and interior samples (each) used while screening."""
    screen_keep: int = 256
    """Hypotheses kept, by their loss where they start, for the coarse steps."""
    screen_steps: int = 20
    """Coarse Adam steps of the ``screen_keep`` hypotheses before the cut to ``num_keep``."""
    screen_lr: float = 0.05
    """Coarse step size (radians for the rotation, working units for the position)."""
    num_keep: int = 32
    """Hypotheses refined on the full loss after the coarse steps."""
    refine_steps: int = 80
    """Adam steps of the refinement."""
    refine_lr: float = 0.03
    """Refinement step size (cosine-decayed to zero)."""
    num_verify: int = 6
    """Refined hypotheses ray cast to measure their IoU; the best IoU is polished and returned."""
    verify_min_angle_deg: float = 10.0
    """Verified hypotheses differ by more than this rotation (degrees, modulo symmetries)."""
    iou_max_side: int = 256
    """Verification and polish render the image downscaled so the mask's box spans at most this
    many pixels (a ray per pixel of the object's box and render)."""
    polish_sweeps: int = 6
    """Sweeps of the IoU compass search (12 renders each); 0 turns the polish off."""
    polish_candidates: int = 3
    """Verified hypotheses of highest IoU polished for the first half of the sweeps; the best
    of them takes the rest."""
    polish_rotation_deg: float = 1.0
    """First rotation step of the polish, degrees."""
    polish_shift_px: float = 0.5
    """First image-shift step of the polish, pixels of the (downscaled) render."""
    polish_depth: float = 0.01
    """First relative depth step of the polish."""
    inside_weight: float = 1.0
    """Weight of projected points falling off the mask (working units)."""
    contour_weight: float = 1.0
    """Weight of mask contour pixels left uncovered (working units)."""
    interior_weight: float = 0.5
    """Weight of mask pixels left uncovered (working units)."""
    depth_weight: float = 1.0
    """Weight of the depth prior (squared metres beyond the tolerance)."""
    depth_tolerance: float = 1.0
    """Distance in depth (metres) from the pelvis the object may take without cost."""
    crop_factor: float = 2.0
    """Side of the working crop over the mask's bounding-box side."""
    work_resolution: int = 192
    """Side of the working distance-field grid, cells."""
    seed: int = 0
    """Seed of the surface and mask samples (the search is deterministic given it)."""
    num_threads: int | None = 1
    """Torch intra-op threads during the search, restored afterwards; None leaves torch's setting.
    Its tensors are small: a second thread barely helps, and on a busy machine it can make the
    search several times slower."""

    def __post_init__(self) -> None:
        positive_ints = ("num_rotations", "min_rotations", "num_points", "screen_points", "num_contour", "num_interior",
                         "screen_samples", "screen_keep", "num_keep", "num_verify", "polish_candidates", "iou_max_side",
                         "work_resolution")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"MaskSearchConfig.{name}: expected a positive integer, got {value!r}")
        for name in ("screen_steps", "refine_steps", "polish_sweeps"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"MaskSearchConfig.{name}: expected a non-negative integer")
        for name in ("scales", "person_scales"):
            values = tuple(getattr(self, name))
            if not values or not all(np.isfinite(v) and v > 0 for v in values):
                raise ValueError(f"MaskSearchConfig.{name}: expected a non-empty tuple of positive scales")
        if self.num_threads is not None and (not isinstance(self.num_threads, int) or self.num_threads < 1):
            raise ValueError(f"MaskSearchConfig.num_threads: expected None or a positive integer, got {self.num_threads!r}")
        if self.crop_factor < 1.0:
            raise ValueError(f"MaskSearchConfig.crop_factor: expected >= 1, got {self.crop_factor}")

    def loss_weights(self) -> LossWeights:
        """The weights of the silhouette loss terms."""
        return LossWeights(self.inside_weight, self.contour_weight, self.interior_weight, self.depth_weight)
