"""The top-level handler: no traceback reaches the user unless they ask for it with ``--debug``.

Input errors are reported by each command as one line naming the file, field or option (see
``common.exit_with_error``). Anything else that escapes a command is a bug or an input nobody
thought of: :class:`GuardedGroup` prints it as one line with a pointer to the global ``--debug``
option, which shows the full trace instead, and exits with code 1.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from hoirecon.cli.common import console

UNEXPECTED_EXIT = 1
"""Exit code of a command stopped by an unexpected error."""
INTERRUPTED_EXIT = 130
"""Exit code after Ctrl-C (128 + SIGINT)."""
_DEBUG = "debug"
_PASS_THROUGH = (typer.Exit, typer.Abort, typer.TyperException)
"""Exits and usage errors: typer reports them itself."""


def report_unexpected(error: BaseException) -> None:
    """Print one line for an error nobody handled."""
    text = str(error).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    console.print(f"[red]error:[/red] unexpected {type(error).__name__}{escape(detail)} "
                  "(rerun with --debug for the full trace)", highlight=False, soft_wrap=True)


def _debug_option() -> Any:
    """The ``--debug`` flag as typer builds it (taken from a one-option probe app)."""
    probe = typer.Typer()

    @probe.callback()
    def _probe(debug: bool = typer.Option(False, "--debug", help="Show the full trace of an unexpected error "
                                          "instead of one line.")) -> None:
        """Probe."""

    @probe.command()
    def _noop() -> None:
        """Probe."""

    return typer.main.get_command(probe).params[0]


class GuardedGroup(TyperGroup):
    """A command group with a global ``--debug`` flag whose subcommands print no traceback
    unless it is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_debug_option())

    def invoke(self, ctx: typer.Context) -> Any:
        """Run the subcommand; turn an unexpected error into one line (unless ``--debug``)."""
        debug = bool(ctx.params.pop(_DEBUG, False))
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            if debug:
                raise
            console.print("interrupted", highlight=False)
            raise typer.Exit(code=INTERRUPTED_EXIT) from None
        except Exception as error:  # the one place that catches everything: the user gets one line
            if debug:
                raise
            report_unexpected(error)
            raise typer.Exit(code=UNEXPECTED_EXIT) from None
