"""Fixtures of the protocol tests: a tiny body model folder, a dataset with fits, RHOBIN files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).with_name("eval_fixtures.py")
_SPEC = importlib.util.spec_from_file_location("eval_fixtures", _PATH)
fx = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fx)


@pytest.fixture(scope="session")
def eval_fx():
    """The fixture builders module (``eval_fixtures.py``)."""
    return fx


@pytest.fixture(scope="session")
def body_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of tiny ``SMPL_{GENDER}.npz`` models."""
    return fx.write_body_folder(tmp_path_factory.mktemp("bodies"))


@pytest.fixture
def fit_case(tmp_path: Path, body_folder: Path) -> dict:
    """A dataset of 4 test images and a perfect fits folder; returns paths and ground truth."""
    data, fits = tmp_path / "data", tmp_path / "fits"
    gt = fx.write_dataset(data, body_folder / "SMPL_NEUTRAL.npz")
    fx.write_fits(fits, gt)
    return {"data": data, "fits": fits, "gt": gt, "tmp": tmp_path}


@pytest.fixture
def rhobin_case(tmp_path: Path, body_folder: Path) -> dict:
    """A reference of two sequences (20 frames) and a perfect submission, as pickles."""
    reference = fx.make_reference()
    ref = fx.write_pickle(tmp_path / "ref" / "ref.pkl", reference)
    pred = fx.write_pickle(tmp_path / "mine" / "results.pkl", fx.submission_from(reference))
    return {"ref": ref, "pred": pred, "reference": reference, "models": body_folder,
            "tmp": tmp_path}

