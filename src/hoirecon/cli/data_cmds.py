"""CLI: ``hoirecon synth`` (generate synthetic data), ``hoirecon data check`` (validate a folder) and
``hoirecon preview`` (pictures of the built-in objects)."""

from __future__ import annotations

from pathlib import Path

import typer

from hoirecon.cli.common import console, exit_with_error, parse_categories, progress_bar
from hoirecon.cli.options import ConfigArgs, ConfigOptions
from hoirecon.data import check_dataset
from hoirecon.data.evidence import evidence_summary
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.data.synthetic.observation import OBSERVATION_PRESETS
from hoirecon.objects import CATEGORIES
from hoirecon.viz.preview import write_previews

data_app = typer.Typer(help="Inspect and validate dataset folders.", no_args_is_help=True)

SYNTH_OPTIONS = ConfigOptions(
    SynthConfig(),
    ("categories", "train", "test", "seed", "image_size", "observation", "body_model", "shape_std", "chunk", "workers",
     "camera.elevation", "camera.fov", "camera.roll_std", "camera.margin"),
    choices={"categories": CATEGORIES, "observation": OBSERVATION_PRESETS},
)


@SYNTH_OPTIONS.command
def synth(
    args: ConfigArgs[SynthConfig],
    out: Path = typer.Option(..., "--out", help="Folder to write the dataset into (resumes if it exists)."),
) -> None:
    """Generate a synthetic in-the-wild HOI dataset with ground truth and simulated estimator outputs."""
    try:
        config = args.build()
        with progress_bar() as bar:
            tasks = {c: bar.add_task(f"synth {c}", total=config.train + config.test) for c in config.categories}
            generate(out, config, progress=lambda c, done, total: bar.update(tasks[c], completed=done))
    except (ValueError, OSError) as err:
        exit_with_error(err)
    console.print(f"wrote {out}")


@data_app.command("check")
def check(path: Path = typer.Argument(..., help="Dataset folder to validate.")) -> None:
    """Validate a dataset folder; print every problem found and exit non-zero if there is any."""
    problems = check_dataset(path)
    for problem in problems:
        console.print(f"problem: {problem}", markup=False, highlight=False, soft_wrap=True)
    if problems:
        console.print(f"{len(problems)} problem(s) in {path}")
        raise typer.Exit(code=1)
    console.print(f"{path}: OK")
    for category in evidence_summary(path):
        console.print(str(category), markup=False, highlight=False, soft_wrap=True)


def preview(
    out: Path = typer.Option(Path("docs/images"), "--out", help="Folder for the PNG files."),
    category: str = typer.Option(None, help="One category (default: all with --all)."),
    all_categories: bool = typer.Option(False, "--all", help="Render every built-in category."),
    seed: int = typer.Option(0, help="Seed of the sampled interaction."),
    size: int = typer.Option(512, help="Image size in pixels."),
) -> None:
    """Render the embedded body interacting with built-in objects to PNG files."""
    if not all_categories and category is None:
        raise typer.BadParameter("give --category NAME or --all")
    names = tuple(CATEGORIES) if all_categories else parse_categories(category)
    for path in write_previews(out, names, seed=seed, size=size):
        console.print(f"wrote {path}")
