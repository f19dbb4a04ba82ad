"""CLI: ``hoirecon study make`` and ``hoirecon study score`` — a blind human study of two methods.

``make`` writes one self-contained HTML page of randomised side-by-side pairs and a key file
next to it (keep the key; hand out only the page). ``score`` unblinds the downloaded answers
with the key and prints each method's preference with a binomial confidence interval.
Unusable inputs end with one line naming the file or key and exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from hoirecon.cli.common import (
    INPUT_ERRORS,
    check_output_file,
    console,
    exit_with_error,
    force_option,
    input_file,
    input_folder,
    out_console,
    parse_categories,
    progress_bar,
)
from hoirecon.io.atomic import atomic_write_bytes
from hoirecon.viz.study import key_path_for, make_study
from hoirecon.viz.study_key import load_key
from hoirecon.viz.study_score import StudyScore, score_responses

study_app = typer.Typer(help="A blind human study: pairs of reconstructions, forced choices, a binomial tally.",
                        no_args_is_help=True)


@study_app.command("make")
def make(
    fits: list[Path] = typer.Option(..., "--fits", exists=True, file_okay=False,
                                    help="A fits folder (what `hoirecon fit` writes); give exactly two."),
    data: Path = input_folder("Dataset folder the fits were made on (photos, cameras).", "--data"),
    out: Path = typer.Option(..., "--out", callback=check_output_file, help="The HTML page to write."),
    key: Path = typer.Option(None, "--key", callback=check_output_file,
                             help="Where the key goes (default: next to the page, <name>.key.json)."),
    pairs: int = typer.Option(30, "--pairs", min=1, help="At most this many pairs (random images)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the image choice, order and sides."),
    categories: str = typer.Option(None, "--categories", help="Comma-separated categories (default: all)."),
    force: bool = force_option("the fits were made on another dataset than --data"),
) -> None:
    """Write a study page of randomised pairs (overlay + side view of each method) and its key."""
    if len(fits) != 2:
        raise typer.BadParameter(f"give --fits exactly twice (got {len(fits)})", param_hint="--fits")
    chosen = list(parse_categories(categories)) if categories else None
    try:
        with progress_bar(transient=True) as bar:
            bar.add_task("drawing pairs", total=None)
            files = make_study(data, (fits[0], fits[1]), out, pairs, seed, chosen, key, force=force)
    except INPUT_ERRORS as error:
        exit_with_error(error)
    console.print(f"wrote {files.page} ({files.pairs} pairs) and its key {files.key}")
    console.print("hand out only the page; keep the key for `hoirecon study score`")


def print_score(score: StudyScore) -> None:
    """The tally table, the test and the per-participant counts."""
    level = f"{100 * score.confidence:g}%"
    table = Table(title=f"preferences ({score.tallies[0].trials} choices, {score.files} answers files)",
                  title_justify="left")
    for column in ("method", "chosen", "fraction", f"{level} interval"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for t in score.tallies:
        table.add_row(escape(t.method), f"{t.wins}/{t.trials}", f"{t.fraction:.3f}", f"[{t.ci_low:.3f}, {t.ci_high:.3f}]")
    out_console.print(table)
    out_console.print(f"two-sided binomial test against no preference: p = {score.p_value:.4g}", highlight=False)
    for who, wins in score.participants.items():
        out_console.print(f"  {escape(who)}: {wins[0]} / {wins[1]}", highlight=False)
    if score.incomplete:
        out_console.print(f"note: {score.incomplete} answers file(s) leave pairs unanswered", highlight=False)
    for path, reason in score.skipped:
        out_console.print(f"skipped {escape(path)}: {escape(reason)}", highlight=False)


@study_app.command("score")
def score(
    answers: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Downloaded answers files (.json)."),
    key: Path = input_file("The study's key file (written by `study make`).", "--key"),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999, help="Interval level."),
    json_out: Path = typer.Option(None, "--json", callback=check_output_file, help="Also write the tally as JSON."),
) -> None:
    """Unblind the answers with the key and tally them (exact binomial interval, binomial test)."""
    try:
        result = score_responses(load_key(key), list(answers), confidence)
    except INPUT_ERRORS as error:
        exit_with_error(error)
    print_score(result)
    if json_out is not None:
        atomic_write_bytes(json_out, (json.dumps(result.to_dict(), indent=2) + "\n").encode())
        console.print(f"wrote {json_out}")


__all__ = ["key_path_for", "study_app"]
