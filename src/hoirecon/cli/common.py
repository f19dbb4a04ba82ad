"""Shared CLI helpers: the consoles, the progress bar, the error exit and category parsing."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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
