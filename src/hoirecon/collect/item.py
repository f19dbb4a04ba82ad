"""One frame of a build: its people, its object, the pair, the body, the pose and the row.

Every problem becomes an :class:`ItemResult` that says the image was dropped, with a reason
code (``no-person``, ``no-object-evidence``, ``annotation``, ``no-pair``, ``pose-rejected``,
``body``, ``unreadable``, ``bad-evidence``) and a message naming the file; nothing raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.body import BodyModel
from hoirecon.collect.annotations import AnnotationError, ImageAnnotation, image_annotation
from hoirecon.collect.evidence_files import EvidencePaths, find_evidence, read_intrinsics, read_object_box
from hoirecon.collect.object_pose import ObjectPoseResult, PoseConfig, solve_object_pose
from hoirecon.collect.pairing import pair_boxes
from hoirecon.collect.rows import RowInputs, body_rows, make_sample, sample_to_json, swap_left_right
from hoirecon.data.readers.body_estimates import read_body_estimate
from hoirecon.data.readers.common import image_size
from hoirecon.data.readers.object_evidence import read_correspondences, read_object_keypoints
from hoirecon.data.readers.person_keypoints import PersonKeypoints, read_people, to_coco17
from hoirecon.detect import DetectorUnavailableError, NoPersonError, detect_person, write_detection
from hoirecon.fitting.body_init import BodyInit
from hoirecon.fitting.estimator_files import to_body_init
from hoirecon.fitting.single import check_in_image, upright_image
from hoirecon.fitting.smplify import coco_to_smpl, fit_smplify
from hoirecon.io.masks import load_mask
from hoirecon.objects import ObjectTemplate

log = logging.getLogger(__name__)


class Dropped(Exception):
    """An image cannot become a row: ``code`` classifies why, the message says it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ItemResult:
    """The outcome of one image: kept with its sample (plain JSON) and pose info, or dropped."""

    kept: bool
    code: str = ""
    reason: str = ""
    sample: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def drop(code: str, reason: str) -> ItemResult:
        """A dropped image."""
        return ItemResult(False, code, reason)

    def to_json(self) -> dict[str, Any]:
        """Plain data for the cache."""
        return {"kept": self.kept, "code": self.code, "reason": self.reason, "sample": self.sample, "info": self.info}

    @staticmethod
    def from_json(data: dict[str, Any]) -> ItemResult:
        """The inverse of :meth:`to_json`."""
        return ItemResult(bool(data["kept"]), data.get("code", ""), data.get("reason", ""), data.get("sample"),
                          dict(data.get("info", {})))


@dataclass(frozen=True)
class ItemContext:
    """What every image of a build shares."""

    category: str
    template: ObjectTemplate
    body_model: BodyModel
    evidence_folder: Path
    out: Path
    annotations: dict[str, Any] | None
    split: str
    focal: float | None
    detect: bool
    min_iou: float
    max_gap: float
    pose: PoseConfig

    def evidence_paths(self, image_id: str) -> EvidencePaths:
        """The evidence files of an image (with a detection made by an earlier run)."""
        found = find_evidence(image_id, self.evidence_folder)
        if found.person_keypoints is None:
            detected = self.out / "detections" / image_id / "keypoints.json"
            if detected.is_file():
                mask = detected.with_name("person_mask.png")
                return EvidencePaths(**{**found.__dict__, "person_keypoints": detected,
                                        "person_mask": found.person_mask or (mask if mask.is_file() else None)})
        return found


@dataclass(frozen=True)
class ObjectEvidence:
    """The object evidence of one image."""

    clicks: np.ndarray
    """(k, 3) u, v, state (0 = not placed)."""
    correspondences: tuple[np.ndarray, np.ndarray] | None
    mask: np.ndarray | None
    box: np.ndarray | None
    """(4,) x0, y0, x1, y1."""
    swap_left_right: bool = False


