"""Fixtures of the experiment tests; the builders live in ``experiment_fixtures.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

_PATH = Path(__file__).with_name("experiment_fixtures.py")
_SPEC = importlib.util.spec_from_file_location("experiment_fixtures", _PATH)
fx = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fx)


@pytest.fixture
def efx() -> ModuleType:
    """The record builders module (``experiment_fixtures.py``)."""
    return fx


@pytest.fixture
def small_run(tmp_path: Path) -> Path:
    """Seed 0 finished (row order of images differs between rows), seed 1 failed."""
    return fx.small_run(tmp_path)
