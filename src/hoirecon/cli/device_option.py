"""The ``--device`` option of the commands that run heavy stages (train, fit, reconstruct, group, demo).

Commands resolve it with :func:`hoirecon.device.device_scope` inside their error handling, so
``--device cuda`` on a machine without CUDA ends the command at once with one line naming the
option (exit code 2), before any work.
"""

from __future__ import annotations

from typing import Any

import typer

from hoirecon.device import ENV


def device_option() -> Any:
    """``--device auto|cpu|cuda[:N]``; unset means ``$HOIRECON_DEVICE``, else ``auto``."""
    return typer.Option(None, "--device", metavar="auto|cpu|cuda[:N]",
                        help=f"Where models, batches and random generators live: auto (a CUDA GPU when torch "
                             f"sees one, else the CPU), cpu, or cuda (an error when there is none; never a "
                             f"silent CPU fallback). Default: ${ENV}, else auto.")
