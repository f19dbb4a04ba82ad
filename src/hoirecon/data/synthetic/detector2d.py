"""A simulated 2D keypoint detector (ViTPose/HRNet-style) and the error taxonomy to measure one.

The error model follows Ronchi & Perona's analysis of COCO keypoint detectors: most
detections scatter around the true point (Gaussian, scaled by the per-keypoint OKS sigma and
the instance's box scale), some are left/right inversions, some are gross misses, and occluded
points are noisier, less confident and sometimes not reported at all. Missing keypoints are
written as detectors write them: confidence 0 at pixel (0, 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hoirecon.data.synthetic.observation import COCO_SIGMAS, KeypointDetectorConfig

COCO_LIMBS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((1, 2), (3, 4)),
    ((5, 6), (7, 8), (9, 10)),
    ((11, 12), (13, 14), (15, 16)),
)
"""Left/right keypoint pairs of COCO-17 grouped into limbs: face, arms, legs (group = index)."""
COCO_GROUP = np.array([0] * 5 + [1] * 6 + [2] * 6)
"""(17,) group of each COCO keypoint (0 face, 1 arms, 2 legs), indexing per-group rates."""
KS_GOOD, KS_NEAR = 0.85, 0.5
"""Keypoint-similarity thresholds of Ronchi & Perona's taxonomy (good / jitter / miss)."""


@dataclass(frozen=True)
class KeypointLayout:
    """What a detector knows about its keypoint set."""

    sigma: np.ndarray
    """(P,) per-keypoint sigma, fraction of the box scale."""
    limbs: tuple[tuple[tuple[int, int], ...], ...]
    """Left/right pairs grouped into limbs; limb ``i`` uses the group-``i`` swap rate."""
    group: np.ndarray
    """(P,) group of each keypoint, indexing the per-group gross-miss rates."""

    @property
    def mirror(self) -> np.ndarray:
        """(P,) index of each keypoint's left/right counterpart (itself when it has none)."""
        out = np.arange(len(self.sigma))
        for limb in self.limbs:
            for a, b in limb:
                out[a], out[b] = b, a
        return out


COCO_LAYOUT = KeypointLayout(np.array(COCO_SIGMAS), COCO_LIMBS, COCO_GROUP)


def object_layout(names: tuple[str, ...], sigma: float) -> KeypointLayout:
    """Layout of an object's keypoints: pairs are names that differ by left/right or neg_x/pos_x."""
    pairs = []
    for i, name in enumerate(names):
        for a, b in (("left", "right"), ("neg_x", "pos_x")):
            if a in name and name.replace(a, b) in names:
                pairs.append((i, names.index(name.replace(a, b))))
    return KeypointLayout(np.full(len(names), sigma), (tuple(pairs),), np.zeros(len(names), int))


@dataclass(frozen=True)
class KeypointTruth:
    """True 2D points of one instance and how the renderer sees them."""

    uv: np.ndarray
    """(P, 2) true pixel positions."""
    visible: np.ndarray
    """(P,) bool, not occluded."""
    behind_other: np.ndarray
    """(P,) bool, covered by the other instance."""
    scale: float
    """Box scale s = sqrt(w * h) of the instance, pixels."""
    pixels: np.ndarray
    """(M, 2) pixels of the instance's mask (where gross misses land)."""


@dataclass(frozen=True)
class Detection:
    """Output of the simulated detector, with the hidden labels of what went wrong."""

    uv: np.ndarray
    """(P, 2) detected pixels; (0, 0) where missing."""
    conf: np.ndarray
    """(P,) confidence in [0, 1]; 0 = missing."""
    source: np.ndarray
    """(P,) index of the true keypoint each detection was placed on (swaps differ from arange)."""
    gross: np.ndarray
    """(P,) bool, a gross miss."""

    @property
    def missing(self) -> np.ndarray:
        """(P,) bool, not reported."""
        return self.conf <= 0


def _per_group(rates: tuple[float, ...], group: np.ndarray) -> np.ndarray:
    return np.asarray(rates, dtype=float)[np.minimum(group, len(rates) - 1)]


def swap_sources(rng: np.random.Generator, layout: KeypointLayout, cfg: KeypointDetectorConfig) -> np.ndarray:
    """(P,) source index of every detection after a whole-instance flip and per-limb swaps."""
    source = np.arange(len(layout.sigma))
    mirror = layout.mirror
    if rng.random() < cfg.flip_rate:
        source = mirror.copy()
    for limb, rate in zip(layout.limbs, _per_group(cfg.swap_rate, np.arange(len(layout.limbs)))):
        if rng.random() < rate:
            for a, b in limb:
                source[a], source[b] = source[b], source[a]
    return source


