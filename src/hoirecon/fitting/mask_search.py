"""Object pose from its mask alone: a PHOSA-style search over many rotation hypotheses.

PHOSA fits a rigid template to an object mask by optimising thousands of random initial poses
against a rendered silhouette and keeping the best. Here, on a CPU:

1. Hypotheses: a uniform grid of rotations (:mod:`~hoirecon.fitting.mask_search_rotations`;
   ``num_rotations`` divided by the number of symmetries) times a few fixed scales around 1.
   Each starts with its projected bounding box on the mask's: the depth from the template's
   metric size (``z = f * size / mask_extent``), the origin from the box centres.
2. Screening: every hypothesis is scored where it starts on a coarse silhouette loss
   (:mod:`~hoirecon.fitting.mask_search_loss`: projected surface samples must lie on the mask and
   cover it); the best ``screen_keep`` take ``screen_steps`` batched Adam steps of it, and the
   best ``num_keep`` of those survive.
3. Refinement: the survivors take ``refine_steps`` Adam steps of the full loss.
4. Verification: the best ``num_verify`` by loss that differ by more than
   ``verify_min_angle_deg`` modulo the symmetries are ray cast (:func:`hoirecon.render.render_scene`;
   on the image downscaled so the mask spans at most ``iou_max_side`` pixels).
5. Polish: the ``polish_candidates`` of highest IoU are polished by a compass search on the
   ray-cast IoU (:mod:`~hoirecon.fitting.mask_search_polish`), which lines up details the point
   loss cannot (spokes, a pixel of outline) and settles near-ties between mirror-like poses;
   the highest IoU wins.

With ``body_init`` the object's depth is pulled to within ``depth_tolerance`` of the pelvis, and
the scale hypotheses become ``person_scales``: a silhouette fixes only depth / scale, and the
body supplies the depth. With ``person_mask`` projected points may also fall on the person
(the object may be behind it), and the IoU ignores person pixels outside the object mask.

How well it works (``bench/bench_mask_search.py``: 20 random poses per category, 256 x 256,
f = 300, objects 2-4 m away and wholly in view; success = rotation error < 15 degrees modulo the
object's symmetry group and outline IoU > 0.8): barbell, bicycle and cello 100%, baseball bat,
skateboard and violin 90%, in 1-4 s per image on one core. On the sports family, measured
honestly (see the bench's docstring), basketball and yoga ball 100%, tennis racket 90%:

- a ball is a sphere, whose symmetry group is all of SO(3)
  (:func:`hoirecon.objects.symmetry.is_sphere`): its rotation cannot be seen from a mask (nor
  from its one keypoint, the centre), so the search tries one rotation, returns the identity, and
  only the centre and the depth are found (IoU 0.997, depth within 0.2%). Measured modulo the 60
  icosahedral rotations of the mesh, the returned rotation would look up to 37 degrees wrong.
- the racket's string bed is a grid of strings thinner than a pixel: which ones a ray per pixel
  hits is aliasing, so its raw IoU stays near 0.8 even within two degrees of the truth; its outline
  (holes filled) is what the pose determines (median outline IoU 0.975).

The remaining failures are mirror-like poses (a skateboard seen from above or below, a small
violin's front or back, a bat's tilt towards or away from the camera, a racket's face tilted
either way) whose silhouettes differ by a few pixels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from hoirecon.fitting.body_init import BodyInit
from hoirecon.fitting.mask_search_config import MaskSearchConfig
from hoirecon.fitting.mask_search_loss import hypothesis_poses
from hoirecon.fitting.mask_search_polish import (
    PosedSilhouette,
    polish_pose,
    render_iou,
    silhouette_iou,
    silhouette_target,
)
from hoirecon.fitting.mask_search_rotations import diverse_order, hypothesis_rotations
from hoirecon.fitting.mask_search_stages import initial_hypotheses, pose_losses, screen_and_refine, surface_points
from hoirecon.fitting.mask_search_target import build_target
from hoirecon.objects import ObjectTemplate

__all__ = ["MaskSearchConfig", "MaskSearchResult", "search_object_pose", "silhouette_iou"]

log = logging.getLogger(__name__)


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
    """Silhouette IoU of this pose with the mask (person pixels outside the mask ignored), measured
    on the image downscaled to ``iou_max_side`` when the mask is larger."""
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
    try:
        K = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"intrinsics: expected a (3, 3) float matrix, got {type(value).__name__}") from error
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


@contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads (unchanged when None), then restore them."""
    before = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _depth_prior(body_init: BodyInit | None, config: MaskSearchConfig,
                 ) -> tuple[tuple[float, float] | None, tuple[float, ...]]:
    """The depth term's (reference, tolerance) in metres, None without a body, and the scale hypotheses."""
    if body_init is None:
        return None, tuple(config.scales)
    return (float(body_init.pelvis_cam[2]), config.depth_tolerance), tuple(config.person_scales)


