"""Grouping and training a prior for one category of a dataset folder (what ``hoirecon group/train`` run)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from hoirecon.data import Dataset, Sample, load_dataset
from hoirecon.data.templates import dataset_template
from hoirecon.data.truth import has_truth, true_x3d, with_truth
from hoirecon.device import DeviceLike
from hoirecon.io.provenance import config_hash
from hoirecon.prior.ablations import ground_truth_groups, virtual_views
from hoirecon.prior.chunked_category import group_category_chunked
from hoirecon.prior.distributed import SINGLE, init_from_env
from hoirecon.prior.encoders import build_encoder
from hoirecon.prior.evaluate import best_of_n_error
from hoirecon.prior.features import image_features
from hoirecon.prior.fitting_prior import features_for
from hoirecon.prior.grouping import (
    Grouping,
    GroupingConfig,
    GroupingQuality,
    group_images,
    streamed_quality,
)
from hoirecon.prior.prior import load_prior
from hoirecon.prior.train import Progress, train_prior
from hoirecon.prior.train_config import TrainConfig
from hoirecon.prior.training_data import layout_for, observations, observed_x25d, sample_videos

log = logging.getLogger(__name__)


def training_samples(data: Dataset, category: str, split: str = "train") -> list[Sample]:
    """The samples a prior is trained on; raises when the split is empty."""
    samples = list(data.samples(category, split))
    if not samples:
        raise ValueError(f"{data.root}: no {split!r} images in category {category!r}")
    return samples


def grouping_quality(samples: list[Sample], grouping: Grouping, seed: int = 0) -> GroupingQuality:
    """Compare neighbours' true configurations with random pairs (mean keypoint distance, metres)."""
    return streamed_quality(true_x3d(samples), grouping, max(1, len(samples)), seed)


def group_category(data_dir: str | Path, category: str, config: GroupingConfig = GroupingConfig(),
                   out: str | Path | None = None, chunk_size: int | None = None, reject_adjacent: bool = True,
                   device: DeviceLike = None) -> tuple[Grouping, GroupingQuality | None]:
    """KNN-group the training images of a category by eq. (11); optionally save the grouping.

    With ``chunk_size``, the exact search runs out of core, that many images per block, and
    resumes from ``<out>.work/`` (see :mod:`hoirecon.prior.grouping.chunked`); the result is the same.
    With ``reject_adjacent`` and images that name their video, frames of one video at most
    ``config.min_frame_gap`` apart are never neighbours (near-duplicates, not other views).
    ``device`` (``hoirecon.device``) runs the search, in memory or out of core.
    """
    if chunk_size is not None:
        return group_category_chunked(data_dir, category, config, out, chunk_size, reject_adjacent, device)
    samples = training_samples(load_dataset(data_dir), category)
    videos = sample_videos(samples) if reject_adjacent else None
    grouping = group_images(observed_x25d(samples), config, *(videos or (None, None)), device=device)
    grouping.stats["adjacent_frame_rejection"] = videos is not None
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        grouping.save(out)
    quality = grouping_quality(samples, grouping) if has_truth(samples) else None
    return grouping, quality


@dataclass
class TrainSummary:
    """What ``hoirecon train`` reports."""

    prior_path: Path
    epochs: int
    best_val_nll: float | None
    best_of_16_m: float | None
    """Median distance from the true 3D keypoints to the nearest of 16 samples (test split)."""
    metrics_path: Path
    unconditional_best_of_16_m: float | None = None
    """The same figure for an unconditional flow trained alike (when compared)."""


def _inputs(samples: list[Sample], config: TrainConfig) -> tuple[torch.Tensor, Grouping | None]:
    if config.supervision == "3d":
        return virtual_views(samples, views=8, seed=config.seed), None
    x25d = observed_x25d(samples)
    if config.supervision == "2d-gt-groups":
        return x25d, ground_truth_groups(samples, config.grouping.k, x25d)
    return x25d, None


def with_images(samples: list[Sample]) -> list[Sample]:
    """The samples whose image file exists; each one without is logged and skipped."""
    kept = []
    for s in samples:
        if s.image_path is not None and s.image_path.is_file():
            kept.append(s)
        else:
            log.warning("sample %s: image file missing (%s); skipped", s.image_id, s.image_path)
    return kept


