"""Occlusion-map files: a round trip keeps every field, and a file for another category, body
or template, a truncated array or a missing key is refused with the file and key named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hoirecon.io.occlusion_files import (
    DEFAULT_ETA,
    OcclusionMaps,
    SkippedSample,
    load_occlusion_maps,
    save_occlusion_maps,
)


@pytest.fixture
def maps() -> OcclusionMaps:
    rng = np.random.default_rng(0)
    return OcclusionMaps("baseball_bat", rng.uniform(size=40), rng.uniform(size=12), image_ids=["a", "b"],
                         skipped=[SkippedSample("c", "object mask not found")])


def test_maps_file_round_trips(tmp_path: Path, maps: OcclusionMaps) -> None:
    path = save_occlusion_maps(tmp_path / "maps" / "baseball_bat.npz", maps)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    back = load_occlusion_maps(path, category="baseball_bat", body_vertex_count=40, template_vertex_count=12)
    np.testing.assert_array_equal(back.mean_human, maps.mean_human)
    np.testing.assert_array_equal(back.mean_object, maps.mean_object)
    assert back.image_ids == ["a", "b"] and back.eta == DEFAULT_ETA
    assert back.skipped == maps.skipped and back.num_images == 2


def test_maps_file_refuses_a_mismatch(tmp_path: Path, maps: OcclusionMaps) -> None:
    path = save_occlusion_maps(tmp_path / "maps.npz", maps)
    with pytest.raises(ValueError, match="body_vertex_count"):
        load_occlusion_maps(path, body_vertex_count=6890)
    with pytest.raises(ValueError, match="template_vertex_count"):
        load_occlusion_maps(path, template_vertex_count=13)
    with pytest.raises(ValueError, match="category"):
        load_occlusion_maps(path, category="violin")
    with np.load(path) as npz:
        cols = {k: npz[k] for k in npz.files}
    np.savez(tmp_path / "short.npz", **dict(cols, mean_object=cols["mean_object"][:-1]))
    with pytest.raises(ValueError, match="short.npz.*mean_object"):
        load_occlusion_maps(tmp_path / "short.npz")
    np.savez(tmp_path / "nokey.npz", **{k: v for k, v in cols.items() if k != "eta"})
    with pytest.raises(ValueError, match="nokey.npz.*eta"):
        load_occlusion_maps(tmp_path / "nokey.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_occlusion_maps(tmp_path / "junk.npz")
