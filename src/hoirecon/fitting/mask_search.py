"""Object pose from its mask alone: a PHOSA-style search over many rotation hypotheses.

PHOSA fits a rigid template to an object mask by optimising thousands of random initial poses
against a rendered silhouette and keeping the best. Here, on a CPU:

1. Hypotheses: a uniform grid of rotations (:mod:`~hoirecon.fitting.mask_search_rotations`,
   fewer for templates with symmetries) times a few fixed scales around 1. Each starts with its
   projected bounding box on the mask's: the depth from the template's metric size
   (``z = f * size / mask_extent``), the origin from the box centres.
2. Screening: every hypothesis takes a few Adam steps of a coarse silhouette loss
   (:mod:`~hoirecon.fitting.mask_search_loss`: projected surface samples must lie on the mask
   and cover it); the best ``num_keep`` survive.
3. Refinement: the survivors take a few dozen Adam steps of the full loss.
4. Verification: the best few by loss that differ by more than ``verify_min_angle_deg`` modulo
   the symmetries are ray cast (:func:`hoirecon.render.render_scene`); the highest silhouette IoU
   wins, so near-ties of the cheap loss between mirror-like poses are settled by the true IoU.

With ``body_init`` the object's depth is pulled to within ``depth_tolerance`` of the pelvis, and
the scale hypotheses become ``person_scales``: a silhouette fixes only depth / scale, and the
body supplies the depth. With ``person_mask`` projected points may also fall on the person
(the object may be behind it), and the IoU ignores person pixels outside the object mask.

What a silhouette cannot tell apart (measured in ``bench/bench_mask_search.py``, 256 x 256,
f = 300, objects 2-4 m away): a sphere's rotation is unobservable (the balls' icosahedral
symmetries leave up to 37 degrees, so they fail a 15-degree rotation test half the time whatever
the fit); a flat or thin object (tennis racket, violin, bat) seen nearly edge-on or end-on has
mirror poses that differ only by perspective, and a few pixels of width leave its depth
and tilt loose. See the bench for the per-category numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
import trimesh

from hoirecon.fitting.body_init import BodyInit
from hoirecon.fitting.mask_search_loss import Hypotheses, LossWeights, hypothesis_poses, refine, silhouette_losses
from hoirecon.fitting.mask_search_polish import PosedSilhouette, polish_pose, render_iou, silhouette_iou
from hoirecon.fitting.mask_search_rotations import diverse_order, hypothesis_rotations
from hoirecon.fitting.mask_search_target import MaskTarget, build_target
from hoirecon.objects import ObjectTemplate
from hoirecon.render import Camera

__all__ = ["MaskSearchConfig", "MaskSearchResult", "search_object_pose", "silhouette_iou"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaskSearchConfig:
    """Settings of :func:`search_object_pose`; the defaults take one to three seconds per image on 2 cores."""

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
    polish_sweeps: int = 6
    """Sweeps of the IoU compass search (12 renders each); 0 turns the polish off."""
    polish_rotation_deg: float = 1.0
    """First rotation step of the polish, degrees."""
    polish_shift_px: float = 0.5
    """First image-shift step of the polish, pixels."""
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

    def __post_init__(self) -> None:
        positive_ints = ("num_rotations", "min_rotations", "num_points", "screen_points", "num_contour", "num_interior",
                         "screen_samples", "screen_keep", "num_keep", "num_verify", "work_resolution")
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
        if self.crop_factor < 1.0:
            raise ValueError(f"MaskSearchConfig.crop_factor: expected >= 1, got {self.crop_factor}")


@dataclass(frozen=True, eq=False)
class MaskSearchResult:
    """The best object pose found for a mask: ``X_cam = scale * X_template @ rotation.T + translation``."""

    rotation: np.ndarray
    """(3, 3) template -> camera rotation."""
    translation: np.ndarray
    """(3,) template origin in the camera frame, metres."""
    scale: float
    """Template scale (1 = the template's metric size)."""
    iou: float
    """Silhouette IoU of this pose with the mask (person pixels outside the mask ignored)."""
    score: float
    """Final loss of this pose (sum of ``loss_terms``)."""
    loss_terms: dict[str, float] = field(default_factory=dict)
    """Weighted loss terms of this pose."""
    num_hypotheses: int = 0
    """Hypotheses screened."""
    candidate_ious: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """(C,) IoUs of the verified candidates, best loss first."""
    candidate_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """(C,) losses of the verified candidates, ascending."""


def _check_mask(value: object, name: str, shape: tuple[int, ...] | None) -> np.ndarray:
    """``value`` as an (H, W) bool array (of ``shape`` when given), else ValueError naming it."""
    if not isinstance(value, np.ndarray) or value.dtype != np.bool_ or value.ndim != 2:
        got = f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"{name}: expected an (H, W) bool array, got {got}")
    if shape is not None and value.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (that of object_mask), got {value.shape}")
    return value


