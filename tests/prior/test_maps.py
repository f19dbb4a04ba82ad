"""Mean occlusion maps inside prior files: round trip, older files, malformed entries, checks."""

from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.io.occlusion_files import OcclusionMaps
from hoirecon.prior import EncoderConfig, FlowConfig, KeypointLayout, Prior, load_prior
from hoirecon.prior.maps import MissingOcclusionMaps, check_maps, maps_from_dict, maps_to_dict
from hoirecon.prior.prior import add_occlusion_maps


def _maps(category: str = "basketball", body: int = 50, obj: int = 20) -> OcclusionMaps:
    rng = np.random.default_rng(3)
    human = np.where(rng.random(body) < 0.2, rng.random(body), 0.0)
    return OcclusionMaps(category, human, np.where(rng.random(obj) < 0.5, 0.25, 0.0), eta=0.1, dilation=0.04,
                         image_ids=["a", "b", "c"], provenance={"dataset": {"hash": "abc"}})


def _prior() -> Prior:
    return Prior(FlowConfig(depth=1, width=8), EncoderConfig(features=8, width=8), KeypointLayout.for_object(1))


def test_maps_round_trip_through_plain_data_sparsely() -> None:
    maps = _maps()
    data = maps_to_dict(maps)
    assert len(data["mean_human"]["ids"]) == np.count_nonzero(maps.mean_human) < len(maps.mean_human)
    back = maps_from_dict(data)
    np.testing.assert_allclose(back.mean_human, maps.mean_human, atol=1e-7)
    np.testing.assert_allclose(back.mean_object, maps.mean_object, atol=1e-7)
    assert (back.category, back.eta, back.dilation, back.num_images) == ("basketball", 0.1, 0.04, 3)
    assert back.provenance == maps.provenance


def test_a_prior_file_carries_its_maps_and_older_files_load_without(tmp_path: Path) -> None:
    prior = _prior()
    prior.save(tmp_path / "old.pt")
    old = torch.load(tmp_path / "old.pt", weights_only=True)
    del old["occlusion"]  # a file written before priors carried maps
    torch.save(old, tmp_path / "older.pt")
    assert load_prior(tmp_path / "older.pt").occlusion is None
    add_occlusion_maps(tmp_path / "older.pt", _maps())
    loaded = load_prior(tmp_path / "older.pt")
    np.testing.assert_allclose(loaded.occlusion.mean_human, _maps().mean_human, atol=1e-7)
    assert torch.load(tmp_path / "older.pt", weights_only=True)["format"] == "hoirecon-prior"


def test_maps_of_another_category_are_refused(tmp_path: Path) -> None:
    _prior().save(tmp_path / "p.pt", {"provenance": {"category": "yoga_ball"}})
    with pytest.raises(ValueError, match="category 'yoga_ball'.*'basketball'"):
        add_occlusion_maps(tmp_path / "p.pt", _maps())


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.pop("eta"), "missing key"),
    (lambda d: d["mean_human"].update(values=d["mean_human"]["values"] * 5), r"outside \[0, 1\]"),
    (lambda d: d["mean_object"].update(count=3), "do not describe a map"),
    (lambda d: d.update(mean_human=[1, 2]), "expected a dict"),
    (lambda d: d.update(provenance="{not json"), "not valid JSON"),
])
def test_malformed_maps_are_named(edit, message: str) -> None:  # noqa: ANN001
    data = maps_to_dict(_maps())
    edit(data)
    with pytest.raises(ValueError, match=message):
        maps_from_dict(data)


def test_a_malformed_entry_in_a_prior_file_names_the_file(tmp_path: Path) -> None:
    prior = _prior()
    prior.occlusion = _maps()
    data = prior.to_file_dict()
    data["occlusion"]["mean_object"]["ids"] = torch.tensor([99])
    data["occlusion"]["mean_object"]["values"] = torch.tensor([0.5])
    torch.save(data, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=r"bad\.pt: occlusion\.mean_object"):
        load_prior(tmp_path / "bad.pt")


def test_check_maps_says_what_is_missing_and_how_to_add_it() -> None:
    with pytest.raises(MissingOcclusionMaps, match="p.pt: the prior file holds no occlusion maps.*hoirecon occlusion"):
        check_maps(None, "p.pt")
    maps = _maps()
    assert check_maps(maps, "p.pt", "basketball", 50, 20) is maps
    with pytest.raises(MissingOcclusionMaps, match="body vertices 50.*70"):
        check_maps(maps, "p.pt", body_vertex_count=70)
    with pytest.raises(MissingOcclusionMaps, match="template vertices"):
        check_maps(maps, "p.pt", template_vertex_count=21)
    with pytest.raises(MissingOcclusionMaps, match="category"):
        check_maps(maps, "p.pt", "yoga_ball")


def test_a_gzipped_prior_file_loads(tmp_path: Path) -> None:
    import gzip

    prior = _prior()
    prior.save(tmp_path / "p.pt")
    (tmp_path / "p.pt.gz").write_bytes(gzip.compress((tmp_path / "p.pt").read_bytes()))
    loaded = load_prior(tmp_path / "p.pt.gz")
    for key, value in prior.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    (tmp_path / "bad.pt.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match=r"bad\.pt\.gz: not a readable prior file"):
        load_prior(tmp_path / "bad.pt.gz")
