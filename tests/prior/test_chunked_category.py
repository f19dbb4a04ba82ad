"""Out-of-core grouping of a dataset category: the streamed row files, equality with the
in-memory path (quality numbers included) and the ``hoirecon group --chunk-size`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data.synthetic.estimators import EstimatorNoise
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.prior.category import group_category
from hoirecon.prior.chunked_category import RowFile
from hoirecon.prior.grouping.knn import Grouping, GroupingConfig


def assert_same(chunked: Grouping, exact: Grouping) -> None:
    """Bit-identical neighbours, distances and weights."""
    for name in ("neighbours", "distances", "weights"):
        assert torch.equal(getattr(chunked, name), getattr(exact, name)), name


def test_row_file_refuses_a_short_or_misshapen_write(tmp_path: Path) -> None:
    short = RowFile(tmp_path / "a.npy", 4)
    short.append(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="got 3 rows, expected 4"):
        short.close()
    wrong = RowFile(tmp_path / "b.npy", 4)
    wrong.append(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        wrong.append(np.zeros((2, 3), np.float32))
    wrong.discard()
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clean = EstimatorNoise(keypoint_px=0.0, object_keypoint_px=0.0)
    config = SynthConfig(categories=("basketball",), train=24, test=2, seed=4, image_size=64, noise=clean)
    return generate(tmp_path_factory.mktemp("chunked") / "ds", config)


def test_group_category_chunked_equals_in_memory(dataset: Path, tmp_path: Path) -> None:
    config = GroupingConfig(k=4, method="exact")
    exact, exact_quality = group_category(dataset, "basketball", config)
    out = tmp_path / "groups.npz"
    work = Path(str(out) + ".work")
    work.mkdir()
    (work / ".x25d.npy.123.tmp.npy").write_bytes(b"left by a killed run")
    grouping, quality = group_category(dataset, "basketball", config, out, chunk_size=5)
    assert_same(grouping, exact)
    assert quality == exact_quality and quality is not None
    assert_same(Grouping.load(out), exact)
    assert not work.exists()                                  # work files go once the result is written
    assert_same(group_category(dataset, "basketball", config, chunk_size=7)[0], exact)


def test_cli_group_with_chunk_size(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "g.npz"
    runner = CliRunner()
    result = runner.invoke(app, ["group", "--data", str(dataset), "--category", "basketball", "--k", "4",
                                 "--method", "exact", "--chunk-size", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "exact-chunked" in result.output
    exact, _ = group_category(dataset, "basketball", GroupingConfig(k=4, method="exact"))
    assert_same(Grouping.load(out), exact)
    for args, message in ((["--chunk-size", "0"], "greater than or equal to 1"),
                          (["--chunk-size", "5", "--method", "nndescent"], "the chunked search is exact")):
        bad = runner.invoke(app, ["group", "--data", str(dataset), "--category", "basketball", *args],
                            env={"COLUMNS": "200"})
        assert bad.exit_code == 2 and message in bad.output, bad.output
