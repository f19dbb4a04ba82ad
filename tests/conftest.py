"""Suite-wide test set-up: every test starts from the same random state."""

import os
import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _fixed_seeds() -> None:
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


# The CPU suite runs on the CPU even on a CUDA machine (its expected values are CPU ones); the
# CUDA tests (marker gpu) name their device themselves.
os.environ.setdefault("HOIRECON_DEVICE", "cpu")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say so when CUDA tests were deselected, so that they are never skipped unseen."""
    deselected = terminalreporter.stats.get("deselected", [])
    gpu = [item for item in deselected if item.get_closest_marker("gpu") is not None]
    if gpu:
        terminalreporter.write_line(f"note: {len(gpu)} CUDA tests (marker gpu) were deselected; "
                                    "run them with `make test-gpu` on a machine with a CUDA device")
