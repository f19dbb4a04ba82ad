"""The default priors shipped with the package: one per built-in category, each loadable, with the
category's keypoints and occlusion maps, described by the manifest, small in all."""

import hashlib
from pathlib import Path

import pytest

from hoirecon.body import load_body_model
from hoirecon.objects import CATEGORIES, KEYPOINT_COUNTS, get_category_template
from hoirecon.prior.builtin import (
    DEFAULTS_FOLDER,
    default_prior_path,
    default_prior_record,
    default_priors_manifest,
    load_default_prior,
)

MAX_TOTAL_BYTES = 5_000_000


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_built_in_category_has_a_default_prior_with_its_maps(category: str) -> None:
    prior = load_default_prior(category)
    assert prior.n_keypoints == 22 + KEYPOINT_COUNTS[category]
    assert prior.metadata["default_prior"] is True and prior.metadata["provenance"]["category"] == category
    maps = prior.occlusion
    assert maps is not None and maps.category == category and maps.num_images > 0
    assert maps.body_vertex_count == load_body_model().num_vertices
    assert maps.template_vertex_count == len(get_category_template(category).vertices)
    assert maps.mean_human.max() > maps.eta  # some body vertices are contact candidates


def test_the_manifest_describes_every_shipped_file() -> None:
    manifest = default_priors_manifest()
    assert set(manifest["categories"]) == set(CATEGORIES)
    assert manifest["data"]["observation"] == "realistic" and manifest["script"] == "tools/train_default_priors.py"
    for key in ("train_images_per_category", "image_size", "seed"):
        assert key in manifest["data"]
    assert manifest["train"]["epochs"] >= 1 and "flow" in manifest["train"]
    total = 0
    for category, entry in manifest["categories"].items():
        data = default_prior_path(category).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
        total += len(data)
    assert total < MAX_TOTAL_BYTES
    record = default_prior_record("basketball")
    assert record["file"] == "basketball.pt.gz" and record["data"] == manifest["data"]


def test_no_default_for_an_unknown_category(tmp_path: Path) -> None:
    assert default_prior_path("surfboard") is None and default_prior_record("surfboard") == {}
    with pytest.raises(ValueError, match="'surfboard': no default prior ships.*--prior"):
        load_default_prior("surfboard")
    assert default_priors_manifest(tmp_path) == {}
    with pytest.raises(ValueError, match="shipped: none"):
        load_default_prior("basketball", tmp_path)


def test_the_defaults_are_package_data() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert "prior/defaults/*" in pyproject
    assert DEFAULTS_FOLDER.name == "defaults" and DEFAULTS_FOLDER.parent.name == "prior"
