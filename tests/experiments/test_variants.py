import pytest

from hoirecon.data.synthetic.observation import get_observation
from hoirecon.experiments.config import ExperimentConfig
from hoirecon.experiments.variants import PRIOR_VARIANTS, Arm, fit_config, observation_for, synth_config, train_config
from hoirecon.fitting.optimize import get_preset
from hoirecon.prior.training_set import SUPERVISIONS


def test_labels_make_the_object_evidence_exact_and_keep_the_body_estimated() -> None:
    base = get_observation("hard")
    labels = observation_for("labels", "hard")
    assert labels.object.noise == 0 and labels.object.occluded_drop == 0 and labels.object.flip_rate == 0
    assert max(labels.object.gross_rate) == 0 and max(labels.object.swap_rate) == 0
    assert labels.corr.px == 0 and labels.corr.outliers == 0 and labels.corr.count == base.corr.count
    assert labels.body == base.body and labels.hmr == base.hmr and labels.masks == base.masks
    assert observation_for("estimated", "hard") == base
    with pytest.raises(ValueError, match="unknown data variant"):
        observation_for("oracle", "hard")


def test_synth_config_passes_the_data_fields_through() -> None:
    config = ExperimentConfig(train=10, test=2, observation="clean", data={"shape_std": 0.3})
    synth = synth_config(config, "estimated", 7, "violin")
    assert synth.categories == ("violin",) and synth.seed == 7 and synth.train == 10 and synth.test == 2
    assert synth.shape_std == 0.3 and synth.resolved_observation().name == "clean"
    with pytest.raises(ValueError, match="bogus"):
        synth_config(ExperimentConfig(data={"bogus": 1}), "estimated", 0, "violin")


def test_prior_variants_set_the_training_modes() -> None:
    config = ExperimentConfig(prior_epochs=3, prior_depth=2, prior_width=16)
    modes = {v: train_config(config, v, 4) for v in PRIOR_VARIANTS}
    assert {m.supervision for m in modes.values()} == set(SUPERVISIONS)
    assert modes["2d-knn-no-neighbours"].neighbours_per_step == 0
    assert modes["2d-knn-unconditional"].encoder.name == "none"
    assert modes["2d-knn-image"].encoder.name == "efficientnet-lite0"
    assert modes["2d-knn"].encoder.name == "keypoints" and modes["2d-knn"].neighbours_per_step > 0
    assert all(m.epochs == 3 and m.flow.depth == 2 and m.flow.width == 16 and m.seed == 4 for m in modes.values())


def test_fit_config_of_a_row() -> None:
    config = ExperimentConfig(object_steps=7, joint_steps=3)
    init = fit_config(Arm("init", "init"), config)
    assert init.object_steps == 0 and init.joint_steps == 0 and init.weights.prior == 0
    plain = fit_config(Arm("p", "prior+contact"), config)
    assert plain.object_steps == 7 and plain.weights == get_preset("prior+contact").weights
    tuned = fit_config(Arm("t", "prior+contact", weights=(("contact", 0.5),)), config)
    assert tuned.weights.contact == 0.5 and tuned.weights.prior == get_preset("prior+contact").weights.prior


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"preset": "magic"}, "magic"), ({"preset": "none", "data": "x"}, "data variant"),
    ({"preset": "none", "prior": "4d"}, "prior variant"), ({"preset": "none", "weights": (("spin", 1.0),)}, "spin"),
])
def test_bad_rows_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Arm("row", **kwargs)
