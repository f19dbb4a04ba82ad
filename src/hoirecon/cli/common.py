"""Shared CLI helpers: the consoles, the progress bar, the error exit, category parsing, the
checks of path options, the output lock and the options several commands share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hoirecon.io.lock import OutputLockedError, output_lock
from hoirecon.objects import CATEGORIES

console = Console(stderr=True)
"""Progress, messages and errors (stderr)."""
out_console = Console()
"""Results meant to be read or piped (stdout)."""

INPUT_ERROR_EXIT = 2
"""Exit code of a command stopped by unusable input (the same as a usage error)."""


def progress_bar(show: bool = True, transient: bool = False) -> Progress:
    """The progress bar of every long-running command, drawn on stderr.

    Nothing is drawn when ``show`` is false. Tasks added with ``total=None`` (an unknown amount of
    work) show a pulsing bar; ``transient`` removes the bars when done, for work that has no count
    worth leaving on the screen.
    """
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=transient, disable=not show)


def exit_with_error(problem: Exception | str) -> NoReturn:
    """Print one line naming what was wrong and end the command with exit code 2."""
    message = problem.args[0] if isinstance(problem, KeyError) and problem.args else problem
    console.print(f"[red]error:[/red] {escape(str(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=INPUT_ERROR_EXIT)


def parse_categories(text: str) -> tuple[str, ...]:
    """Split a comma-separated category list and check every name is a built-in category."""
    names = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in names if c not in CATEGORIES]
    if not names or unknown:
        raise typer.BadParameter(f"unknown categories {unknown or [text]}; choose from {', '.join(CATEGORIES)}")
    return names


INPUT_ERRORS = (ValueError, KeyError, OSError, OutputLockedError)
"""What a command reports as one line naming the input (``ValueError`` covers ``FileFormatError``,
``ProvenanceError`` and ``EvalInputError``); anything else reaches the top-level handler."""
COVERAGE_DEFAULT = 0.975
"""The RHOBIN rule: at least 97.5% of the evaluated frames have a usable prediction."""


def force_option(what: str) -> Any:
    """``--force``: go on although ``what`` disagree (the override is recorded with the output)."""
    return typer.Option(False, "--force", help=escape(f"Go on although {what}; the override is recorded in the output."))


def min_coverage_option(what: str = "evaluated frames") -> Any:
    """``--min-coverage``: the fraction of ``what`` that must have a usable prediction."""
    return typer.Option(COVERAGE_DEFAULT, "--min-coverage", min=0.0, max=1.0,
                        help=escape(f"Fail unless at least this fraction of the {what} has a usable prediction "
                                    "(missing and invalid ones count against it; RHOBIN: 0.975)."))


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(".")


def check_output_folder(path: Path | None) -> Path | None:
    """Typer callback of an output-folder option: not a file, and creatable and writable."""
    if path is None:
        return path
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{path} is a file; give a folder")
    _check_writable(path, path)
    return path


def check_output_file(path: Path | None) -> Path | None:
    """Typer callback of an output-file option: not a folder, its folder creatable and writable."""
    if path is None:
        return path
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder; give a file name")
    _check_writable(path.parent, path)
    return path


def _check_writable(folder: Path, target: Path) -> None:
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise typer.BadParameter(f"{base} is a file, so {target} cannot be written")
    if not os.access(base, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"{base} is not writable, so {target} cannot be written")


def input_folder(help: str, *flags: str, required: bool = True) -> Any:  # noqa: A002 - typer's name
    """An option naming an existing folder (checked before any work)."""
    return typer.Option(... if required else None, *flags, help=help, exists=True, file_okay=False, dir_okay=True)


def input_file(help: str, *flags: str, required: bool = True) -> Any:  # noqa: A002 - typer's name
    """An option naming an existing, readable file (checked before any work)."""
    return typer.Option(... if required else None, *flags, help=help, exists=True, file_okay=True, dir_okay=False,
                        readable=True)


@contextmanager
def writing(target: Path, folder: bool) -> Iterator[None]:
    """Hold the lock of an output for the command's work; a second writer ends with one line.

    A folder the lock had to create and the command left empty (it failed early) is removed.
    """
    created = folder and not Path(target).exists()
    try:
        with output_lock(target, folder):
            yield
    except OutputLockedError as err:
        exit_with_error(err)
    finally:
        if created and Path(target).is_dir() and not any(Path(target).iterdir()):
            Path(target).rmdir()
