"""The ``hoirecon`` command line: one subcommand per pipeline stage, plus ``demo``."""

from __future__ import annotations

import logging

import typer
from rich.logging import RichHandler

from hoirecon import __version__
from hoirecon.cli.collect_cmds import annotate, build
from hoirecon.cli.common import console
from hoirecon.cli.data_cmds import data_app, preview, synth
from hoirecon.cli.demo_cmd import demo
from hoirecon.cli.detect_cmd import detect
from hoirecon.cli.eval_cmds import eval_app
from hoirecon.cli.experiment_cmds import experiment_app
from hoirecon.cli.fit_cmd import export_rhobin, fit
from hoirecon.cli.guard import GuardedGroup
from hoirecon.cli.occlusion_cmd import occlusion
from hoirecon.cli.prior_cmds import group, train
from hoirecon.cli.reconstruct_cmd import reconstruct
from hoirecon.cli.rhobin_cmds import rhobin_app
from hoirecon.cli.study_cmds import study_app

app = typer.Typer(
    name="hoirecon",
    help="Reconstruct a person and the object they interact with, in 3D, from one image.",
    no_args_is_help=True,
    add_completion=False,
    cls=GuardedGroup,  # the top-level handler: one line for an unexpected error, the trace with --debug
)
app.command()(synth)
app.command()(preview)
app.command()(group)
app.command()(train)
app.command()(occlusion)
app.command()(fit)
app.command()(detect)
app.command()(reconstruct)
app.command("fit-image", help="Another name of `reconstruct` (the photo may be given as --image).")(reconstruct)
app.command("export-rhobin")(export_rhobin)
app.command()(demo)
app.command()(annotate)
data_app.command("build")(build)
app.add_typer(data_app, name="data")
app.add_typer(eval_app, name="eval")
app.add_typer(rhobin_app, name="rhobin")
app.add_typer(study_app, name="study")
app.add_typer(experiment_app, name="experiment")


@app.callback()
def _setup(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages.")) -> None:
    """Configure logging for every subcommand."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


@app.command()
def version() -> None:
    """Print the installed hoirecon version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``hoirecon`` console script."""
    app()


if __name__ == "__main__":  # python -m hoirecon.cli.app (what torchrun -m starts)
    main()
