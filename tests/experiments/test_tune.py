import json
from dataclasses import replace
from pathlib import Path

import pytest

from hoirecon.experiments.config import TUNE_SEED_BASE, ExperimentConfig
from hoirecon.experiments.tune import TuneGrid, best_weights, candidate_arms, check_tuning_seeds, run_tuning
from hoirecon.fitting.optimize import get_preset


def test_candidates_cover_the_grid_and_the_shipped_weights() -> None:
    arms = candidate_arms(TuneGrid(prior=(0.01,), contact=(0.1,), combined_contact=(0.2, 0.3)))
    shipped = {p: get_preset(p).weights for p in ("prior", "contact", "prior+contact")}
    weights = {(a.preset, a.weights) for a in arms}
    assert ("prior", (("prior", 0.01),)) in weights and ("prior", (("prior", shipped["prior"].prior),)) in weights
    assert ("contact", (("contact", shipped["contact"].contact),)) in weights
    combos = [a for a in arms if a.preset == "prior+contact"]
    assert len(combos) == 2 * 3  # {0.01, shipped prior} x {0.2, 0.3, shipped contact}
    assert {a.name for a in arms} >= {"none", "phosa"}


def test_grid_and_seeds_are_checked() -> None:
    with pytest.raises(ValueError, match="contact"):
        TuneGrid(contact=())
    with pytest.raises(ValueError, match="prior"):
        TuneGrid(prior=(-1.0,))
    with pytest.raises(ValueError, match="tuning seeds start at 1000"):
        check_tuning_seeds(ExperimentConfig(first_seed=3))
    check_tuning_seeds(ExperimentConfig(first_seed=TUNE_SEED_BASE))


def _row(preset: str, weights: dict, median: float) -> dict:
    est = {"value": median, "low": median, "high": median}
    return {"row": f"{preset} {weights}", "preset": preset, "weights": weights, "images": 5, "median": est}


def test_best_weights_take_the_lowest_median_per_preset() -> None:
    ship = get_preset("prior").weights.prior
    rows = [_row("prior", {"prior": ship}, 20.0), _row("prior", {"prior": 0.01}, 12.0),
            _row("contact", {"contact": 0.1}, 30.0), _row("none", {}, 50.0)]
    best = best_weights(rows)
    assert best["prior"]["weights"] == {"prior": 0.01} and best["prior"]["median"] == 12.0
    assert best["prior"]["shipped"] == {"prior": ship} and best["prior"]["shipped_median"] == 20.0
    assert best["contact"]["shipped_median"] is None and "prior+contact" not in best


@pytest.mark.slow
def test_tuning_writes_its_table_and_leaves_the_presets(tmp_path: Path) -> None:
    before = get_preset("prior+contact")
    config = replace(ExperimentConfig().quick(), first_seed=TUNE_SEED_BASE, categories=("basketball",))
    grid = TuneGrid(prior=(0.01,), contact=(0.01,), combined_contact=(0.001,))
    summary, best = run_tuning(config, tmp_path, grid, command="hoirecon experiment tune --quick")
    assert summary.ran == [f"seed{TUNE_SEED_BASE:04d}-basketball"] and not summary.failed
    table = json.loads((tmp_path / "tuned_presets.json").read_text())
    assert table["seeds"] == [TUNE_SEED_BASE] and set(table["presets"]) == {"prior", "contact", "prior+contact"}
    assert best["prior"]["weights"]["prior"] in (0.01, before.weights.prior)
    assert all(r["images"] == config.test for r in table["candidates"])
    assert "Weights found" in (tmp_path / "tuned_presets.md").read_text()
    assert get_preset("prior+contact") == before
