"""Shared inputs of the collection tests: a small synthetic render set (built once) turned into a
photo folder with simulated detector files and clicks, and the helper modules beside this file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from hoirecon.data.synthetic.generator import SynthConfig, generate

HERE = Path(__file__).resolve().parent


def _load(name: str):
    """A helper module of this folder (tests run with --import-mode=importlib, so no package imports)."""
    spec = importlib.util.spec_from_file_location(f"collect_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


photos = _load("photos")
browser = _load("browser")


@pytest.fixture(scope="session")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic skateboard renders (12 train, 4 test) at 256 px, with ground truth for scoring."""
    root = tmp_path_factory.mktemp("renders")
    generate(root, SynthConfig(categories=("skateboard",), train=12, test=4, image_size=256, seed=3))
    return root


@pytest.fixture
def photo_folder(renders: Path, tmp_path: Path) -> tuple[Path, dict]:
    """The train renders as a photo folder with detector, estimator, camera and click files."""
    folder = tmp_path / "photos"
    truth = photos.make_photo_folder(renders, "skateboard", "train", folder, click_noise_px=2.0,
                                     annotation_name="skateboard.annotations.json")
    return folder, truth


@pytest.fixture
def chromium_page(tmp_path: Path):
    """A headless Chromium page driven over the DevTools pipe (closed after the test)."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page = browser.Browser(tmp_path / "profile", downloads)
    page.downloads = downloads
    yield page
    page.close()