def _polish_best(silhouette: PosedSilhouette, candidates: list[int], ious: np.ndarray, rotation: np.ndarray,
                 translation: np.ndarray, scales: np.ndarray, config: MaskSearchConfig,
                 ) -> tuple[int, np.ndarray, np.ndarray, float]:
    """Polish the ``polish_candidates`` verified hypotheses of highest IoU for half the sweeps,
    then the best of them for the other half; return its index, rotation, translation and IoU."""
    steps = (config.polish_rotation_deg, config.polish_shift_px, config.polish_depth)
    first = config.polish_sweeps // 2
    polished = []
    for rank in np.argsort(-ious)[: config.polish_candidates]:
        i = candidates[int(rank)]
        polished.append((i, *polish_pose(silhouette, rotation[i], translation[i], scales[i], float(ious[rank]),
                                         first, steps)))
    i, rot, trans, iou = max(polished, key=lambda item: item[3])
    half = tuple(0.5 * step for step in steps)
    rot, trans, iou = polish_pose(silhouette, rot, trans, scales[i], iou, config.polish_sweeps - first, half)
    return i, rot, trans, iou


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
    with _torch_threads(config.num_threads):
        return _search(mask, template, K, person_mask, body_init, config)


def _search(mask: np.ndarray, template: ObjectTemplate, K: np.ndarray, person_mask: np.ndarray | None,
            body_init: BodyInit | None, config: MaskSearchConfig) -> MaskSearchResult:
    """:func:`search_object_pose` on validated input."""
    target = build_target(mask, person_mask, config.crop_factor, config.work_resolution, config.num_contour,
                          config.num_interior, config.seed)
    K_work = torch.from_numpy(target.pixel_to_work @ K).float()
    points = surface_points(template, config.num_points, config.seed)
    depth_range, scales = _depth_prior(body_init, config)
    rotations = hypothesis_rotations(template, config.num_rotations, config.min_rotations)
    hyp = initial_hypotheses(points, rotations, scales, target, K_work)
    refined, terms = screen_and_refine(points, hyp, target, K_work, config, depth_range)
    rotation_t, translation_t = hypothesis_poses(refined, K_work)
    rotation, translation = rotation_t.double().numpy(), translation_t.double().numpy()
    refined_scales = refined.scale.double().numpy()
    candidates = diverse_order(rotation, template.symmetry_rotations, np.radians(config.verify_min_angle_deg),
                               config.num_verify)
    silhouette = silhouette_target(template, K, mask, person_mask, config.iou_max_side)
    ious = np.array([render_iou(silhouette, rotation[i], translation[i], refined_scales[i]) for i in candidates])
    best, final_rotation, final_translation, iou = _polish_best(silhouette, candidates, ious, rotation, translation,
                                                                refined_scales, config)
    scale = float(refined_scales[best])
    final_terms = pose_losses(points, final_rotation, final_translation, scale, target, K_work, config, depth_range)
    log.debug("mask search: %d hypotheses, candidate IoUs %s, polished %.3f", len(hyp), np.round(ious, 3), iou)
    return MaskSearchResult(rotation=final_rotation, translation=final_translation, scale=scale, iou=iou,
                            score=sum(final_terms.values()), loss_terms=final_terms, num_hypotheses=len(hyp),
                            candidate_ious=ious, candidate_scores=sum(terms.values())[candidates].double().numpy())
