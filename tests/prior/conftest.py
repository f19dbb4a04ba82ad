"""Shared fixtures for the prior tests: fixed seeds, one torch thread.

The models here are tiny, so a second thread buys little, and on a machine shared with other
jobs two OpenMP threads can be many times slower than one; the previous setting is restored.
"""

from collections.abc import Iterator

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_threads() -> Iterator[None]:
    torch.manual_seed(0)
    np.random.seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
