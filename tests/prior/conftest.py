"""Shared fixtures for the prior tests: fixed seeds and a small thread count."""

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)
