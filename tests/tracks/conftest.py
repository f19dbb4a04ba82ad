"""A tiny synthetic BEHAVE tree shared by the track tests (two sequences, two frames, 64-pixel images)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoirecon.data.synthetic.behave_layout import BehaveLayoutConfig, write_behave_tree

TINY_TREE = BehaveLayoutConfig(frames=2, width=64)


@pytest.fixture(scope="session")
def behave_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_behave_tree(tmp_path_factory.mktemp("behave"), TINY_TREE)