def evaluate_best_of_16(prior_path: Path, data: Dataset, category: str, split: str = "test",
                        feature_cache: Path | None = None) -> float | None:
    """Median best-of-16 error of a prior on a split with ground truth (None when there is none).

    Image-conditioned priors compute (or read from ``feature_cache``) the images' features.
    """
    prior = load_prior(prior_path)
    samples = with_truth(list(data.samples(category, split)))
    samples = with_images(samples) if prior.backbone is not None else samples
    if not samples:
        return None
    gen = torch.Generator().manual_seed(0)
    features = features_for(prior, samples, feature_cache)
    return best_of_n_error(prior, observations(samples), torch.as_tensor(true_x3d(samples)), 16, generator=gen,
                           features=features).median


def training_features(samples: list[Sample], config: TrainConfig, cache: Path
                      ) -> tuple[list[Sample], torch.Tensor | None]:
    """The training samples and, if the encoder needs them, their backbone features (N, F).

    Images are read and their features computed once, kept in ``cache``; samples without an
    image file are skipped then.
    """
    backbone = build_encoder(config.encoder, samples[0].keypoints_2d.shape[0]).backbone
    if backbone is None:
        return samples, None
    kept = with_images(samples)
    if not kept:
        raise ValueError(f"category {samples[0].category!r}: no training image has an image file")
    return kept, image_features(kept, backbone, cache, config.encoder.weights)


def train_category(data_dir: str | Path, category: str, out: str | Path, config: TrainConfig = TrainConfig(),
                   callback: Callable[[Progress], None] | None = None, compare_unconditional: bool = False,
                   distributed: bool = False) -> TrainSummary | None:
    """Train a category's prior; writes ``out`` (one file) and keeps checkpoints in ``<out>.work/``.

    With ``compare_unconditional``, an unconditional flow is trained alike (``<out>.unconditional.pt``)
    and its best-of-16 error is reported next to the prior's: what the image condition adds.
    Image encoders read each image once; its backbone feature is kept in
    ``<out>.work/features-<encoder>.npz`` (training and test images), so a rerun reuses it.
    With ``distributed``, every process started by torchrun calls this and trains its shard
    (see :mod:`hoirecon.prior.distributed`); rank 0 alone writes ``out``, evaluates and returns
    the summary, the other ranks return None. Call ``distributed.shutdown()`` when done.
    """
    world = init_from_env() if distributed else SINGLE
    data = load_dataset(data_dir)
    samples = training_samples(data, category)
    template = dataset_template(data, category)
    work = Path(str(out) + ".work")
    feature_cache = work / f"features-{config.encoder.name}.npz"
    with world.main_first():  # rank 0 computes and caches the image features, the others read them
        samples, features = training_features(samples, config, feature_cache)
    x25d, grouping = _inputs(samples, config)
    video, frame = sample_videos(samples) or (None, None)
    result = train_prior(x25d, observations(samples), grouping, config, work, layout_for(template),
                         callback=callback, distributed=distributed, video=video, frame=frame, features=features)
    other = (train_category(data_dir, category, str(out) + ".unconditional.pt", unconditional(config),
                            distributed=distributed) if compare_unconditional else None)
    if not world.is_main:
        return None
    save_with_provenance(result.prior_path, Path(out), data, category, config)
    score = evaluate_best_of_16(Path(out), data, category, feature_cache=feature_cache)
    summary = TrainSummary(Path(out), result.epochs, result.best_val_nll, score, result.metrics_path)
    summary.unconditional_best_of_16_m = None if other is None else other.best_of_16_m
    return summary


def save_with_provenance(trained: Path, out: Path, data: Dataset, category: str, config: TrainConfig) -> None:
    """Write the prior ``trained`` to ``out`` with what it came from in its metadata: the dataset
    (path and annotation hash), the category and the training configuration (and its hash)."""
    prior = load_prior(trained)
    settings = asdict(config)
    origin = {"dataset": {"path": str(data.root.resolve()), "hash": data.content_hash()}, "category": category,
              "config": settings, "config_hash": config_hash(settings)}
    prior.save(out, {**prior.metadata, "provenance": origin})


def unconditional(config: TrainConfig) -> TrainConfig:
    """The same training with the condition switched off (the comparison the paper's claim needs)."""
    return replace(config, encoder=replace(config.encoder, name="none"))


def describe(config: TrainConfig) -> dict:
    """Plain-data form of a training configuration (for reports)."""
    return asdict(config)


