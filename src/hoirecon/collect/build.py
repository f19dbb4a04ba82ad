"""``hoirecon data build``: a folder of photos or a video -> a dataset in our format, evidence only.

Per frame (see :mod:`hoirecon.collect.frames`): the people (a keypoint file, else the offline
detector when enabled), the object (clicks from the annotation page, an object keypoint,
correspondence, mask or box file; see :mod:`hoirecon.collect.evidence_files`), the human-object
pair by box overlap (:mod:`hoirecon.collect.pairing`), the starting body (an estimate file,
else the SMPLify-style fit), the object's 6D pose with its quality (:mod:`hoirecon.collect.object_pose`),
and the row (:mod:`hoirecon.collect.rows`). Each image's outcome, kept or dropped with the
reason, is cached in ``OUT/.collect/<category>/<image id>.json`` under a fingerprint of its
files and the settings, so a rerun redoes only what changed and an interruption loses only the
image in progress. One bad image is reported and skipped, never fatal.

At the end the kept rows are written with :func:`hoirecon.data.readers.convert` (manifest,
``annotations/<category>.npz``; no ground-truth column), the per-row poses and quality scores to
``OUT/collect/<category>.poses.json`` and the summary (kept, dropped by reason, per image) to
``OUT/collect/<category>.summary.json``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.body import BodyModel, load_body_model
from hoirecon.collect.annotations import read_annotations
from hoirecon.collect.evidence_files import fingerprint
from hoirecon.collect.frames import DUPLICATE_THRESHOLD, list_frames
from hoirecon.collect.item import ItemContext, ItemResult, process_image
from hoirecon.collect.object_pose import PoseConfig
from hoirecon.collect.page import default_annotation_path
from hoirecon.collect.pairing import MAX_GAP, MIN_IOU
from hoirecon.collect.rows import sample_from_json
from hoirecon.data.format import MANIFEST_NAME, SPLITS
from hoirecon.data.readers import convert
from hoirecon.io.atomic import atomic_write_json
from hoirecon.objects import CATEGORIES, load_template

log = logging.getLogger(__name__)

DATASET_NAME = "hoirecon-collected"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildConfig:
    """Settings of a dataset build."""

    category: str
    """The object category (a built-in template)."""
    split: str = "train"
    """Split of every row."""
    every: int = 1
    """Take every N-th frame (image files in name order, or video frames)."""
    duplicate_threshold: float = DUPLICATE_THRESHOLD
    """Mean grey-level difference (0-255) of 32x32 thumbnails below which a frame is a near-duplicate."""
    focal: float | None = None
    """Focal length in pixels of images without a camera file; None = the longer image side."""
    detect: bool = False
    """Run the offline person detector on images without a keypoint file."""
    min_iou: float = MIN_IOU
    """Smallest person-object box IoU of a pair."""
    max_gap: float = MAX_GAP
    """Largest gap between a person's and an object's box, in person box diagonals."""
    pose: PoseConfig = field(default_factory=PoseConfig)
    copy_images: bool = False
    """Copy images and masks into the dataset (default: refer to them where they are)."""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"category: expected one of {list(CATEGORIES)}, got {self.category!r}")
        if self.split not in SPLITS:
            raise ValueError(f"split: expected one of {list(SPLITS)}, got {self.split!r}")


@dataclass
class BuildSummary:
    """What a build kept and why the rest was dropped."""

    out: Path
    category: str
    frames: int = 0
    kept: int = 0
    dropped: dict[str, str] = field(default_factory=dict)
    """Image id -> why it was dropped."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Reason code -> number of images (``unreadable``, ``duplicate``, ``no-person``, ...)."""
    methods: dict[str, int] = field(default_factory=dict)
    """Object pose method of the kept rows -> count."""
    median_quality: float | None = None
    reused: int = 0
    """Images whose cached outcome was reused (a resumed run)."""

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``summary.json``."""
        return {**asdict(self), "out": str(self.out)}


def _cache_path(out: Path, category: str, image_id: str) -> Path:
    return out / ".collect" / category / f"{image_id}.json"


def _cached(path: Path, key: str) -> ItemResult | None:
    """The cached outcome of an image when its fingerprint still matches."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return ItemResult.from_json(data) if data.get("key") == key else None


def _annotations(path: Path | None) -> dict[str, Any] | None:
    return None if path is None else read_annotations(path)


def _item_key(ctx: ItemContext, image: Path, image_id: str, config: BuildConfig) -> str:
    files = [image, *ctx.evidence_paths(image_id).present()]
    record = None if ctx.annotations is None else ctx.annotations["images"].get(image_id)
    settings = {"config": asdict(config), "annotation": record, "version": 1}
    return fingerprint(files, settings)