def _detect(ctx: ItemContext, image_id: str, image: Path) -> EvidencePaths:
    """Run the offline person detector and keep its files for later runs."""
    try:
        detection = detect_person(image)
    except (NoPersonError, DetectorUnavailableError) as err:
        raise Dropped("no-person", f"{image}: {err}") from err
    write_detection(detection, ctx.out / "detections" / image_id, image_id)
    return ctx.evidence_paths(image_id)


def _people(paths: EvidencePaths, image_id: str, size: tuple[int, int]) -> list[PersonKeypoints]:
    if paths.person_keypoints is None:
        raise Dropped("no-person", f"{image_id}: no person keypoint file ({image_id}.keypoints.json) and the "
                      "detector is off (--detect)")
    people = [to_coco17(p) for p in read_people(paths.person_keypoints)]
    if not people:
        raise Dropped("no-person", f"{paths.person_keypoints}: no person in the file")
    for p in people:
        check_in_image(p.keypoints[:, :2], p.keypoints[:, 2], size, f"{paths.person_keypoints}: keypoints")
    return people


def _annotation(ctx: ItemContext, image_id: str) -> ImageAnnotation | None:
    if ctx.annotations is None:
        return None
    try:
        return image_annotation(ctx.annotations, image_id, ctx.category, list(ctx.template.keypoint_names))
    except AnnotationError as err:
        raise Dropped("annotation", str(err)) from err


def _box_of(points: np.ndarray) -> np.ndarray | None:
    if len(points) == 0:
        return None
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def _object(ctx: ItemContext, image_id: str, paths: EvidencePaths, size: tuple[int, int]) -> ObjectEvidence:
    k = ctx.template.num_keypoints
    note = _annotation(ctx, image_id)
    clicks = np.zeros((k, 3))
    if note is not None:
        clicks = note.keypoints.copy()
    elif paths.object_keypoints is not None:
        kp = read_object_keypoints(paths.object_keypoints, k).keypoints
        clicks = np.c_[kp[:, :2], np.where(kp[:, 2] > 0, 2.0, 0.0)]
    check_in_image(clicks[:, :2], clicks[:, 2], size, f"{image_id}: object keypoints")
    corr = None
    if paths.correspondences is not None:
        c = read_correspondences(paths.correspondences)
        use = c.weights.reshape(len(c.points), -1).min(axis=1) > 0
        corr = (c.points[use], c.pixels[use]) if use.any() else None
    mask = None if paths.object_mask is None else load_mask(paths.object_mask, size, "object")
    mask = mask if mask is not None and mask.any() else None
    box = note.box if note is not None and note.box is not None else None
    if box is None and paths.object_box is not None:
        box = read_object_box(paths.object_box)
    if box is None and mask is not None:
        rows, cols = np.nonzero(mask)
        box = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], dtype=np.float64)
    if box is None:
        seen = [clicks[clicks[:, 2] > 0, :2]] + ([corr[1]] if corr is not None else [])
        box = _box_of(np.concatenate(seen))
    if box is None:
        raise Dropped("no-object-evidence", f"{image_id}: no object evidence (no clicks in the annotation file, "
                      "no object keypoint, correspondence, mask or box file)")
    return ObjectEvidence(clicks, corr, mask, box, bool(note.swap_left_right) if note is not None else False)


def _pair(ctx: ItemContext, people: list[PersonKeypoints], thing: ObjectEvidence, image_id: str) -> tuple[int, float]:
    boxes = np.array([[p.box[0], p.box[1], p.box[0] + p.box[2], p.box[1] + p.box[3]] for p in people])
    pairs = pair_boxes(boxes, thing.box[None], ctx.min_iou, ctx.max_gap)
    if not pairs:
        raise Dropped("no-pair", f"{image_id}: no person box overlaps the object box (IoU >= {ctx.min_iou}, gap <= "
                      f"{ctx.max_gap} person diagonals; {len(people)} people)")
    return pairs[0].person, pairs[0].iou