def _gross_positions(
    rng: np.random.Generator, truth: KeypointTruth, layout: KeypointLayout, which: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """(G, 2) a pixel of the instance for keypoints ``which`` (G,) with KS < 0.5 to their true point
    and to their left/right counterpart's (as PoseFix synthesises Ronchi & Perona's misses)."""
    near = 2.0 * layout.sigma * truth.scale * np.sqrt(-2.0 * np.log(KS_NEAR))
    mirror = layout.mirror
    out = np.empty((len(which), 2))
    for n, i in enumerate(which):
        far = truth.pixels[(np.linalg.norm(truth.pixels - truth.uv[i], axis=1) > near[i])
                           & (np.linalg.norm(truth.pixels - truth.uv[mirror[i]], axis=1) > near[i])]
        if len(far):
            out[n] = far[rng.integers(len(far))]
        else:
            angle = rng.uniform(0.0, 2 * np.pi)
            out[n] = truth.uv[i] + rng.uniform(near[i], 2.0 * near[i]) * np.array([np.cos(angle), np.sin(angle)])
    return np.clip(out, 0.0, np.array(size, float) - 1.0)


def _noise_std(truth: KeypointTruth, sigma: np.ndarray, cfg: KeypointDetectorConfig) -> np.ndarray:
    """(P,) per-axis pixel std of every keypoint, heavier under occlusion."""
    factor = np.where(truth.visible, 1.0, np.where(truth.behind_other, cfg.other_occluded_noise, cfg.occluded_noise))
    return cfg.noise * sigma * truth.scale * factor


def detect_keypoints(
    rng: np.random.Generator, truth: KeypointTruth, layout: KeypointLayout, cfg: KeypointDetectorConfig,
    size: tuple[int, int],
) -> Detection:
    """Simulate one detector pass over one instance of ``size = (width, height)`` pixels.

    Truncated points (outside the image) are missing; occluded ones are missing with
    ``cfg.occluded_drop``; the rest are swapped, jittered or grossly misplaced as configured.
    """
    p = len(layout.sigma)
    source = swap_sources(rng, layout, cfg)
    std = _noise_std(truth, layout.sigma, cfg)[source]
    uv = truth.uv[source] + rng.normal(0.0, 1.0, (p, 2)) * std[:, None]
    gross = rng.random(p) < _per_group(cfg.gross_rate, layout.group)
    uv[gross] = _gross_positions(rng, truth, layout, np.flatnonzero(gross), size)
    seen = truth.visible[source] & ~gross
    lo, hi = np.where(seen, cfg.conf_visible[0], cfg.conf_occluded[0]), np.where(seen, cfg.conf_visible[1], cfg.conf_occluded[1])
    conf = rng.uniform(lo, hi)
    inside = (truth.uv >= 0).all(axis=1) & (truth.uv <= np.array(size, float) - 1.0).all(axis=1)
    dropped = ~truth.visible & (rng.random(p) < cfg.occluded_drop)
    missing = ~inside | dropped
    uv = np.where(missing[:, None], 0.0, np.clip(uv, 0.0, np.array(size, float) - 1.0))
    return Detection(uv, np.where(missing, 0.0, conf), source, gross & ~missing)


def keypoint_similarity(uv: np.ndarray, truth_uv: np.ndarray, sigma: np.ndarray, scale: float) -> np.ndarray:
    """COCO keypoint similarity (P,) of detections (P, 2) to true points (P, 2)."""
    d2 = ((uv - truth_uv) ** 2).sum(axis=-1)
    return np.exp(-d2 / (2.0 * scale**2 * (2.0 * sigma) ** 2))


def error_kinds(uv: np.ndarray, truth_uv: np.ndarray, layout: KeypointLayout, scale: float) -> np.ndarray:
    """Ronchi & Perona's label of each detection (P,): 'good', 'jitter', 'inversion' or 'miss'.

    Inversion: closer (in KS) to the left/right counterpart's true point, with KS >= 0.5 there.
    """
    own = keypoint_similarity(uv, truth_uv, layout.sigma, scale)
    other = keypoint_similarity(uv, truth_uv[layout.mirror], layout.sigma, scale)
    kinds = np.where(own >= KS_GOOD, "good", np.where(own >= KS_NEAR, "jitter", "miss")).astype("<U9")
    kinds[(other > own) & (other >= KS_NEAR) & (layout.mirror != np.arange(len(uv)))] = "inversion"
    return kinds


def box_scale(mask: np.ndarray, fallback_uv: np.ndarray, size: tuple[int, int]) -> float:
    """Box scale sqrt(w * h) of a mask (H, W); of the clipped points (P, 2) when the mask is empty."""
    rows, cols = np.nonzero(mask)
    if len(rows):
        return float(np.sqrt((np.ptp(cols) + 1.0) * (np.ptp(rows) + 1.0)))
    pts = np.clip(fallback_uv, 0.0, np.array(size, float) - 1.0)
    return float(max(1.0, np.sqrt((np.ptp(pts[:, 0]) + 1.0) * (np.ptp(pts[:, 1]) + 1.0))))
