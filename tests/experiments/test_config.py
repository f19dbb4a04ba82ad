import pytest

from hoirecon.experiments.config import TUNE_SEED_BASE, ExperimentConfig


def test_seed_list_counts_from_the_first_seed() -> None:
    assert ExperimentConfig(seeds=3, first_seed=5).seed_list == (5, 6, 7)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("seeds", 0, "seeds"), ("train", 0, "train"), ("object_steps", -1, "object_steps"),
    ("image_size", 8, "image_size"), ("categories", (), "categories"), ("categories", ("teapot",), "teapot"),
    ("observation", "perfect", "perfect"), ("data", {"seed": 3}, "data"),
])
def test_bad_settings_name_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExperimentConfig(**{field: value})


def test_test_seeds_never_reach_the_tuning_seeds() -> None:
    ExperimentConfig(seeds=2, first_seed=TUNE_SEED_BASE - 2).check_test_seeds()
    with pytest.raises(ValueError, match="below 1000"):
        ExperimentConfig(seeds=2, first_seed=TUNE_SEED_BASE - 1).check_test_seeds()


def test_quick_is_tiny() -> None:
    quick = ExperimentConfig().quick()
    assert quick.seeds == 1 and len(quick.categories) == 1
    assert quick.test <= 4 and quick.object_steps + quick.joint_steps <= 10


def test_fingerprint_follows_what_changes_a_unit_only() -> None:
    base = ExperimentConfig()
    assert base.split_fingerprint() == ExperimentConfig(seeds=5, categories=("violin",), resamples=10).split_fingerprint()
    assert base.split_fingerprint() != ExperimentConfig(train=100).split_fingerprint()
    assert base.split_fingerprint() != ExperimentConfig(data={"shape_std": 0.5}).split_fingerprint()
