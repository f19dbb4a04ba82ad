from pathlib import Path

import pytest

from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.registry import get_experiment
from hoirecon.experiments.unit import error_text, slug, truth_hash, unit_fingerprint, unit_name


def test_names_are_safe_file_names() -> None:
    assert slug("labels / prior+contact") == "labels_prior_contact"
    assert slug("2d-knn, no neighbours") == "2d-knn_no_neighbours"
    assert unit_name(3, "violin") == "seed0003-violin"
    assert error_text(ValueError("a\n  b")) == "ValueError: a b"


def test_fingerprint_follows_rows_and_split_settings() -> None:
    losses, config = get_experiment("losses"), ExperimentConfig()
    assert unit_fingerprint(losses, config) == unit_fingerprint(losses, ExperimentConfig(seeds=9))
    assert unit_fingerprint(losses, config) != unit_fingerprint(get_experiment("supervision"), config)
    assert unit_fingerprint(losses, config) != unit_fingerprint(losses, ExperimentConfig(joint_steps=1))


@pytest.mark.slow
def test_truth_hash_sees_the_scenes_not_the_evidence(tmp_path: Path) -> None:
    def make(name: str, observation: str, seed: int) -> Path:
        return generate(tmp_path / name, SynthConfig(categories=("basketball",), train=2, test=2, seed=seed,
                                                     image_size=32, observation=observation))

    a, b, c = make("a", "clean", 0), make("b", "hard", 0), make("c", "clean", 1)
    assert truth_hash(a, "basketball") == truth_hash(b, "basketball")
    assert truth_hash(a, "basketball") != truth_hash(c, "basketball")
