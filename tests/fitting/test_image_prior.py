"""Which prior and occlusion maps the fit of one photo uses, and what the record says."""

from pathlib import Path

import numpy as np
import pytest

from hoirecon.fitting import image_prior
from hoirecon.fitting.image_prior import PriorRequest, choose_prior, prior_source
from hoirecon.fitting.optimize import get_preset
from hoirecon.io.occlusion_files import OcclusionMaps
from hoirecon.prior import EncoderConfig, FlowConfig, KeypointLayout, Prior
from hoirecon.prior.maps import MissingOcclusionMaps

BODY_V, OBJ_V = 40, 12


def _prior(path: Path, keypoints: int = 2, maps: bool = True) -> Path:
    prior = Prior(FlowConfig(depth=1, width=8), EncoderConfig(features=8, width=8), KeypointLayout.for_object(keypoints))
    if maps:
        prior.occlusion = OcclusionMaps("baseball_bat", np.full(BODY_V, 0.3), np.full(OBJ_V, 0.2), image_ids=["a"])
    prior.save(path)
    return path


def _request(prior: Path | None = None, builtin: bool = True, keypoints: int = 2) -> PriorRequest:
    return PriorRequest("baseball_bat", prior, builtin, keypoints, BODY_V, OBJ_V)


@pytest.fixture
def default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the shipped default prior of the bat."""
    path = _prior(tmp_path / "default.pt")
    monkeypatch.setattr(image_prior, "default_prior_path", lambda category: path if category == "baseball_bat" else None)
    monkeypatch.setattr(image_prior, "default_prior_record", lambda category: {"epochs": 3})
    return path


def test_a_given_file_comes_before_the_default(default: Path, tmp_path: Path) -> None:
    mine = _prior(tmp_path / "mine.pt")
    assert prior_source(_request(mine)) == (mine, "file")
    assert prior_source(_request()) == (default, "default")
    assert prior_source(_request(builtin=False)) == (None, None)  # a user's mesh: no default fits it


def test_without_prior_the_default_is_used_and_recorded(default: Path) -> None:
    chosen = choose_prior(get_preset("prior"), _request())
    assert chosen.prior is not None and chosen.occlusion is None and chosen.config.name == "prior"
    assert chosen.record["source"] == "default" and chosen.record["path"] == str(default)
    assert chosen.record["used_for"] == ["prior"] and chosen.record["trained"] == {"epochs": 3}
    assert "default prior" in chosen.label and "your own 2D images" in chosen.record["note"]


def test_prior_and_contact_read_the_maps_in_the_prior_file(default: Path) -> None:
    chosen = choose_prior(get_preset("prior+contact"), _request())
    assert chosen.prior is not None and chosen.occlusion.mean_human.shape == (BODY_V,)
    assert chosen.record["used_for"] == ["prior", "contact"] and chosen.record["occlusion_maps"]["images"] == 1
    contact_only = choose_prior(get_preset("contact"), _request())
    assert contact_only.prior is None and contact_only.occlusion is not None


def test_an_older_prior_without_maps_is_refused_for_contact_only(tmp_path: Path, default: Path) -> None:
    old = _prior(tmp_path / "old.pt", maps=False)
    assert choose_prior(get_preset("prior"), _request(old)).prior is not None  # fine without contact
    with pytest.raises(MissingOcclusionMaps, match="old.pt: the prior file holds no occlusion maps"):
        choose_prior(get_preset("prior+contact"), _request(old))


def test_maps_of_another_body_or_template_are_refused(default: Path) -> None:
    with pytest.raises(MissingOcclusionMaps, match="body vertices"):
        choose_prior(get_preset("contact"), PriorRequest("baseball_bat", None, True, 2, BODY_V + 1, OBJ_V))


def test_a_prior_of_another_keypoint_count_is_named(tmp_path: Path, default: Path) -> None:
    with pytest.raises(ValueError, match="models 23 keypoints.*24"):
        choose_prior(get_preset("prior"), _request(_prior(tmp_path / "ball.pt", keypoints=1)))


def test_without_any_prior_the_documented_fallback_is_used(default: Path) -> None:
    chosen = choose_prior(get_preset("prior"), _request(builtin=False))
    assert chosen.prior is None and chosen.config.name == "none" and chosen.config.weights.prior == 0
    assert chosen.record == {"source": None, "path": None, "used_for": []} and chosen.label == "none"
    with pytest.raises(ValueError, match="no default prior, pass --prior"):
        choose_prior(get_preset("prior+contact"), _request(builtin=False))


def test_a_preset_without_prior_or_contact_loads_nothing(default: Path) -> None:
    chosen = choose_prior(get_preset("none"), _request())
    assert chosen.prior is None and chosen.occlusion is None and chosen.record["source"] is None
