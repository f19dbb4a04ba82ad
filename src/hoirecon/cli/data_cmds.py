"""CLI: ``hoirecon synth`` (generate synthetic data) and ``hoirecon data check`` (validate a folder)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hoirecon.cli.common import console, parse_categories

data_app = typer.Typer(help="Inspect and validate dataset folders.", no_args_is_help=True)


def progress_bar() -> Progress:
    """The progress bar style shared by the CLI's long-running stages."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the dataset into (resumes if it exists)."),
    categories: str = typer.Option("baseball_bat,skateboard,basketball", help="Comma-separated built-in categories."),
    train: int = typer.Option(200, help="Training images per category."),
    test: int = typer.Option(50, help="Test images per category."),
    seed: int = typer.Option(0, help="Master seed; output is deterministic for a seed."),
    image_size: int = typer.Option(256, help="Square image size in pixels."),
    body_model: str = typer.Option(None, help="SMPL/SMPL-H/SMPL-X file or folder; default: the embedded body."),
    workers: int = typer.Option(1, help="Worker processes (output does not depend on it)."),
) -> None:
    """Generate a synthetic in-the-wild HOI dataset with ground truth and simulated estimator outputs."""
    from hoirecon.data.synthetic.generator import SynthConfig, generate

    config = SynthConfig(categories=parse_categories(categories), train=train, test=test, seed=seed,
                         image_size=image_size, body_model=body_model, workers=workers)
    with progress_bar() as bar:
        tasks = {c: bar.add_task(f"synth {c}", total=train + test) for c in config.categories}
        generate(out, config, progress=lambda c, done, total: bar.update(tasks[c], completed=done))
    console.print(f"wrote {out}")


@data_app.command("check")
def check(path: Path = typer.Argument(..., help="Dataset folder to validate.")) -> None:
    """Validate a dataset folder; print every problem found and exit non-zero if there is any."""
    from hoirecon.data import check_dataset

    problems = check_dataset(path)
    for problem in problems:
        console.print(f"problem: {problem}", markup=False, highlight=False, soft_wrap=True)
    if problems:
        console.print(f"{len(problems)} problem(s) in {path}")
        raise typer.Exit(code=1)
    console.print(f"{path}: OK")


def preview(
    out: Path = typer.Option(Path("docs/images"), "--out", help="Folder for the PNG files."),
    category: str = typer.Option(None, help="One category (default: all with --all)."),
    all_categories: bool = typer.Option(False, "--all", help="Render every built-in category."),
    seed: int = typer.Option(0, help="Seed of the sampled interaction."),
    size: int = typer.Option(512, help="Image size in pixels."),
) -> None:
    """Render the embedded body interacting with built-in objects to PNG files."""
    from hoirecon.objects import CATEGORIES
    from hoirecon.viz.preview import write_previews

    if not all_categories and category is None:
        raise typer.BadParameter("give --category NAME or --all")
    names = tuple(CATEGORIES) if all_categories else parse_categories(category)
    for path in write_previews(out, names, seed=seed, size=size):
        console.print(f"wrote {path}")
