"""Shared CLI helpers: the console and argument parsing."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

console = Console(stderr=True)


def parse_categories(text: str) -> tuple[str, ...]:
    """Split a comma-separated category list and check every name is a built-in category."""
    from hoirecon.objects import CATEGORIES

    names = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in names if c not in CATEGORIES]
    if not names or unknown:
        raise typer.BadParameter(f"unknown categories {unknown or [text]}; choose from {', '.join(CATEGORIES)}")
    return names


def exit_with_error(err: Exception) -> NoReturn:
    """Print one line naming what was wrong and end the command with exit code 2."""
    console.print(f"error: {err}", markup=False, soft_wrap=True)
    raise typer.Exit(code=2) from err
