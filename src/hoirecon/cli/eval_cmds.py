"""CLI: ``hoirecon eval ...`` — score reconstructions with the WildHOI, BEHAVE and RHOBIN
protocols, write reports, and compare methods.

Unusable inputs (missing file, malformed pickle, missing key, wrong shape, unknown category,
too few frames) end with one line naming the file or key and exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from hoirecon.cli.common import console, exit_with_error, out_console, progress_bar
from hoirecon.eval.protocols import (
    evaluate_behave,
    evaluate_behave_files,
    evaluate_human_files,
    evaluate_joint_files,
    evaluate_object_files,
    evaluate_wildhoi,
)
from hoirecon.eval.report import compare, write_report
from hoirecon.io.atomic import atomic_write_bytes

eval_app = typer.Typer(help="Score reconstructions with the WildHOI, BEHAVE and RHOBIN protocols.",
                       no_args_is_help=True)

DataOpt = typer.Option(None, "--data", help="Dataset folder with the test ground truth.")
FitsOpt = typer.Option(None, "--fits", help="Output folder holding fits/<category>.npz.")
PredOpt = typer.Option(..., "--pred", help="Submission file (results.pkl).")
RefOpt = typer.Option(..., "--ref", help="Reference file (ref.pkl), same layout.")
ReportOpt = typer.Option(None, "--report",
                         help="Folder for per_frame.csv, summary.md and summary.json.")
SeedOpt = typer.Option(0, "--seed", help="Seed of the surface sampling.")
NameOpt = typer.Option(None, "--name",
                       help="Method name in the report (default: preset or folder name).")
ModelsOpt = typer.Option(None, "--model-folder", "--body-model",
                         help="Body model folder (the gender picks the file) or one model file; "
                              "default: the embedded body.")
Samples10k = typer.Option(10_000, "--samples", min=1, help="Surface samples per mesh.")


def _run(score: Callable[[], object], report: Path | None, name: str | None) -> None:
    """Run a protocol, print its leaderboard row, write the report; input errors exit 2."""
    try:
        with progress_bar(transient=True) as bar:
            bar.add_task("evaluating", total=None)
            result = score()
    except (ValueError, KeyError, OSError) as error:
        exit_with_error(error)
    if name:
        result.method = name
    print_result(result)
    if report is not None:
        files = write_report(result, report)
        console.print(f"wrote {files.summary_md.parent}")


def print_result(result) -> None:  # noqa: ANN001 - a ProtocolResult
    """Print the leaderboard row, frame counts and notes."""
    table = Table(title=f"{result.protocol}", title_justify="left")
    table.add_column("method")
    for metric in result.metrics:
        table.add_column(metric.label, justify="right")
    table.add_row(escape(result.method), *(f"{result.summary[m.key]:.4g}" for m in result.metrics))
    out_console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    out_console.print(f"frames: {counts}", highlight=False)
    for note in result.notes:
        out_console.print(f"note: {escape(note)}", highlight=False)


@eval_app.command("wildhoi")
def wildhoi(
    data: Path = typer.Option(..., "--data", help="Dataset folder with the test ground truth."),
    fits: Path = typer.Option(..., "--fits", help="Output folder holding fits/<category>.npz."),
    report: Path = ReportOpt,
    samples: int = Samples10k,
    seed: int = SeedOpt,
    body_model: Path = typer.Option(None, "--body-model",
                                    help="Body model file or folder (default: the dataset's)."),
    name: str = NameOpt,
) -> None:
    """WildHOI protocol: SMPL/object chamfer (cm), object rotation (deg) and translation (cm).

    Human frame (pelvis at the origin, zero orientation), no Procrustes.
    """
    _run(lambda: evaluate_wildhoi(data, fits, samples, seed, body_model), report, name)


@eval_app.command("behave")
def behave(
    data: Path = DataOpt,
    fits: Path = FitsOpt,
    pred: Path = typer.Option(None, "--pred",
                              help="Submission file (results.pkl) instead of --data/--fits."),
    ref: Path = typer.Option(None, "--ref", help="Reference file (ref.pkl) for --pred."),
    report: Path = ReportOpt,
    samples: int = Samples10k,
    seed: int = SeedOpt,
    body_model: Path = ModelsOpt,
    name: str = NameOpt,
) -> None:
    """BEHAVE/CHORE protocol: joint body+object Procrustes, then chamfer per mesh (cm).

    Inputs: a dataset and fits (--data/--fits), or RHOBIN files (--pred/--ref).
    """
    files_mode = pred is not None and ref is not None and data is None and fits is None
    data_mode = data is not None and fits is not None and pred is None and ref is None
    if not (files_mode or data_mode):
        raise typer.BadParameter("give either --data and --fits, or --pred and --ref")
    if files_mode:
        _run(lambda: evaluate_behave_files(pred, ref, body_model, samples, seed), report, name)
    else:
        _run(lambda: evaluate_behave(data, fits, samples, seed, body_model), report, name)


@eval_app.command("rhobin-object")
def rhobin_object(
    pred: Path = PredOpt,
    ref: Path = RefOpt,
    report: Path = ReportOpt,
    samples: int = typer.Option(10_000, "--samples", min=1,
                                help="Template surface samples used as model points."),
    seed: int = SeedOpt,
    name: str = NameOpt,
) -> None:
    """RHOBIN object track: MSSD (mm), MSPD (px), RE (deg), their average recalls and AR-all."""
    _run(lambda: evaluate_object_files(pred, ref, samples, seed), report, name)


@eval_app.command("rhobin-human")
def rhobin_human(
    pred: Path = PredOpt,
    ref: Path = RefOpt,
    model_folder: Path = ModelsOpt,
    report: Path = ReportOpt,
    name: str = NameOpt,
) -> None:
    """RHOBIN human track: MPJPE, MPJPE-PA (mm), PCK@50mm, AUC, MPJAE, MPJAE-PA (deg)."""
    _run(lambda: evaluate_human_files(pred, ref, model_folder), report, name)


@eval_app.command("rhobin-joint")
def rhobin_joint(
    pred: Path = PredOpt,
    ref: Path = RefOpt,
    model_folder: Path = ModelsOpt,
    report: Path = ReportOpt,
    samples: int = typer.Option(6_000, "--samples", min=1, help="Surface samples per mesh."),
    seed: int = SeedOpt,
    name: str = NameOpt,
) -> None:
    """RHOBIN joint track: BEHAVE protocol with 6,000 samples, SMPL/object chamfer in mm."""
    _run(lambda: evaluate_joint_files(pred, ref, model_folder, samples, seed), report, name)


@eval_app.command("compare")
def compare_cmd(
    folders: list[Path] = typer.Argument(..., help="Report folders (written with --report)."),
    published: bool = typer.Option(True, "--published/--no-published",
                                   help="Add the papers' published rows (measured on other data)."),
    out: Path = typer.Option(None, "--out", help="Write the Markdown table to this file."),
) -> None:
    """One table per protocol, one row per method, optionally next to the published numbers."""
    try:
        text = compare(folders, published=published).to_markdown()
    except ValueError as error:
        exit_with_error(error)
    if out is not None:
        atomic_write_bytes(out, text.encode())
        console.print(f"wrote {out}")
    else:
        typer.echo(text)
