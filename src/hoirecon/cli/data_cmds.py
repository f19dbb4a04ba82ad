"""CLI: ``hoirecon synth`` (generate synthetic data), ``hoirecon data check`` (validate a folder) and
``hoirecon preview`` (pictures of the built-in objects)."""

from __future__ import annotations

from pathlib import Path

import typer

from hoirecon.cli.common import (
    INPUT_ERRORS,
    check_output_folder,
    console,
    exit_with_error,
    force_option,
    parse_categories,
    progress_bar,
    writing,
)
from hoirecon.cli.options import AT_LEAST_0, AT_LEAST_1, POSITIVE, Bound, ConfigArgs, ConfigOptions, choice_option
from hoirecon.data import check_dataset
from hoirecon.data.evidence import evidence_summary
from hoirecon.data.synthetic.behave_layout import BehaveLayoutConfig, write_behave_tree
from hoirecon.data.synthetic.generator import SynthConfig, check_existing, generate
from hoirecon.data.synthetic.observation import OBSERVATION_PRESETS
from hoirecon.objects import CATEGORIES
from hoirecon.viz.preview import write_previews

LAYOUTS = ("hoirecon", "behave")
"""Layouts ``synth --layout`` writes."""

data_app = typer.Typer(help="Inspect and validate dataset folders.", no_args_is_help=True)

SYNTH_OPTIONS = ConfigOptions(
    SynthConfig(),
    ("categories", "train", "test", "seed", "image_size", "observation", "body_model", "shape_std", "chunk", "workers",
     "camera.elevation", "camera.fov", "camera.roll_std", "camera.margin", "views_per_instance", "frames_per_clip",
     "clip_motion", "appearance_cue", "pose_spread"),
    choices={"categories": CATEGORIES, "observation": OBSERVATION_PRESETS},
    ranges={"train": AT_LEAST_0, "test": AT_LEAST_0, "seed": AT_LEAST_0, "image_size": Bound(16, 4096),
            "shape_std": AT_LEAST_0, "chunk": AT_LEAST_1, "workers": Bound(1, 256), "camera.elevation": Bound(-90, 90),
            "camera.fov": Bound(1, 179), "camera.roll_std": AT_LEAST_0, "camera.margin": POSITIVE,
            "views_per_instance": AT_LEAST_1, "frames_per_clip": AT_LEAST_1, "clip_motion": AT_LEAST_0,
            "appearance_cue": Bound(0, 1), "pose_spread": AT_LEAST_0},
)


@SYNTH_OPTIONS.command
def synth(
    args: ConfigArgs[SynthConfig],
    out: Path = typer.Option(..., "--out", callback=check_output_folder,
                             help="Folder to write the dataset into (resumes a run of the same settings)."),
    force: bool = force_option("--out holds a dataset of other settings (it is regenerated in place)"),
    layout: str = choice_option("hoirecon", LAYOUTS, "hoirecon: our dataset format; behave: a small BEHAVE tree in the "
                                "release's layout (two sequences; the seed and image size options apply) to try "
                                "`hoirecon rhobin`.", "--layout"),
) -> None:
    """Generate a synthetic in-the-wild HOI dataset with ground truth and simulated estimator outputs."""
    try:
        config = args.build()
        if layout == "behave":
            behave_config = behave_layout_config(args.given)
            with writing(out, folder=True):
                write_behave_tree(out, behave_config)
            console.print(f"wrote {out} (BEHAVE layout)")
            return
        config.check_instances()
        if config.train + config.test == 0:
            raise typer.BadParameter("both are 0: nothing to generate", param_hint="'--train' / '--test'")
        check_existing(out, config, force)
        with writing(out, folder=True), progress_bar() as bar:
            tasks = {c: bar.add_task(f"synth {c}", total=config.train + config.test) for c in config.categories}
            generate(out, config, progress=lambda c, done, total: bar.update(tasks[c], completed=done), force=force)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    console.print(f"wrote {out}")


def behave_layout_config(given: dict) -> BehaveLayoutConfig:
    """The BEHAVE tree of ``synth --layout behave`` from the synth options given (seed, image size as the width)."""
    unused = sorted(set(given) - {"seed", "image_size"})
    if unused:
        raise typer.BadParameter(f"{', '.join(unused)} not used with --layout behave (only the seed and image size)",
                                 param_hint="'--layout'")
    default = BehaveLayoutConfig()
    return BehaveLayoutConfig(seed=given.get("seed", default.seed), width=given.get("image_size", default.width))


@data_app.command("check")
def check(path: Path = typer.Argument(..., help="Dataset folder to validate.", exists=True, file_okay=False)) -> None:
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
    out: Path = typer.Option(Path("docs/images"), "--out", callback=check_output_folder, help="Folder for the PNG files."),
    category: str = typer.Option(None, help="One category (default: all with --all)."),
    all_categories: bool = typer.Option(False, "--all", help="Render every built-in category."),
    seed: int = typer.Option(0, min=0, help="Seed of the sampled interaction."),
    size: int = typer.Option(512, min=16, max=4096, help="Image size in pixels."),
) -> None:
    """Render the embedded body interacting with built-in objects to PNG files."""
    if not all_categories and category is None:
        raise typer.BadParameter("give --category NAME or --all")
    names = tuple(CATEGORIES) if all_categories else parse_categories(category)
    try:
        with writing(out, folder=True):
            paths = write_previews(out, names, seed=seed, size=size)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    for path in paths:
        console.print(f"wrote {path}")
