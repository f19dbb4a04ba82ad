"""CLI: ``hoirecon group`` and ``hoirecon train`` — the 2D-supervised prior of one category."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import typer

from hoirecon.cli.common import (
    INPUT_ERRORS,
    check_output_file,
    console,
    exit_with_error,
    input_folder,
    progress_bar,
    writing,
)
from hoirecon.cli.device_option import device_option
from hoirecon.cli.occlusion_cmd import store_training_maps
from hoirecon.cli.options import AT_LEAST_0, AT_LEAST_1, POSITIVE, Bound, ConfigArgs, ConfigOptions
from hoirecon.device import device_scope
from hoirecon.eval.grouping import score_category
from hoirecon.io.occlusion_files import OcclusionMaps
from hoirecon.prior import ENCODERS, GroupingConfig, TrainConfig
from hoirecon.prior.category import group_category, train_category
from hoirecon.prior.distributed import shutdown
from hoirecon.prior.flow import ACTNORM_KINDS
from hoirecon.prior.grouping.knn import METHODS, SCORES
from hoirecon.prior.training_set import SUPERVISIONS
from hoirecon.prior.transforms import COUPLING_KINDS

GROUP_OPTIONS = ConfigOptions(
    GroupingConfig(),
    ("k", "method", "max_distance", "exact_max", "duplicate_distance", "min_frame_gap", "weight_lambda",
     "weight_power", "score", "iterations", "seed"),
    choices={"method": METHODS, "score": SCORES},
    ranges={"k": AT_LEAST_1, "max_distance": POSITIVE, "exact_max": AT_LEAST_1, "duplicate_distance": AT_LEAST_0,
            "min_frame_gap": AT_LEAST_0, "weight_lambda": POSITIVE, "weight_power": POSITIVE, "iterations": AT_LEAST_1,
            "seed": AT_LEAST_0},
)
TRAIN_OPTIONS = ConfigOptions(
    TrainConfig(),
    ("supervision", "epochs", "batch_size", "lr", "grad_clip", "neighbours_per_step", "val_fraction", "patience",
     "seed", "flow.depth", "flow.width", "flow.hidden_layers", "flow.coupling", "flow.actnorm", "encoder.name",
     "encoder.features", "encoder.width", "encoder.hidden_layers", "encoder.use_rays", "encoder.weights",
     "grouping.k", "grouping.max_distance", "grouping.method", "grouping.min_frame_gap"),
    choices={"supervision": SUPERVISIONS, "flow.coupling": COUPLING_KINDS, "flow.actnorm": ACTNORM_KINDS,
             "encoder.name": ENCODERS, "grouping.method": METHODS},
    notes={"encoder.name": "Image encoders need extras: efficientnet-lite0 the 'images' extra, resnet50 "
                           "torchvision and $HOIRECON_RESNET50_WEIGHTS (a local state dict)."},
    ranges={"epochs": AT_LEAST_1, "batch_size": AT_LEAST_1, "lr": POSITIVE, "grad_clip": POSITIVE,
            "neighbours_per_step": AT_LEAST_0, "val_fraction": Bound(0, 1, high_open=True), "patience": AT_LEAST_1,
            "seed": AT_LEAST_0, "flow.depth": AT_LEAST_1, "flow.width": AT_LEAST_1, "flow.hidden_layers": AT_LEAST_1,
            "encoder.features": AT_LEAST_1, "encoder.width": AT_LEAST_1, "encoder.hidden_layers": AT_LEAST_0,
            "grouping.k": AT_LEAST_1, "grouping.max_distance": POSITIVE, "grouping.min_frame_gap": AT_LEAST_0},
)


@GROUP_OPTIONS.command
def group(
    args: ConfigArgs[GroupingConfig],
    data: Path = input_folder("Dataset folder.", "--data"),
    category: str = typer.Option(..., "--category", help="Category to group."),
    out: Path = typer.Option(None, "--out", callback=check_output_file, help="Save the grouping (.npz)."),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=1,
        help="Exact search out of core, this many images per block (same result; resumes from <out>.work/)."),
    reject_adjacent: bool = typer.Option(
        True, "--reject-adjacent/--keep-adjacent",
        help="Where images name their video, never group frames of one video that lie within the minimum frame gap."),
    device: str | None = device_option(),
) -> None:
    """Group training images across views by KNN on the 2.5D ray distance (paper eq. 11-12).

    The search runs on --device: in memory (exact or NN-descent; pynndescent is CPU only) or, with --chunk-size, out of core.
    """
    try:
        with device_scope(device) as where, writing(out, folder=False) if out is not None else contextlib.nullcontext():
            grouping, quality = group_category(data, category, args.build(), out, chunk_size=chunk_size,
                                               reject_adjacent=reject_adjacent, device=where)
        score = score_category(data, category, grouping)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    console.print(f"{len(grouping)} images, {int(grouping.valid.sum())} neighbour links "
                  f"({grouping.stats.get('method', '?')})", markup=False)
    if quality is not None:
        console.print(f"true-3D distance to neighbours: median {100 * quality.neighbour_median_m:.1f} cm "
                      f"(random pairs {100 * quality.random_median_m:.1f} cm); "
                      f"{100 * quality.images_with_neighbours:.0f}% of images have neighbours", markup=False)
    if score is not None:
        console.print(f"against the true groups: recall@{score.k} {score.recall_at_k:.3f}, precision "
                      f"{score.precision:.3f}, other views {score.other_view_share:.3f} of neighbours "
                      f"(adjacent-frame rejection {'on' if grouping.stats.get('adjacent_frame_rejection') else 'off'})",
                      markup=False)


@TRAIN_OPTIONS.command
def train(
    args: ConfigArgs[TrainConfig],
    data: Path = input_folder("Dataset folder.", "--data"),
    category: str = typer.Option(..., "--category", help="Category to train."),
    out: Path = typer.Option(..., "--out", callback=check_output_file,
                             help="Prior file to write (checkpoints in <out>.work/)."),
    compare_unconditional: bool = typer.Option(True, help="Also train an unconditional flow and compare best-of-16."),
    distributed: bool = typer.Option(False, "--distributed",
                                     help="Data-parallel training over the processes started by torchrun "
                                          "(torchrun --nproc_per_node N -m hoirecon.cli.app train ... --distributed)."),
    device: str | None = device_option(),
) -> None:
    """Train the conditional normalizing-flow prior of one category (resumes an interrupted run)."""
    if distributed and not _is_main():
        logging.getLogger().setLevel(logging.WARNING)  # one process reports
    try:
        config = args.build()
        compare_unconditional = compare_unconditional and config.encoder.name != "none"
        lock = writing(out, folder=False) if not distributed or _is_main() else contextlib.nullcontext()
        with device_scope(device), lock, progress_bar(show=not distributed or _is_main()) as bar:
            task = bar.add_task(f"train {category}", total=None)
            summary = train_category(data, category, out, config,
                                     lambda p: bar.update(task, completed=p.step, total=p.total_steps),
                                     compare_unconditional=compare_unconditional, distributed=distributed)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    finally:
        if distributed:
            shutdown()
    if summary is None:
        return  # a rank other than 0: it trained its shard; rank 0 writes and reports
    maps = _store_maps(data, category, summary.prior_path)
    console.print(f"wrote {summary.prior_path} after {summary.epochs} epochs "
                  f"(best validation NLL {summary.best_val_nll})", markup=False)
    if summary.best_of_16_m is not None:
        console.print(f"best-of-16 error on the test split: median {100 * summary.best_of_16_m:.1f} cm", markup=False)
    if maps is not None:
        console.print(f"stored the mean occlusion maps of {maps.num_images} images in the prior (for contact)",
                      markup=False)
    if summary.unconditional_best_of_16_m is not None:
        console.print(f"unconditional flow, same training: median {100 * summary.unconditional_best_of_16_m:.1f} cm",
                      markup=False)


def _store_maps(data: Path, category: str, prior: Path) -> OcclusionMaps | None:
    """The category's mean occlusion maps stored in the new prior (None without masks)."""
    try:
        return store_training_maps(data, category, prior)
    except INPUT_ERRORS as err:
        exit_with_error(err)


def _is_main() -> bool:
    """Whether this process is rank 0 of a torchrun launch (or not under torchrun at all)."""
    return os.environ.get("RANK", "0") == "0"
