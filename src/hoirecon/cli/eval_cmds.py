"""CLI: ``hoirecon eval ...`` — score reconstructions with the WildHOI, BEHAVE and RHOBIN
protocols, write reports, and compare methods.

Unusable inputs (missing file, malformed pickle, missing key, wrong shape, unknown category,
fits of another dataset, too few frames with a usable prediction: below ``--min-coverage``)
end with one line naming the file or key and exit code 2. The coverage is printed beside every
mean.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from hoirecon.cli.common import (
    INPUT_ERRORS,
    check_output_file,
    check_output_folder,
    console,
    exit_with_error,
    force_option,
    input_file,
    input_folder,
    min_coverage_option,
    out_console,
    progress_bar,
    writing,
)
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

DataOpt = input_folder("Dataset folder with the test ground truth.", "--data", required=False)
FitsOpt = input_folder("Output folder holding fits/<category>.npz.", "--fits", required=False)
PredOpt = input_file("Submission file (results.pkl).", "--pred")
RefOpt = input_file("Reference file (ref.pkl), same layout.", "--ref")
ReportOpt = typer.Option(None, "--report", callback=check_output_folder,
                         help="Folder for per_frame.csv, summary.md and summary.json.")
SeedOpt = typer.Option(0, "--seed", min=0, help="Seed of the surface sampling.")
NameOpt = typer.Option(None, "--name",
                       help="Method name in the report (default: preset or folder name).")
ModelsOpt = typer.Option(None, "--model-folder", "--body-model", exists=True,
                         help="Body model folder (the gender picks the file) or one model file; "
                              "default: the embedded body.")
Samples10k = typer.Option(10_000, "--samples", min=1, help="Surface samples per mesh.")
CoverageOpt = min_coverage_option("evaluated frames")
ForceOpt = force_option("the fits were made on another dataset than --data")


def _run(score: Callable[[], object], report: Path | None, name: str | None) -> None:
    """Run a protocol, print its leaderboard row, write the report; input errors exit 2."""
    try:
        with progress_bar(transient=True) as bar:
            bar.add_task("evaluating", total=None)
            result = score()
    except INPUT_ERRORS as error:
        exit_with_error(error)
    if name:
        result.method = name
    print_result(result)
    if report is not None:
        try:
            with writing(report, folder=True):
                files = write_report(result, report)
        except INPUT_ERRORS as error:
            exit_with_error(error)
        console.print(f"wrote {files.summary_md.parent}")


def print_result(result) -> None:  # noqa: ANN001 - a ProtocolResult
    """Print the leaderboard row with its coverage, frame counts and notes."""
    table = Table(title=f"{result.protocol} (coverage {result.coverage_text()} of the evaluated frames)",
                  title_justify="left")
    table.add_column("method")
    for metric in result.metrics:
        table.add_column(metric.label, justify="right")
    table.add_row(escape(result.method), *(f"{result.summary[m.key]:.4g}" for m in result.metrics))
    out_console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    out_console.print(f"frames: {counts}; coverage {result.coverage_text()}", highlight=False)
    for note in result.notes:
        out_console.print(f"note: {escape(note)}", highlight=False)


@eval_app.command("wildhoi")
def wildhoi(
    data: Path = input_folder("Dataset folder with the test ground truth.", "--data"),
    fits: Path = input_folder("Output folder holding fits/<category>.npz.", "--fits"),
    report: Path = ReportOpt,
    samples: int = Samples10k,
    seed: int = SeedOpt,
    body_model: Path = typer.Option(None, "--body-model", exists=True,
                                    help="Body model file or folder (default: the dataset's)."),
    name: str = NameOpt,
    min_coverage: float = CoverageOpt,
    force: bool = ForceOpt,
) -> None:
    """WildHOI protocol: SMPL/object chamfer (cm), object rotation (deg) and translation (cm).

    Human frame (pelvis at the origin, zero orientation), no Procrustes.
    """
    _run(lambda: evaluate_wildhoi(data, fits, samples, seed, body_model, min_coverage, force), report, name)


@eval_app.command("behave")
def behave(
    data: Path = DataOpt,
    fits: Path = FitsOpt,
    pred: Path = input_file("Submission file (results.pkl) instead of --data/--fits.", "--pred", required=False),
    ref: Path = input_file("Reference file (ref.pkl) for --pred.", "--ref", required=False),
    report: Path = ReportOpt,
    samples: int = Samples10k,
    seed: int = SeedOpt,
    body_model: Path = ModelsOpt,
    name: str = NameOpt,
    min_coverage: float = CoverageOpt,
    force: bool = ForceOpt,
) -> None:
    """BEHAVE/CHORE protocol: joint body+object Procrustes, then chamfer per mesh (cm).

    Inputs: a dataset and fits (--data/--fits), or RHOBIN files (--pred/--ref).
    """
    files_mode = pred is not None and ref is not None and data is None and fits is None
    data_mode = data is not None and fits is not None and pred is None and ref is None
    if not (files_mode or data_mode):
        raise typer.BadParameter("give either --data and --fits, or --pred and --ref")
    if files_mode:
        _run(lambda: evaluate_behave_files(pred, ref, body_model, samples, seed, min_coverage), report, name)
    else:
        _run(lambda: evaluate_behave(data, fits, samples, seed, body_model, min_coverage, force), report, name)


@eval_app.command("rhobin-object")
def rhobin_object(
    pred: Path = PredOpt,
    ref: Path = RefOpt,
    report: Path = ReportOpt,
    samples: int = typer.Option(10_000, "--samples", min=1,
                                help="Template surface samples used as model points."),
    seed: int = SeedOpt,
    name: str = NameOpt,
    min_coverage: float = CoverageOpt,
) -> None:
    """RHOBIN object track: MSSD (mm), MSPD (px), RE (deg), their average recalls and AR-all."""
    _run(lambda: evaluate_object_files(pred, ref, samples, seed, min_coverage), report, name)


@eval_app.command("rhobin-human")
def rhobin_human(
    pred: Path = PredOpt,
    ref: Path = RefOpt,
    model_folder: Path = ModelsOpt,
    report: Path = ReportOpt,
    name: str = NameOpt,
    min_coverage: float = CoverageOpt,
) -> None:
    """RHOBIN human track: MPJPE, MPJPE-PA (mm), PCK@50mm, AUC, MPJAE, MPJAE-PA (deg)."""
    _run(lambda: evaluate_human_files(pred, ref, model_folder, min_coverage), report, name)


@eval_app.command("rhobin-joint")
def rhobin_joint(
    pred: Path = PredOpt,
    ref: Path = RefOpt,
    model_folder: Path = ModelsOpt,
    report: Path = ReportOpt,
    samples: int = typer.Option(6_000, "--samples", min=1, help="Surface samples per mesh."),
    seed: int = SeedOpt,
    name: str = NameOpt,
    min_coverage: float = CoverageOpt,
) -> None:
    """RHOBIN joint track: BEHAVE protocol with 6,000 samples, SMPL/object chamfer in mm."""
    _run(lambda: evaluate_joint_files(pred, ref, model_folder, samples, seed, min_coverage=min_coverage),
         report, name)


@eval_app.command("compare")
def compare_cmd(
    folders: list[Path] = typer.Argument(..., help="Report folders (written with --report).", exists=True,
                                         file_okay=False),
    published: bool = typer.Option(True, "--published/--no-published",
                                   help="Add the papers' published rows (measured on other data)."),
    out: Path = typer.Option(None, "--out", callback=check_output_file, help="Write the Markdown table to this file."),
    force: bool = force_option("the reports were scored against different ground truth"),
) -> None:
    """One table per protocol, one row per method, optionally next to the published numbers."""
    try:
        text = compare(folders, published=published, force=force).to_markdown()
        if out is not None:
            with writing(out, folder=False):
                atomic_write_bytes(out, text.encode())
    except INPUT_ERRORS as error:
        exit_with_error(error)
    if out is not None:
        console.print(f"wrote {out}")
    else:
        typer.echo(text)