def _body(ctx: ItemContext, paths: EvidencePaths, person: int, coco: np.ndarray, K: np.ndarray,
          size: tuple[int, int]) -> tuple[BodyInit, str]:
    if paths.body_estimate is not None:
        try:
            estimate = read_body_estimate(paths.body_estimate, person=person)
        except ValueError:
            estimate = read_body_estimate(paths.body_estimate)
        return to_body_init(estimate, ctx.body_model, K=K, image_size=size, keypoints=coco), "estimate"
    kp, conf = (a[0] for a in coco_to_smpl(coco[None]))
    if np.count_nonzero(conf > 0.1) < 4:
        raise Dropped("body", "too few body keypoints (fewer than 4 confident) to fit a body")
    return fit_smplify(kp[None], conf[None], K[None], ctx.body_model).body(0), "smplify"


def _solve(ctx: ItemContext, thing: ObjectEvidence, person_mask: Path | None, body: BodyInit, K: np.ndarray,
           size: tuple[int, int]) -> ObjectPoseResult:
    pm = None if person_mask is None else load_mask(person_mask, size, "person")
    return solve_object_pose(ctx.template, K, size, clicks=thing.clicks, correspondences=thing.correspondences,
                             mask=thing.mask, person_mask=pm, body=body, config=ctx.pose)


def _pose_info(pose: ObjectPoseResult, body_source: str, person: int, iou: float) -> dict[str, Any]:
    nan_free = lambda v: None if not np.isfinite(v) else float(v)  # noqa: E731
    return {"method": pose.method, "quality": nan_free(pose.quality), "reprojection_px": nan_free(pose.reprojection_px),
            "inlier_fraction": nan_free(pose.inlier_fraction), "rotation_camera": pose.rotation.tolist(),
            "translation_camera": pose.translation.tolist(), "scale": pose.scale, "has_pose": pose.has_pose,
            "body_source": body_source, "person": person, "pair_iou": iou}


def _process(ctx: ItemContext, image_id: str, image: Path) -> ItemResult:
    try:
        image = upright_image(image, ctx.out / "frames")
        K = read_intrinsics(image, ctx.evidence_paths(image_id).camera, ctx.focal)
    except ValueError as err:
        raise Dropped("unreadable", str(err)) from err
    size = image_size(image)
    paths = ctx.evidence_paths(image_id)
    thing = _object(ctx, image_id, paths, size)
    if paths.person_keypoints is None and ctx.detect:
        paths = _detect(ctx, image_id, image)
    people = _people(paths, image_id, size)
    person, iou = _pair(ctx, people, thing, image_id)
    coco = people[person].keypoints
    coco = swap_left_right(coco) if thing.swap_left_right else coco
    body, source = _body(ctx, paths, person, coco, K, size)
    pose = _solve(ctx, thing, paths.person_mask, body, K, size)
    if not pose.accepted:
        raise Dropped("pose-rejected", f"{image_id}: {pose.reason}")
    inputs = RowInputs(image_id, ctx.category, ctx.split, image, size, K, coco, thing.clicks, thing.correspondences,
                       np.asarray(ctx.template.keypoints), paths.person_mask, paths.object_mask)
    sample = make_sample(inputs, body, body_rows(body, ctx.body_model, coco, K), pose)
    return ItemResult(True, sample=sample_to_json(sample), info=_pose_info(pose, source, person, iou))


def process_image(ctx: ItemContext, image_id: str, image: Path) -> ItemResult:
    """The outcome of one frame; never raises for a problem of this image (it is reported)."""
    try:
        return _process(ctx, image_id, image)
    except Dropped as err:
        log.info("%s dropped: %s", image_id, err)
        return ItemResult.drop(err.code, str(err))
    except (ValueError, OSError, RuntimeError, KeyError, IndexError) as err:
        log.warning("%s dropped: %s", image_id, err)
        log.debug("trace", exc_info=True)
        return ItemResult.drop("bad-evidence", f"{image_id}: {err}")
