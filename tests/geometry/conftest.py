"""Shared fixtures for the geometry tests: a fixed seed for every test."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
