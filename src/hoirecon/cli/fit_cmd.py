"""CLI: ``hoirecon fit`` — post-optimise body and object for a dataset split."""

from __future__ import annotations

from pathlib import Path

import typer

from hoirecon.cli.common import console


def fit(
    data: Path = typer.Option(..., "--data", help="Dataset folder."),
    category: str = typer.Option(..., "--category", help="Category to fit."),
    out: Path = typer.Option(..., "--out", help="Output folder (fits/<category>.npz, fit.json); resumes."),
    split: str = typer.Option("test", help="Split to fit."),
    preset: str = typer.Option("prior+contact", help="none | contact | prior | prior+contact | phosa."),
    prior: Path = typer.Option(None, help="Trained prior file; without it the prior presets fall back to none / contact."),
    occlusion: Path = typer.Option(None, help="Mean occlusion maps (default: computed from the train split)."),
    object_steps: int = typer.Option(None, help="Steps of phase 1 (object only)."),
    joint_steps: int = typer.Option(None, help="Steps of phase 2 (everything)."),
    batch_size: int = typer.Option(None, help="Images optimised together."),
    limit: int = typer.Option(None, help="Fit only the first N images."),
) -> None:
    """Fit SMPL body + object template to every image of a split, with the chosen preset."""
    from hoirecon.cli.data_cmds import progress_bar
    from hoirecon.fitting.optimize import get_preset
    from hoirecon.fitting.pipeline import fit_dataset

    overrides = {k: v for k, v in {"object_steps": object_steps, "joint_steps": joint_steps,
                                   "batch_size": batch_size}.items() if v is not None}
    try:
        config = get_preset(preset, **overrides)
        with progress_bar() as bar:
            task = bar.add_task(f"fit {category} ({preset})", total=None)
            run = fit_dataset(data, category, split, config, out, prior, occlusion,
                              progress=lambda done, total: bar.update(task, completed=done, total=total), limit=limit)
    except (ValueError, FileNotFoundError) as err:
        console.print(f"error: {err}", markup=False, soft_wrap=True)
        raise typer.Exit(code=2) from err
    console.print(f"fitted {len(run.results.image_ids)} images, skipped {len(run.skipped)}; wrote {out}")


def export_rhobin(
    fits: Path = typer.Option(..., "--fits", help="Fit output folder (fits/<category>.npz)."),
    out: Path = typer.Option(Path("results.pkl"), "--out", help="RHOBIN results.pkl to write."),
    gender: str = typer.Option("neutral", help="Gender recorded for every sequence."),
) -> None:
    """Export fits to the RHOBIN 2023 submission layout (one sequence per category)."""
    from hoirecon.fitting.export import export_rhobin as export

    try:
        path = export(fits, out, gender)
    except ValueError as err:
        console.print(f"error: {err}", markup=False, soft_wrap=True)
        raise typer.Exit(code=2) from err
    console.print(f"wrote {path}", markup=False)