def _summarise(summary: BuildSummary, results: dict[str, ItemResult]) -> None:
    kept = [r for r in results.values() if r.kept]
    summary.kept = len(kept)
    summary.methods = dict(Counter(r.info.get("method", "") for r in kept))
    quality = [r.info["quality"] for r in kept if r.info.get("quality") is not None]
    summary.median_quality = float(np.median(quality)) if quality else None
    for image_id, r in results.items():
        if not r.kept:
            summary.dropped[image_id] = r.reason
    summary.reasons.update(Counter(r.code for r in results.values() if not r.kept))


def build_dataset(source: str | Path, out: str | Path, config: BuildConfig, *, annotations: str | Path | None = None,
                  evidence: str | Path | None = None, body_model: BodyModel | None = None,
                  progress: Progress | None = None) -> BuildSummary:
    """Build (or resume) the dataset of one category from a folder of images or a video.

    ``annotations`` defaults to ``<source>/<category>.annotations.json`` (what ``hoirecon annotate``
    writes) when that file exists. Raises ValueError only for problems of the whole run (no frames, an unreadable annotation
    file, nothing kept); every per-image problem is in the summary.
    """
    out, source = Path(out), Path(source)
    if annotations is None and source.is_dir() and default_annotation_path(source, config.category).is_file():
        annotations = default_annotation_path(source, config.category)
    (out / "frames").mkdir(parents=True, exist_ok=True)  # video frames and upright copies of rotated photos
    frames = list_frames(source, out / "frames", config.every, config.duplicate_threshold)
    folder = Path(evidence) if evidence is not None else (source if source.is_dir() else source.parent)
    template = load_template(config.category)
    ctx = ItemContext(config.category, template, body_model or load_body_model(), folder, out,
                      _annotations(Path(annotations) if annotations else None), config.split, config.focal,
                      config.detect, config.min_iou, config.max_gap, config.pose)
    summary = BuildSummary(out, config.category, frames=len(frames.frames) + len(frames.dropped))
    results: dict[str, ItemResult] = {i: ItemResult.drop(_frame_code(r), r) for i, r in frames.dropped.items()}
    for n, frame in enumerate(frames.frames):
        key = _item_key(ctx, frame.path, frame.image_id, config)
        cache = _cache_path(out, config.category, frame.image_id)
        result = _cached(cache, key)
        if result is None:
            result = process_image(ctx, frame.image_id, frame.path)
            atomic_write_json(cache, {**result.to_json(), "key": key})
        else:
            summary.reused += 1
        results[frame.image_id] = result
        if progress is not None:
            progress(n + 1, len(frames.frames))
    _summarise(summary, results)
    _write_outputs(out, config, results, summary)
    return summary


def _frame_code(reason: str) -> str:
    return "duplicate" if "duplicate" in reason else "not-taken" if "--every" in reason else "unreadable"


def _write_outputs(out: Path, config: BuildConfig, results: dict[str, ItemResult], summary: BuildSummary) -> None:
    """The dataset (kept rows), the poses file and the summary."""
    kept = {i: r for i, r in results.items() if r.kept}
    collect = out / "collect"
    atomic_write_json(collect / f"{config.category}.poses.json", {i: r.info for i, r in kept.items()})
    atomic_write_json(collect / f"{config.category}.summary.json", summary.to_json())
    if not kept:
        raise ValueError(f"{out}: no image was kept ({len(results)} frames; see {collect}/{config.category}.summary.json)")
    samples = [sample_from_json(r.sample) for r in kept.values()]
    report = convert(samples, out, DATASET_NAME, copy_images=config.copy_images, body_model="embedded")
    _record_collection(out, config, summary)
    for skipped in report.skipped:
        summary.dropped[skipped.image_id] = f"not written: {skipped.reason}"
        summary.kept -= 1
    if report.skipped:
        atomic_write_json(collect / f"{config.category}.summary.json", summary.to_json())


def _record_collection(out: Path, config: BuildConfig, summary: BuildSummary) -> None:
    """Note in the manifest (an extra key readers ignore) how each category was collected."""
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    collected = manifest.setdefault("collected", {})
    collected[config.category] = {"object_evidence": "2d keypoint clicks / files, pose by PnP or mask search",
                                  "kept": summary.kept, "frames": summary.frames,
                                  "summary": f"collect/{config.category}.summary.json",
                                  "poses": f"collect/{config.category}.poses.json"}
    atomic_write_json(out / MANIFEST_NAME, manifest)
