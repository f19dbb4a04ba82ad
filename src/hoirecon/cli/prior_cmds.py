"""CLI: ``hoirecon group`` and ``hoirecon train`` — the 2D-supervised prior of one category."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hoirecon.cli.common import console, exit_with_error

if TYPE_CHECKING:
    from hoirecon.prior.train import Progress


def group(
    data: Path = typer.Option(..., "--data", help="Dataset folder."),
    category: str = typer.Option(..., "--category", help="Category to group."),
    k: int = typer.Option(16, help="Neighbours per image."),
    max_distance: float = typer.Option(0.2, help="Drop neighbours farther than this (metres)."),
    method: str = typer.Option("auto", help="exact | nndescent | auto."),
    out: Path = typer.Option(None, "--out", help="Save the grouping (.npz)."),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=1,
        help="Exact search out of core, this many images per block (same result; resumes from <out>.work/)."),
) -> None:
    """Group training images across views by KNN on the 2.5D ray distance (paper eq. 11-12)."""
    from hoirecon.prior.category import group_category
    from hoirecon.prior.grouping import GroupingConfig

    try:
        grouping, quality = group_category(data, category, GroupingConfig(k=k, max_distance=max_distance,
                                                                           method=method), out,
                                            chunk_size=chunk_size)
    except ValueError as err:
        exit_with_error(err)
    console.print(f"{len(grouping)} images, {int(grouping.valid.sum())} neighbour links "
                  f"({grouping.stats.get('method', '?')})", markup=False)
    if quality is not None:
        console.print(f"true-3D distance to neighbours: median {100 * quality.neighbour_median_m:.1f} cm "
                      f"(random pairs {100 * quality.random_median_m:.1f} cm); "
                      f"{100 * quality.images_with_neighbours:.0f}% of images have neighbours", markup=False)


def train(
    data: Path = typer.Option(..., "--data", help="Dataset folder."),
    category: str = typer.Option(..., "--category", help="Category to train."),
    out: Path = typer.Option(..., "--out", help="Prior file to write (checkpoints in <out>.work/)."),
    epochs: int = typer.Option(30, help="Training epochs."),
    supervision: str = typer.Option("2d-knn", help="2d-knn | 2d-gt-groups | 3d."),
    depth: int = typer.Option(8, help="Flow steps."),
    width: int = typer.Option(512, help="Hidden width of the coupling networks."),
    encoder: str = typer.Option("keypoints", help="Condition encoder: keypoints | none | efficientnet-lite0 "
                                "(needs the 'images' extra) | resnet50 (needs torchvision and "
                                "$HOIRECON_RESNET50_WEIGHTS, a local state dict)."),
    lr: float = typer.Option(1e-4, help="Adam learning rate."),
    batch_size: int = typer.Option(64, help="Images per step."),
    compare_unconditional: bool = typer.Option(True, help="Also train an unconditional flow and compare best-of-16."),
    distributed: bool = typer.Option(False, "--distributed",
                                     help="Data-parallel training over the processes started by torchrun "
                                          "(torchrun --nproc_per_node N -m hoirecon.cli.app train ... --distributed)."),
) -> None:
    """Train the conditional normalizing-flow prior of one category (resumes an interrupted run)."""
    from hoirecon.prior import EncoderConfig, TrainConfig
    from hoirecon.prior.category import train_category
    from hoirecon.prior.distributed import shutdown

    if distributed and not _is_main():
        logging.getLogger().setLevel(logging.WARNING)  # one process reports
    try:
        base = TrainConfig()
        config = TrainConfig(supervision=supervision, epochs=epochs, lr=lr, batch_size=batch_size,
                             flow=replace(base.flow, depth=depth, width=width),
                             encoder=EncoderConfig(name=encoder))
        compare_unconditional = compare_unconditional and encoder != "none"
        with _progress(f"train {category}", show=not distributed or _is_main()) as callback:
            summary = train_category(data, category, out, config, callback,
                                     compare_unconditional=compare_unconditional, distributed=distributed)
    except (ValueError, FileNotFoundError) as err:
        exit_with_error(err)
    finally:
        if distributed:
            shutdown()
    if summary is None:
        return  # a rank other than 0: it trained its shard; rank 0 writes and reports
    console.print(f"wrote {summary.prior_path} after {summary.epochs} epochs "
                  f"(best validation NLL {summary.best_val_nll})", markup=False)
    if summary.best_of_16_m is not None:
        console.print(f"best-of-16 error on the test split: median {100 * summary.best_of_16_m:.1f} cm", markup=False)
    if summary.unconditional_best_of_16_m is not None:
        console.print(f"unconditional flow, same training: median {100 * summary.unconditional_best_of_16_m:.1f} cm",
                      markup=False)


@contextmanager
def _progress(label: str, show: bool) -> Iterator[Callable[[Progress], None] | None]:
    """A progress bar's update callback (None, and no bar, when ``show`` is false)."""
    if not show:
        yield None
        return
    from hoirecon.cli.data_cmds import progress_bar

    with progress_bar() as bar:
        task = bar.add_task(label, total=None)
        yield lambda p: bar.update(task, completed=p.step, total=p.total_steps)


def _is_main() -> bool:
    """Whether this process is rank 0 of a torchrun launch (or not under torchrun at all)."""
    return os.environ.get("RANK", "0") == "0"
