"""Write samples from any reader into a hoirecon dataset folder (see :mod:`hoirecon.data.format`).

Samples are grouped by category into ``annotations/<category>.npz``. By default images and
masks are copied to ``images/<category>/`` and ``masks/<category>/`` so the folder is
self-contained; with ``copy_images=False`` they are referenced in place (relative to ``out``
when under it, else by absolute path). Categories that are not built-in (BEHAVE objects)
need a template: a mesh path (copied with its keypoint file to ``templates/``) or an
:class:`~hoirecon.objects.ObjectTemplate` (saved there). A sample that cannot be written
(bad split, duplicate id, non-finite values, missing file, no template) is skipped and listed
in the returned :class:`ConvertReport`; the manifest merges with an existing one, so
categories can be converted one run at a time.

Provenance: the true camera of samples whose base camera comes from a body estimate is written
to ``gt_cam_rotation`` / ``gt_cam_center``, and each category's manifest entry records where its
object evidence came from (``object_evidence``: ``estimate``, ``annotation``, or ``unspecified``
for bare samples; a list when mixed), repeated for the whole dataset at the top level, so
every result made from an annotation-fed dataset can say so.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.data.dataset import write_category
from hoirecon.data.format import FORMAT_VERSION, MANIFEST_NAME, SPLITS
from hoirecon.data.readers.records import ReaderResult
from hoirecon.data.sample import NUM_BODY_JOINTS, Estimate, GroundTruth, Sample
from hoirecon.io.atomic import atomic_copy, atomic_write_json
from hoirecon.objects import CATEGORIES, ObjectTemplate, load_template, save_template
from hoirecon.objects.keypoint_file import keypoint_json_path

log = logging.getLogger(__name__)

TemplateSource = str | Path | ObjectTemplate


@dataclass(frozen=True)
class SkippedSample:
    """A sample that was not written, and why."""

    image_id: str
    category: str
    reason: str


@dataclass
class ConvertReport:
    """Outcome of :func:`convert`."""

    out: Path
    written: dict[str, int] = field(default_factory=dict)
    """Rows written per category."""
    skipped: list[SkippedSample] = field(default_factory=list)

    @property
    def num_written(self) -> int:
        """Total rows written."""
        return sum(self.written.values())

    def skip(self, sample: Sample, reason: str) -> None:
        """Record (and log) a skipped sample."""
        self.skipped.append(SkippedSample(sample.image_id, sample.category, reason))
        log.warning("skipped %s (%s): %s", sample.image_id, sample.category, reason)


def _finite(*arrays: Any) -> bool:
    return all(np.isfinite(np.asarray(a, dtype=np.float64)).all() for a in arrays)


def _sample_problem(sample: Sample, k: int) -> str | None:
    """Why ``sample`` cannot be a row of a category with ``k`` object keypoints, or None."""
    if sample.split not in SPLITS:
        return f"split {sample.split!r} is not one of {list(SPLITS)}"
    if sample.keypoints_2d.shape != (NUM_BODY_JOINTS + k, 2):
        return (f"keypoints_2d has shape {sample.keypoints_2d.shape} but the category's template has {k} "
                "object keypoints (pass the matching template in templates=)")
    if not _finite(sample.keypoints_2d, sample.keypoint_conf, sample.coco_keypoints, sample.intrinsics,
                   sample.cam_rotation, sample.cam_center):
        return "non-finite keypoints or camera"
    gt, est = sample.gt, sample.estimate
    if gt is not None and (gt.object_keypoints_3d.shape != (k, 3) or not _finite(
            gt.betas, gt.body_pose, gt.global_orient, gt.transl, gt.joints_3d, gt.object_rotation,
            gt.object_translation, gt.object_scale, gt.object_keypoints_3d,
            *(a for a in (gt.cam_rotation, gt.cam_center) if a is not None))):
        return "ground truth has non-finite values or the wrong number of object keypoints"
    if est is not None and (est.object_keypoints_2d.shape != (k, 2) or not _finite(
            est.betas, est.body_pose, est.global_orient, est.transl, est.object_keypoints_2d,
            est.corr_points, est.corr_pixels, est.corr_weight)):
        return "estimate has non-finite values or the wrong number of object keypoints"
    for path in (sample.image_path, sample.human_mask_path, sample.object_mask_path):
        if path is not None and not Path(path).is_file():
            return f"file {path} not found"
    return None


def _copy_atomic(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically; an identical-size ``dst`` is kept (resume)."""
    if dst.is_file() and dst.stat().st_size == src.stat().st_size:
        return
    atomic_copy(src, dst)


def _safe(name: str) -> str:
    return name.replace(os.sep, "_").replace("/", "_")


def _place(out: Path, src: Path | None, dst_rel: str, copy: bool) -> str:
    """The manifest path of a media file: copied to ``out/dst_rel``, or referenced in place."""
    if src is None:
        return ""
    if copy:
        _copy_atomic(Path(src), out / dst_rel)
        return dst_rel
    src = Path(src).resolve()
    try:
        return src.relative_to(out.resolve()).as_posix()
    except ValueError:
        return str(src)


