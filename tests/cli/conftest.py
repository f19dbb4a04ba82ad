"""Shared inputs of the bad-input and reliability suites: one tiny dataset (and a second one with
the same image ids), fits of each, a prior, occlusion maps, reports and RHOBIN files, built once
through the Python API with the fewest steps that still make real files."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.protocols import evaluate_wildhoi
from hoirecon.eval.report import write_report
from hoirecon.fitting.export import export_rhobin
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.io.occlusion_files import save_occlusion_maps
from hoirecon.prior import FlowConfig, TrainConfig
from hoirecon.prior.category import train_category
from hoirecon.prior.encoders import EncoderConfig
from hoirecon.prior.prior import load_prior

_FIXTURES = Path(__file__).resolve().parents[1] / "eval" / "eval_fixtures.py"
_SPEC = importlib.util.spec_from_file_location("eval_fixtures_bad_inputs", _FIXTURES)
eval_fx = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(eval_fx)

CATEGORY = "skateboard"
TINY = SynthConfig(categories=(CATEGORY,), train=6, test=4, seed=0, image_size=64)
FAST_FIT = get_preset("none", object_steps=3, joint_steps=2)
TINY_TRAIN = TrainConfig(epochs=1, batch_size=8, val_fraction=0.0, flow=replace(FlowConfig(), depth=1, width=16),
                         encoder=replace(EncoderConfig(), features=16, width=16))


@dataclass(frozen=True)
class World:
    """Paths of the shared inputs (read-only: a test that changes one copies it first)."""

    root: Path
    data: Path
    """The tiny dataset (6 train, 4 test images of CATEGORY, 64 px)."""
    other_data: Path
    """The same settings with another seed: the same image ids, other annotations."""
    fits: Path
    """Fits of ``data``'s test split (preset none, a few steps)."""
    other_fits: Path
    """Fits of ``other_data``'s test split."""
    prior: Path
    """A tiny prior trained on ``data`` (work folder ``<prior>.work/`` with its checkpoint)."""
    wrong_prior: Path
    """The same prior, recorded as trained for another category."""
    occlusion: Path
    """Mean occlusion maps of ``data``'s train split."""
    report: Path
    """A WildHOI report folder of ``fits`` on ``data``."""
    other_report: Path
    """A WildHOI report folder of ``other_fits`` on ``other_data``."""
    results: Path
    """``fits`` exported to a RHOBIN results.pkl."""
    ref: Path
    """A RHOBIN reference file (hand-made sequences)."""
    text: Path
    """A text file that is nothing else."""


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Build every shared input once per test session."""
    root = tmp_path_factory.mktemp("world")
    data = generate(root / "data", TINY)
    other = generate(root / "other_data", replace(TINY, seed=1))
    fit_dataset(data, CATEGORY, "test", FAST_FIT, root / "fits")
    fit_dataset(other, CATEGORY, "test", FAST_FIT, root / "other_fits")
    prior = root / "prior" / "prior.pt"
    train_category(data, CATEGORY, prior, TINY_TRAIN)
    wrong = load_prior(prior)
    wrong.save(root / "prior" / "bat.pt", {**wrong.metadata, "provenance": {
        **wrong.metadata["provenance"], "category": "baseball_bat"}})
    save_occlusion_maps(root / "occ.npz", compute_occlusion_maps(load_dataset(data), CATEGORY, "train"))
    write_report(evaluate_wildhoi(data, root / "fits", samples=200), root / "report")
    write_report(evaluate_wildhoi(other, root / "other_fits", samples=200), root / "other_report")
    results = export_rhobin(root / "fits", root / "results.pkl")
    ref = eval_fx.write_pickle(root / "ref" / "ref.pkl", eval_fx.make_reference())
    (root / "notes.txt").write_text("not what any command expects\n")
    return World(root, data, other, root / "fits", root / "other_fits", prior, root / "prior" / "bat.pt",
                 root / "occ.npz", root / "report", root / "other_report", results, ref, root / "notes.txt")
