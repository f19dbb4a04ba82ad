"""Shared CLI helpers: the console and argument parsing."""

from __future__ import annotations

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