def _media(out: Path, sample: Sample, copy: bool) -> dict[str, str]:
    stem, cat = _safe(sample.image_id), _safe(sample.category)
    def rel(kind: str, src: Path | None, tag: str) -> str:
        suffix = Path(src).suffix if src is not None else ""
        return f"{kind}/{cat}/{stem}{tag}{suffix}"
    return {
        "image_file": _place(out, sample.image_path, rel("images", sample.image_path, ""), copy),
        "human_mask_file": _place(out, sample.human_mask_path, rel("masks", sample.human_mask_path, ".human"), copy),
        "object_mask_file": _place(out, sample.object_mask_path, rel("masks", sample.object_mask_path, ".object"), copy),
    }


def _base_row(sample: Sample, files: dict[str, str]) -> dict[str, Any]:
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return {
        "image_id": sample.image_id, "split": sample.split, **files,
        "image_size": np.asarray(sample.image_size, dtype=np.int64),
        "keypoints_2d": f32(sample.keypoints_2d), "keypoint_conf": f32(sample.keypoint_conf),
        "keypoint_visible": np.asarray(sample.keypoint_visible, dtype=bool),
        "coco_keypoints": f32(sample.coco_keypoints), "intrinsics": f32(sample.intrinsics),
        "cam_rotation": f32(sample.cam_rotation), "cam_center": f32(sample.cam_center),
    }


def _gt_row(gt: GroundTruth | None, k: int) -> dict[str, np.ndarray]:
    """The ``gt_`` columns of one row (zeros and ``has_gt`` False without ground truth)."""
    has = gt is not None
    if gt is None:
        gt = GroundTruth(np.zeros(10), np.zeros(63), np.zeros(3), np.zeros(3), np.zeros((22, 3)),
                         np.eye(3), np.zeros(3), 1.0, np.zeros((k, 3)))
    names = ("betas", "body_pose", "global_orient", "transl", "joints_3d", "object_rotation",
             "object_translation", "object_scale", "object_keypoints_3d")
    return {"has_gt": np.array(has), **{f"gt_{n}": np.asarray(getattr(gt, n), np.float32) for n in names}}


def _gt_camera_row(sample: Sample) -> dict[str, np.ndarray]:
    """The ``gt_cam_*`` columns: the true camera, which is the sample's own unless its ground
    truth says otherwise (identity and zeros for rows without ground truth)."""
    gt = sample.gt
    if gt is None:
        rotation, center = np.eye(3), np.zeros(3)
    else:
        rotation = sample.cam_rotation if gt.cam_rotation is None else gt.cam_rotation
        center = sample.cam_center if gt.cam_center is None else gt.cam_center
    return {"gt_cam_rotation": np.asarray(rotation, np.float32), "gt_cam_center": np.asarray(center, np.float32)}


def _est_row(est: Estimate | None, k: int, num_corr: int) -> dict[str, np.ndarray]:
    """The ``est_`` columns of one row, correspondences zero-padded (weight 0) to ``num_corr``."""
    has = est is not None
    if est is None:
        est = Estimate(np.zeros(10), np.zeros(63), np.zeros(3), np.zeros(3), np.zeros((k, 2)),
                       np.zeros(k), np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0))
    pad = num_corr - len(est.corr_weight)
    names = ("betas", "body_pose", "global_orient", "transl", "object_keypoints_2d", "object_keypoint_conf")
    row = {f"est_{n}": np.asarray(getattr(est, n), np.float32) for n in names}
    row["est_corr_points"] = np.pad(np.asarray(est.corr_points, np.float32).reshape(-1, 3), ((0, pad), (0, 0)))
    row["est_corr_pixels"] = np.pad(np.asarray(est.corr_pixels, np.float32).reshape(-1, 2), ((0, pad), (0, 0)))
    row["est_corr_weight"] = np.pad(np.asarray(est.corr_weight, np.float32).reshape(-1), (0, pad))
    return {"has_estimate": np.array(has), **row}


def _rows(samples: list[Sample], files: list[dict[str, str]], k: int) -> list[dict[str, Any]]:
    """Annotation rows; the gt / est groups are present when any sample has them."""
    with_gt = any(s.gt is not None for s in samples)
    with_camera = any(s.gt is not None and s.gt.cam_rotation is not None for s in samples)
    with_est = any(s.estimate is not None for s in samples)
    num_corr = max((len(s.estimate.corr_weight) for s in samples if s.estimate is not None), default=0)
    rows = []
    for sample, media in zip(samples, files):
        row = _base_row(sample, media)
        if with_gt:
            row.update(_gt_row(sample.gt, k))
        if with_camera:
            row.update(_gt_camera_row(sample))
        if with_est:
            row.update(_est_row(sample.estimate, k, num_corr))
        rows.append(row)
    return rows


