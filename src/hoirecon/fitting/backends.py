"""Choosing where a split is fitted: in this process (``local``) or as Ray tasks (``ray``).

Every backend writes the same per-batch part files and merged fits as
:func:`hoirecon.fitting.pipeline.fit_split`, so runs can switch backend and resume.
"""

from __future__ import annotations

import functools

from hoirecon.fitting.pipeline import SplitRunner, fit_split
from hoirecon.fitting.ray_backend import RayConfig, fit_split_ray, require_ray

BACKENDS = ("local", "ray")


def split_runner(backend: str, address: str | None = None, workers: int | None = None) -> SplitRunner:
    """The split fitter of ``backend``; ``address`` and ``workers`` configure ``ray``.

    Raises ValueError for an unknown backend or options it does not take, and
    ``ray_backend.BackendUnavailableError`` when ``ray`` is chosen but not installed.
    """
    if backend not in BACKENDS:
        raise ValueError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "local":
        if address is not None or workers is not None:
            raise ValueError("--address and --workers need --backend ray")
        return fit_split
    require_ray()
    config = RayConfig(address=address) if workers is None else RayConfig(address=address, workers=workers)
    return functools.partial(fit_split_ray, config=config)