def _check_intrinsics(value: object) -> np.ndarray:
    """``value`` as a finite (3, 3) pinhole matrix with positive focal lengths, else ValueError."""
    K = np.asarray(value, dtype=np.float64)
    if K.shape != (3, 3) or not np.all(np.isfinite(K)):
        raise ValueError(f"intrinsics: expected a finite (3, 3) matrix, got shape {K.shape}")
    if K[0, 0] <= 0 or K[1, 1] <= 0 or K[1, 0] != 0 or not np.allclose(K[2], [0.0, 0.0, 1.0]):
        raise ValueError("intrinsics: expected [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0")
    return K


def _check_inputs(object_mask: object, template: object, intrinsics: object, person_mask: object,
                  body_init: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate the public arguments; return the mask and intrinsics."""
    mask = _check_mask(object_mask, "object_mask", None)
    if not mask.any():
        raise ValueError("object_mask: the mask is empty")
    if person_mask is not None:
        _check_mask(person_mask, "person_mask", mask.shape)
    if not isinstance(template, ObjectTemplate) or len(template.faces) == 0:
        raise ValueError("template: expected an ObjectTemplate with faces")
    if body_init is not None:
        pelvis = np.asarray(getattr(body_init, "pelvis_cam", None), dtype=np.float64)
        if pelvis.shape != (3,) or not np.all(np.isfinite(pelvis)) or pelvis[2] <= 0:
            raise ValueError("body_init: expected a BodyInit whose pelvis_cam is finite and in front of the camera")
    return mask, _check_intrinsics(intrinsics)


def _surface_points(template: ObjectTemplate, count: int, seed: int) -> torch.Tensor:
    """(count, 3) float32 area-uniform samples of the template's surface (any prefix is uniform too)."""
    mesh = trimesh.Trimesh(template.vertices, template.faces, process=False)
    points, _ = trimesh.sample.sample_surface(mesh, count, seed=seed)
    return torch.from_numpy(np.asarray(points)).float()


def initial_hypotheses(points: torch.Tensor, rotations: np.ndarray, scales: tuple[float, ...],
                       target: MaskTarget, K_work: torch.Tensor) -> Hypotheses:
    """Every rotation (N, 3, 3) at every scale, placed so its projected box matches the mask's.

    Weak perspective: the depth makes the diagonal of the rotated template's xy box, times the
    focal length, equal to the mask box's diagonal; the origin then projects so the box centres agree.
    """
    rot = torch.from_numpy(rotations).float().repeat(len(scales), 1, 1)
    scale = torch.tensor(scales, dtype=torch.float32).repeat_interleave(len(rotations))
    rotated = scale[:, None, None] * points @ rot.transpose(1, 2)
    lo, hi = rotated[..., :2].min(dim=1).values, rotated[..., :2].max(dim=1).values
    focal = torch.stack([K_work[0, 0], K_work[1, 1]])
    mask_diag = float(np.linalg.norm(target.bbox_size))
    depth = (torch.linalg.vector_norm(focal * (hi - lo), dim=1) / mask_diag).clamp_min(1e-3)
    center = torch.from_numpy(target.bbox_center).float() - focal * 0.5 * (lo + hi) / depth[:, None]
    return Hypotheses(rotation=rot, scale=scale, center=center, log_depth=depth.log())


def _weights(config: MaskSearchConfig) -> LossWeights:
    """The loss weights of ``config``."""
    return LossWeights(config.inside_weight, config.contour_weight, config.interior_weight, config.depth_weight)


def _keep_best(hyp: Hypotheses, terms: dict[str, torch.Tensor], count: int) -> tuple[Hypotheses, dict[str, torch.Tensor]]:
    """The ``count`` hypotheses of lowest total loss, best first, with their loss terms."""
    order = torch.argsort(torch.nan_to_num(sum(terms.values()), nan=float("inf")))[:count]
    return hyp.select(order), {name: value[order] for name, value in terms.items()}


def _screen_and_refine(points: torch.Tensor, hyp: Hypotheses, target: MaskTarget, K_work: torch.Tensor,
                       config: MaskSearchConfig, depth_range: tuple[float, float] | None,
                       ) -> tuple[Hypotheses, dict[str, torch.Tensor]]:
    """Score every hypothesis where it starts and keep ``screen_keep``; give those a few coarse
    steps and keep ``num_keep``; refine those on the full loss. Returns the refined hypotheses
    and their loss terms, best first."""
    weights = _weights(config)
    coarse = points[: config.screen_points]
    with torch.no_grad():
        terms = silhouette_losses(coarse, hyp, target, K_work, weights, depth_range, config.screen_samples)
    hyp, _ = _keep_best(hyp, terms, config.screen_keep)
    hyp, terms = refine(coarse, hyp, target, K_work, weights, depth_range, config.screen_steps, config.screen_lr,
                        sample_limit=config.screen_samples)
    hyp, _ = _keep_best(hyp, terms, config.num_keep)
    hyp, terms = refine(points, hyp, target, K_work, weights, depth_range, config.refine_steps, config.refine_lr)
    return _keep_best(hyp, terms, len(hyp))


def _pose_losses(points: torch.Tensor, rotation: np.ndarray, translation: np.ndarray, scale: float,
                 target: MaskTarget, K_work: torch.Tensor, config: MaskSearchConfig,
                 depth_range: tuple[float, float] | None) -> dict[str, float]:
    """Loss terms of one pose rotation (3, 3), translation (3,) (e.g. after the polish)."""
    homog = K_work.double().numpy() @ translation
    hyp = Hypotheses(rotation=torch.from_numpy(rotation).float()[None], scale=torch.tensor([scale]),
                     center=torch.from_numpy(homog[:2] / homog[2]).float()[None],
                     log_depth=torch.tensor([np.log(translation[2])], dtype=torch.float32))
    with torch.no_grad():
        terms = silhouette_losses(points, hyp, target, K_work, _weights(config), depth_range)
    return {name: float(value[0]) for name, value in terms.items()}


def search_object_pose(
    object_mask: np.ndarray,
    template: ObjectTemplate,
    intrinsics: np.ndarray,
    person_mask: np.ndarray | None = None,
    body_init: BodyInit | None = None,
    config: MaskSearchConfig | None = None,
) -> MaskSearchResult:
    """Find the pose of ``template`` whose silhouette best matches ``object_mask`` (H, W) bool.

    ``intrinsics`` (3, 3) is the camera matrix; ``person_mask`` (H, W) bool marks pixels where the
    person may hide the object; ``body_init`` (camera frame) pulls the object's depth towards the
    pelvis. See the module docstring for the method and its known ambiguities.

    Raises:
        ValueError: naming the argument, for a mask that is not a non-empty (H, W) bool array, a
            person mask of another shape, non-finite or non-pinhole intrinsics, a template
            without faces or a body behind the camera.
    """
    config = config or MaskSearchConfig()
    mask, K = _check_inputs(object_mask, template, intrinsics, person_mask, body_init)
    target = build_target(mask, person_mask, config.crop_factor, config.work_resolution, config.num_contour,
                          config.num_interior, config.seed)
    K_work = torch.from_numpy(target.pixel_to_work @ K).float()
    points = _surface_points(template, config.num_points, config.seed)
    rotations = hypothesis_rotations(template, config.num_rotations, config.min_rotations)
    depth_range = None
    scales = config.scales
    if body_init is not None:
        depth_range = (float(body_init.pelvis_cam[2]), config.depth_tolerance)
        scales = config.person_scales
    hyp = initial_hypotheses(points, rotations, tuple(scales), target, K_work)
    refined, terms = _screen_and_refine(points, hyp, target, K_work, config, depth_range)
    rotation_t, translation_t = hypothesis_poses(refined, K_work)
    rotation, translation = rotation_t.double().numpy(), translation_t.double().numpy()
    candidates = diverse_order(rotation, template.symmetry_rotations, np.radians(config.verify_min_angle_deg),
                               config.num_verify)
    silhouette = PosedSilhouette(template, Camera(K, mask.shape[1], mask.shape[0]), mask, person_mask)
    ious = np.array([render_iou(silhouette, rotation[i], translation[i], float(refined.scale[i])) for i in candidates])
    best = candidates[int(np.argmax(ious))]
    scale = float(refined.scale[best])
    final_rotation, final_translation, iou = polish_pose(
        silhouette, rotation[best], translation[best], scale, float(ious.max()), config.polish_sweeps,
        (config.polish_rotation_deg, config.polish_shift_px, config.polish_depth))
    final_terms = _pose_losses(points, final_rotation, final_translation, scale, target, K_work, config, depth_range)
    log.debug("mask search: %d hypotheses, candidate IoUs %s, polished %.3f", len(hyp), np.round(ious, 3), iou)
    return MaskSearchResult(
        rotation=final_rotation,
        translation=final_translation,
        scale=scale,
        iou=iou,
        score=sum(final_terms.values()),
        loss_terms=final_terms,
        num_hypotheses=len(hyp),
        candidate_ious=ious,
        candidate_scores=sum(terms.values())[candidates].double().numpy(),
    )