def _template_entry(out: Path, category: str, source: TemplateSource | None) -> tuple[str, int, list[str]]:
    """(manifest template reference, keypoint count, keypoint names) of a category."""
    if source is None:
        if category not in CATEGORIES:
            raise ValueError(f"no template for category {category!r} (not built-in); pass templates=")
        template = load_template(category)
        return f"builtin:{category}", template.num_keypoints, list(template.keypoint_names)
    folder = out / "templates" / _safe(category)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(source, ObjectTemplate):
        mesh = folder / f"{_safe(category)}.ply"
        save_template(source, mesh)
    else:
        src = Path(source)
        mesh = folder / src.name
        _copy_atomic(src, mesh)
        if keypoint_json_path(src).is_file():
            _copy_atomic(keypoint_json_path(src), keypoint_json_path(mesh))
    template = load_template(mesh)
    return mesh.relative_to(out).as_posix(), template.num_keypoints, list(template.keypoint_names)


def _evidence_label(values: set[str]) -> str | list[str]:
    """One provenance value, or the sorted list when samples disagree."""
    return next(iter(values)) if len(values) == 1 else sorted(values)


def _write_category(out: Path, category: str, samples: list[Sample], source: TemplateSource | None,
                    copy_images: bool, report: ConvertReport, evidence: dict[str, str]) -> dict[str, Any] | None:
    """Write one category's rows and media; returns its manifest entry (None if nothing written)."""
    try:
        template, k, names = _template_entry(out, category, source)
    except (ValueError, OSError) as err:
        for sample in samples:
            report.skip(sample, f"template: {err}")
        return None
    kept, files, seen = [], [], set()
    for sample in samples:
        reason = "duplicate image id" if sample.image_id in seen else _sample_problem(sample, k)
        if reason is None:
            try:
                files.append(_media(out, sample, copy_images))
            except OSError as err:
                reason = f"could not copy media ({err})"
        if reason is not None:
            report.skip(sample, reason)
            continue
        seen.add(sample.image_id)
        kept.append(sample)
    if not kept:
        return None
    path = write_category(out, category, _rows(kept, files, k))
    report.written[category] = len(kept)
    counts = {split: sum(s.split == split for s in kept) for split in SPLITS}
    return {"template": template, "num_object_keypoints": k, "keypoint_names": names,
            "annotations": path.relative_to(out).as_posix(),
            "num_images": {s: n for s, n in counts.items() if n},
            "object_evidence": _evidence_label({evidence[s.image_id] for s in kept})}


def _existing_categories(out: Path) -> dict[str, Any]:
    """Categories of a manifest already in ``out`` (kept when converting more categories)."""
    path = out / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text()).get("categories", {}))
    except (OSError, ValueError, AttributeError):
        log.warning("%s: existing manifest unreadable; it is replaced", path)
        return {}


def convert(samples: Iterable[Sample | ReaderResult], out: str | Path, name: str, *,
            copy_images: bool = True, templates: Mapping[str, TemplateSource] | None = None,
            body_model: str = "", gender: str = "neutral") -> ConvertReport:
    """Write ``samples`` (or reader results) as a hoirecon dataset folder at ``out``.

    Args:
        samples: any iterable of samples, e.g. a reader from ``read_wildhoi`` / ``read_behave``.
        out: the dataset folder (created; an existing manifest's other categories are kept).
        name: dataset name in the manifest.
        copy_images: copy images and masks into ``out`` (default) or reference them in place.
        templates: category -> template (mesh path or ObjectTemplate); required for
            categories that are not built-in, optional override for built-in ones.
        body_model / gender: the body model the ground truth refers to (manifest ``body_model``),
            e.g. 'smplx' for WildHOI, 'smplh' for BEHAVE.

    The manifest records each category's ``object_evidence`` (from the reader results; bare
    samples are ``unspecified``) and the dataset's, at the top level.

    Returns:
        A :class:`ConvertReport` with rows written per category and every skipped sample.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = ConvertReport(out=out)
    groups: dict[str, list[Sample]] = {}
    evidence: dict[str, dict[str, str]] = {}
    for item in samples:
        sample = item.sample if isinstance(item, ReaderResult) else item
        groups.setdefault(sample.category, []).append(sample)
        label = item.object_evidence if isinstance(item, ReaderResult) else "unspecified"
        evidence.setdefault(sample.category, {}).setdefault(sample.image_id, label)
    categories = _existing_categories(out)
    for category in sorted(groups):
        source = (templates or {}).get(category)
        entry = _write_category(out, category, groups[category], source, copy_images, report, evidence[category])
        if entry is not None:
            categories[category] = entry
    if not categories:
        raise ValueError(f"convert: nothing to write to {out} ({len(report.skipped)} samples skipped)")
    atomic_write_json(out / MANIFEST_NAME, {
        "format_version": FORMAT_VERSION, "name": name,
        "body_model": {"name": body_model or "unspecified", "gender": gender},
        "object_evidence": _dataset_evidence(categories),
        "categories": categories, "units": {"length": "metres", "image": "pixels"},
        "camera_convention": "opencv: x right, y down, z forward",
    })
    return report


def _dataset_evidence(categories: dict[str, Any]) -> str | list[str]:
    """The object evidence of every category together (``unspecified`` for entries without one)."""
    values: set[str] = set()
    for entry in categories.values():
        label = entry.get("object_evidence", "unspecified") if isinstance(entry, dict) else "unspecified"
        values.update([label] if isinstance(label, str) else label)
    return _evidence_label(values)
