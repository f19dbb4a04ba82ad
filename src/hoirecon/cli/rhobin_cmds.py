"""CLI: ``hoirecon rhobin make-ref`` (a ``ref.pkl`` from a BEHAVE tree) and ``hoirecon rhobin run``
(a RHOBIN track end to end on BEHAVE frames: fit from evidence, ``results.pkl``, score, leaderboard)."""

from __future__ import annotations

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
    input_file,
    input_folder,
    min_coverage_option,
    out_console,
    progress_bar,
    writing,
)
from hoirecon.cli.eval_cmds import print_result
from hoirecon.cli.fit_cmd import DEFAULT_PRESET, FIT_OPTIONS
from hoirecon.cli.options import ConfigArgs, choice_option
from hoirecon.eval.protocols import ProtocolResult
from hoirecon.fitting.optimize import PRESETS, FitConfig, get_preset
from hoirecon.tracks.keys import read_split
from hoirecon.tracks.published import PUBLISHED_NOTES, published_rows
from hoirecon.tracks.reference import REFERENCE_KINECT, make_reference
from hoirecon.tracks.run import TrackInputs, run_track
from hoirecon.tracks.submission import TRACKS

rhobin_app = typer.Typer(help="RHOBIN challenge tracks on BEHAVE trees in the official layouts.", no_args_is_help=True)

BehaveOpt = input_folder("BEHAVE root (sequences/, calibs/, objects/).", "--behave")
SplitOpt = input_file("Split file: BEHAVE's split.json (its test sequences) or a JSON list of sequence names.",
                      "--split")
KinectOpt = typer.Option(REFERENCE_KINECT, "--kinect", min=0, max=9,
                         help="Kinect whose images are used (RHOBIN's test set: k1, the world camera).")


def make_ref(
    behave: Path = BehaveOpt,
    split: Path = SplitOpt,
    out: Path = typer.Option(..., "--out", callback=check_output_file, help="ref.pkl to write."),
    kinect: int = KinectOpt,
) -> None:
    """Build a RHOBIN ref.pkl from a BEHAVE tree's fits, in the official layout."""
    try:
        sequences = read_split(split)
        with writing(out, folder=False):
            report = make_reference(behave, sequences, out, kinect)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    for frame, reason in report.skipped:
        console.print(f"left out {frame}: {reason}", markup=False, highlight=False, soft_wrap=True)
    if report.no_masks:
        console.print(f"note: {report.no_masks} frame(s) without obj_rend_mask / obj_rend_full: visible fraction 1",
                      markup=False, highlight=False)
    console.print(f"wrote {out}: {sum(report.frames.values())} frames in {len(report.frames)} sequence(s)",
                  markup=False, highlight=False)


def _priors(values: list[str] | None) -> dict[str, Path]:
    """``OBJECT=FILE`` pairs (a bare FILE applies to every object) -> object -> file."""
    out: dict[str, Path] = {}
    for value in values or []:
        name, _, file = value.rpartition("=")
        path = Path(file)
        if not path.is_file():
            raise typer.BadParameter(f"{file}: prior file not found", param_hint="'--prior'")
        out[name or "*"] = path
    return out


def print_leaderboard(track: str, result: ProtocolResult) -> None:
    """Our row beside the RHOBIN report's published rows of the track."""
    table = Table(title=f"RHOBIN {track} track: ours beside the report's rows (measured on the BEHAVE test set)",
                  title_justify="left")
    table.add_column("method", no_wrap=True)
    table.add_column("source")
    for metric in result.metrics:
        table.add_column(metric.label, justify="right")
    table.add_row(escape(result.method), "ours", *(f"{result.summary[m.key]:.4g}" for m in result.metrics))
    for name, values in published_rows(track):
        table.add_row(name, "published", *(f"{values[m.key]:.4g}" if m.key in values else "-" for m in result.metrics))
    out_console.print(table)
    if track in PUBLISHED_NOTES:
        out_console.print(f"note: {PUBLISHED_NOTES[track]}", highlight=False)


@FIT_OPTIONS.command
def run(
    args: ConfigArgs[FitConfig],
    track: str = choice_option("joint", TRACKS, "Track: object 6DoF, human, or joint reconstruction.", "--track"),
    behave: Path = BehaveOpt,
    split: Path = SplitOpt,
    out: Path = typer.Option(..., "--out", callback=check_output_folder,
                             help="Output folder (data/, fit/, <track>/results.pkl, <track>/report/); resumes."),
    preset: str = choice_option(DEFAULT_PRESET, PRESETS, "Named loss weights and schedule.", "--preset"),
    prior: list[str] = typer.Option(None, "--prior", help="Trained prior, OBJECT=FILE (repeat per object) or FILE "
                                    "for every object; without one the prior presets fall back."),
    body_model: Path = typer.Option(None, "--body-model", exists=True,
                                    help="SMPL / SMPL-H file or folder (the gender picks the file when scoring); "
                                         "default: the embedded body, whose numbers are not leaderboard-comparable."),
    ref: Path = input_file("Reference ref.pkl (default: built from the tree's fits into OUT/ref.pkl).", "--ref",
                           required=False),
    kinect: int = KinectOpt,
    min_coverage: float = min_coverage_option("evaluated reference frames"),
) -> None:
    """Run a RHOBIN track end to end on BEHAVE frames: fit from their evidence, write results.pkl, score it."""
    try:
        priors = _priors(prior)
        sequences = read_split(split)
        objects = {s.split("_")[2] for s in sequences}
        per_object = {o: priors.get(o, priors.get("*")) for o in objects}
        inputs = TrackInputs(behave, split, out, args.build(get_preset(preset)),
                             {o: p for o, p in per_object.items() if p is not None}, body_model, ref, kinect,
                             min_coverage)
        with writing(out, folder=True), progress_bar() as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            result = run_track(track, inputs, progress)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    for what, reason in result.skipped:
        console.print(f"skipped {what}: {reason}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {result.results_path}", markup=False, highlight=False)
    if result.result is not None:
        print_result(result.result)
        print_leaderboard(track, result.result)
    for note in result.notes:
        out_console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)


rhobin_app.command("make-ref")(make_ref)
rhobin_app.command("run")(run)
