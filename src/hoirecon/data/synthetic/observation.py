"""How good the simulated evidence is: named presets for detectors, masks and the HMR body.

A fit may read only what real detectors and estimators produce (SPEC section 6), so the
generator simulates each of them with an error model whose levels come from published
benchmarks. ``clean`` keeps the levels the generator used before these presets existed,
``realistic`` (the default) follows current detectors on in-the-wild benchmarks, and ``hard``
follows them on heavily occluded people. Every value and its source is listed in
``docs/evidence.md``; values marked "judgement" there are not taken from a paper.

Conventions: keypoint noise is relative to the instance's box scale ``s = sqrt(w * h)`` and to
a per-keypoint sigma, as in COCO's object keypoint similarity
``KS = exp(-d^2 / (2 s^2 (2 sigma)^2))``; rates are probabilities per keypoint, per limb or
per image as stated.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

COCO_SIGMAS: tuple[float, ...] = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)
"""Per-keypoint OKS sigmas of the COCO-17 keypoints (cocoapi ``COCOeval``), fractions of s."""
OBJECT_SIGMA = 0.06
"""Sigma of every object keypoint (between COCO's wrist and elbow sigmas; a judgement)."""


@dataclass(frozen=True)
class KeypointDetectorConfig:
    """Error model of one 2D keypoint detector (the COCO-17 body detector or the object one)."""

    noise: float
    """Per-axis noise std as a multiple of ``sigma_i * s`` on visible keypoints (0 = exact)."""
    occluded_noise: float = 2.0
    """Noise multiplier on keypoints the renderer marks occluded (self-occlusion)."""
    other_occluded_noise: float = 2.0
    """Noise multiplier, instead of ``occluded_noise``, where the other instance covers the point."""
    occluded_drop: float = 0.0
    """Probability that an occluded keypoint inside the image is missing (confidence 0)."""
    flip_rate: float = 0.0
    """Probability per image that the detector swaps left and right for the whole instance."""
    swap_rate: tuple[float, ...] = (0.0,)
    """Probability per limb that its left and right copies are swapped, one value per group
    (body: face, arms, legs; object: all symmetric pairs)."""
    gross_rate: tuple[float, ...] = (0.0,)
    """Probability per keypoint of a gross miss (placed on a far pixel of the same instance,
    KS < 0.5), one value per group as for ``swap_rate``."""
    conf_visible: tuple[float, float] = (0.75, 1.0)
    """Uniform range of the confidence of visible keypoints."""
    conf_occluded: tuple[float, float] = (0.3, 0.6)
    """Uniform range of the confidence of occluded keypoints and of gross misses."""
    sigma: float | None = None
    """Sigma of every keypoint of a detector without a COCO table (objects); None = the COCO sigmas."""


@dataclass(frozen=True)
class MaskConfig:
    """Error model of the instance-segmentation masks that are written as evidence."""

    boundary: float = 0.0
    """Std of the local erode/dilate displacement of the boundary, fraction of sqrt(area)."""
    boundary_px: float = 0.0
    """Floor of that std in pixels of a 256-px-wide image (scaled with the width), for small instances."""
    smoothness: float = 0.08
    """Correlation length of that displacement along the boundary, fraction of sqrt(area)."""
    hole_rate: float = 0.0
    """Probability per mask of holes punched into it."""
    hole_size: float = 0.06
    """Radius of a hole, fraction of sqrt(area)."""
    bleed_rate: float = 0.0
    """Probability per mask that it bleeds into the other instance where they touch."""
    bleed_size: float = 0.1
    """How far the bleed reaches into the other instance, fraction of sqrt(area)."""


@dataclass(frozen=True)
class HmrConfig:
    """Error model of the HMR-style body estimate (an SMPLer-X / HMR 2.0 output)."""

    pa_mpjpe_mm: float
    """Target PA-MPJPE of the 22 body joints, mm; the pose noise is calibrated to it."""
    orient_deg: float
    """Median angle of the global-orientation error, degrees."""
    depth_rel: float
    """Std of the relative error of the pelvis depth (the estimate slides along the camera ray)."""
    shape_std: float = 0.5
    """Std of the error of each shape coefficient."""
    joint_conf: float = 0.5
    """Confidence of the 22-joint layout's joints without a COCO counterpart."""


@dataclass(frozen=True)
class CorrespondenceConfig:
    """Error model of the dense 2D-3D object correspondences (a CDPN / EPro-PnP output)."""

    count: int = 48
    """Correspondences per image."""
    px: float = 2.0
    """Std of the pixel noise of inlier correspondences."""
    outliers: float = 0.25
    """Share of correspondences replaced by gross outliers around the object."""


@dataclass(frozen=True)
class ObservationConfig:
    """Everything that sets how good the evidence of a synthetic image is."""

    name: str
    """Preset name (recorded in the manifest)."""
    body: KeypointDetectorConfig
    """The COCO-17 body keypoint detector."""
    object: KeypointDetectorConfig
    """The object keypoint detector."""
    hmr: HmrConfig
    """The HMR-style body estimate."""
    masks: MaskConfig = field(default_factory=MaskConfig)
    """The person and object masks."""
    corr: CorrespondenceConfig = field(default_factory=CorrespondenceConfig)
    """The dense object correspondences."""


# The levels the generator used before presets existed (about 2 px of keypoint noise on a
# 100-px person, exact masks, 0.12 rad of per-component pose noise = 61 mm PA-MPJPE).
CLEAN = ObservationConfig(
    name="clean",
    body=KeypointDetectorConfig(noise=0.3, swap_rate=(0.0, 0.0, 0.0), gross_rate=(0.0, 0.0, 0.0)),
    object=KeypointDetectorConfig(noise=1.0, sigma=OBJECT_SIGMA),
    hmr=HmrConfig(pa_mpjpe_mm=61.0, orient_deg=9.2, depth_rel=0.12, shape_std=0.5, joint_conf=0.9),
)
# A ViTPose/HRNet-class detector, Mask R-CNN-class masks and HMR 2.0 on 3DPW. Keypoint rates:
# Ronchi & Perona's COCO statistics (>10 visible keypoints) scaled by the error ratio of a
# 76-AP to a ~62-AP detector; noise from their jitter rate, converted to the box scale.
REALISTIC = ObservationConfig(
    name="realistic",
    body=KeypointDetectorConfig(
        noise=0.32, occluded_noise=2.0, other_occluded_noise=2.5, occluded_drop=0.25, flip_rate=0.01,
        swap_rate=(0.005, 0.01, 0.03), gross_rate=(0.013, 0.052, 0.052),
        conf_visible=(0.6, 0.95), conf_occluded=(0.2, 0.6)),
    object=KeypointDetectorConfig(
        noise=1.0, occluded_noise=2.0, other_occluded_noise=3.0, occluded_drop=0.3, flip_rate=0.05,
        swap_rate=(0.03,), gross_rate=(0.05,), conf_visible=(0.6, 0.95), conf_occluded=(0.2, 0.6), sigma=OBJECT_SIGMA),
    hmr=HmrConfig(pa_mpjpe_mm=54.3, orient_deg=5.0, depth_rel=0.15, shape_std=0.5, joint_conf=0.5),
    masks=MaskConfig(boundary=0.02, boundary_px=0.7, hole_rate=0.1, bleed_rate=0.15),
    corr=CorrespondenceConfig(count=48, px=3.0, outliers=0.3),
)
# Occluded people: Ronchi & Perona's statistics for people with at most 10 visible keypoints
# (unscaled) and HMR 2.0 on VOccl3D's medium-occlusion split.
HARD = ObservationConfig(
    name="hard",
    body=KeypointDetectorConfig(
        noise=0.40, occluded_noise=3.0, other_occluded_noise=3.0, occluded_drop=0.5, flip_rate=0.03,
        swap_rate=(0.01, 0.03, 0.06), gross_rate=(0.10, 0.14, 0.14),
        conf_visible=(0.5, 0.9), conf_occluded=(0.1, 0.5)),
    object=KeypointDetectorConfig(
        noise=1.5, occluded_noise=3.0, other_occluded_noise=4.0, occluded_drop=0.5, flip_rate=0.10,
        swap_rate=(0.06,), gross_rate=(0.14,), conf_visible=(0.5, 0.9), conf_occluded=(0.1, 0.5), sigma=OBJECT_SIGMA),
    hmr=HmrConfig(pa_mpjpe_mm=71.8, orient_deg=8.5, depth_rel=0.25, shape_std=0.8, joint_conf=0.3),
    masks=MaskConfig(boundary=0.035, boundary_px=1.0, hole_rate=0.3, bleed_rate=0.3, bleed_size=0.15),
    corr=CorrespondenceConfig(count=48, px=5.0, outliers=0.45),
)

OBSERVATION_PRESETS: dict[str, ObservationConfig] = {c.name: c for c in (CLEAN, REALISTIC, HARD)}
"""The named presets, by name."""


def get_observation(name: str) -> ObservationConfig:
    """The preset called ``name``; raises ``ValueError`` listing the known names otherwise."""
    if name not in OBSERVATION_PRESETS:
        raise ValueError(f"unknown observation preset {name!r}; known presets are {', '.join(OBSERVATION_PRESETS)}")
    return OBSERVATION_PRESETS[name]


def noiseless(name: str = "noiseless") -> ObservationConfig:
    """Evidence without any error: detections on the true points, exact masks, the true body.

    Not a realistic setting; it exists so tests can check the geometry of the pipeline exactly.
    """
    exact = KeypointDetectorConfig(noise=0.0, occluded_noise=0.0, other_occluded_noise=0.0)
    return ObservationConfig(
        name=name, body=exact, object=replace(exact, sigma=OBJECT_SIGMA),
        hmr=HmrConfig(pa_mpjpe_mm=0.0, orient_deg=0.0, depth_rel=0.0, shape_std=0.0, joint_conf=1.0),
        corr=CorrespondenceConfig(px=0.0, outliers=0.0))
