"""Out-of-core exact grouping: equal to the in-memory exact search, resumable, strict on input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.prior.grouping.chunked import group_images_chunked
from hoirecon.prior.grouping.knn import Grouping, GroupingConfig, group_images

N = 2200
"""More than one candidate block (2048 rows) and not a multiple of the 64-row query tile."""
CONFIG = GroupingConfig(k=8, method="exact", max_distance=1.0, min_frame_gap=2)


def random_rows(n: int, seed: int = 0) -> torch.Tensor:
    """``(n, 4, 3)``: three random unit rays and a centre a few metres from the origin."""
    g = torch.Generator().manual_seed(seed)
    rays = torch.nn.functional.normalize(torch.randn(n, 3, 3, generator=g), dim=-1)
    return torch.cat([rays, 3 * torch.randn(n, 1, 3, generator=g)], dim=1)


def assert_same(chunked: Grouping, exact: Grouping) -> None:
    """Bit-identical arrays and the same summary numbers (not the method name or the time)."""
    assert torch.equal(chunked.neighbours, exact.neighbours)
    assert torch.equal(chunked.distances, exact.distances)
    assert torch.equal(chunked.weights, exact.weights)
    skip = {"method", "seconds"}
    assert {k: v for k, v in chunked.stats.items() if k in exact.stats and k not in skip} == \
        {k: v for k, v in exact.stats.items() if k not in skip}


@pytest.fixture(scope="module")
def rows() -> torch.Tensor:
    return random_rows(N)


@pytest.fixture(scope="module")
def ids() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.arange(N) // 50, torch.arange(N) % 50      # 44 videos of 50 frames


@pytest.fixture(scope="module")
def in_memory(rows: torch.Tensor, ids: tuple[torch.Tensor, torch.Tensor]) -> Grouping:
    return group_images(rows, CONFIG, *ids)


@pytest.mark.parametrize("chunk", [1, 700, 2048, 5000])
def test_equals_in_memory_exact_with_exclusions(rows: torch.Tensor, ids: tuple[torch.Tensor, torch.Tensor],
                                               in_memory: Grouping, chunk: int, tmp_path: Path) -> None:
    grouping = group_images_chunked(rows, CONFIG, chunk, tmp_path, *ids)
    assert_same(grouping, in_memory)
    assert grouping.stats["dropped_far"] > 0 and not grouping.valid.all()   # the cut did something
    video, frame = ids
    safe = grouping.neighbours.clamp_min(0)
    adjacent = (video[safe] == video[:, None]) & ((frame[safe] - frame[:, None]).abs() <= 2)
    assert not (adjacent & grouping.valid).any()
    query_block = -(-chunk // 64) * 64                      # rounded up to whole 64-row tiles
    assert grouping.stats["blocks"] == -(-N // query_block)


def test_ties_across_blocks_resolve_as_in_memory(tmp_path: Path) -> None:
    half = random_rows(N // 2, seed=1)
    twins = torch.cat([half, half])               # every row twice: one in each candidate block
    config = dataclasses.replace(CONFIG, duplicate_distance=0.0, max_distance=None)
    exact = group_images(twins, config)
    grouping = group_images_chunked(twins, config, 700, tmp_path)
    assert_same(grouping, exact)
    d = grouping.distances
    assert (d[:, 1:] == d[:, :-1]).float().mean() > 0.4      # ties everywhere


def test_npy_file_float64_and_no_ids(tmp_path: Path) -> None:
    x = random_rows(300, seed=2).double()
    np.save(tmp_path / "x.npy", x.numpy())
    exact = group_images(x, dataclasses.replace(CONFIG, max_distance=0.5))
    grouping = group_images_chunked(tmp_path / "x.npy", dataclasses.replace(CONFIG, max_distance=0.5), 100,
                                    tmp_path / "work")
    assert_same(grouping, exact)
    assert grouping.stats["method"] == "exact-chunked" and grouping.stats["blocks"] == 3


def test_k_beyond_n_and_empty_input(tmp_path: Path) -> None:
    x = random_rows(5, seed=3)
    config = GroupingConfig(k=8, method="exact", max_distance=None)
    assert_same(group_images_chunked(x, config, 2, tmp_path), group_images(x, config))
    empty = group_images_chunked(torch.empty(0, 4, 3), config, 2, tmp_path / "empty")
    assert len(empty) == 0 and empty.neighbours.shape == (0, 8)


class Killed(RuntimeError):
    pass


def kill_after(blocks: int):
    calls = []

    def callback(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == blocks:
            raise Killed(f"stopped after {done} of {total} rows")
    return callback


def test_resumes_after_a_kill_without_recomputing(tmp_path: Path) -> None:
    x = random_rows(500, seed=4)
    config = dataclasses.replace(CONFIG, max_distance=0.8)
    exact = group_images(x, config)
    with pytest.raises(Killed):
        group_images_chunked(x, config, 128, tmp_path, callback=kill_after(2))
    parts = sorted(tmp_path.glob("part-*.npz"))
    assert len(parts) == 2
    stamps = [p.stat().st_mtime_ns for p in parts]
    grouping = group_images_chunked(x, config, 128, tmp_path)
    assert grouping.stats["computed_blocks"] == 2 and grouping.stats["blocks"] == 4
    assert [p.stat().st_mtime_ns for p in parts] == stamps
    assert_same(grouping, exact)
    parts[1].unlink()                                          # a lost part is recomputed alone
    parts[0].write_bytes(b"truncated")                         # and so is a damaged one
    again = group_images_chunked(x, config, 128, tmp_path)
    assert again.stats["computed_blocks"] == 2
    assert_same(again, exact)


def test_parts_of_another_job_are_not_reused(tmp_path: Path) -> None:
    x = random_rows(300, seed=5)
    group_images_chunked(x, CONFIG, 100, tmp_path)
    other = dataclasses.replace(CONFIG, k=4)
    grouping = group_images_chunked(x, other, 100, tmp_path)
    assert grouping.stats["computed_blocks"] == 3
    assert_same(grouping, group_images(x, other))
    x[7, 0] += 0.1                                             # different rows, same shape
    assert group_images_chunked(x, other, 100, tmp_path).stats["computed_blocks"] == 3


def test_bad_inputs_name_what_is_wrong(tmp_path: Path) -> None:
    x = random_rows(50, seed=6)
    bad = x.clone()
    bad[17, 2, 1] = float("nan")
    with pytest.raises(ValueError, match="row 17 contains NaN"):
        group_images_chunked(bad, CONFIG, 10, tmp_path)
    np.save(tmp_path / "bad.npy", bad.numpy())
    with pytest.raises(ValueError, match=r"bad\.npy: row 17"):
        group_images_chunked(tmp_path / "bad.npy", CONFIG, 10, tmp_path)
    with pytest.raises(ValueError, match="no file"):
        group_images_chunked(tmp_path / "missing.npy", CONFIG, 10, tmp_path)
    (tmp_path / "junk.npy").write_bytes(b"not an array")
    with pytest.raises(ValueError, match="junk.npy: not a readable"):
        group_images_chunked(tmp_path / "junk.npy", CONFIG, 10, tmp_path)
    for shape in [(50, 4), (50, 4, 2), (50, 1, 3)]:
        with pytest.raises(ValueError, match=r"expected a float array \(N, K \+ 1, 3\)"):
            group_images_chunked(torch.zeros(shape), CONFIG, 10, tmp_path)
    with pytest.raises(ValueError, match="expected a float array"):
        group_images_chunked(np.zeros((50, 4, 3), dtype=np.int64), CONFIG, 10, tmp_path)
    for chunk in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="chunk_size: expected an integer >= 1"):
            group_images_chunked(x, CONFIG, chunk, tmp_path)
    with pytest.raises(ValueError, match="video, frame"):
        group_images_chunked(x, CONFIG, 10, tmp_path, video=torch.zeros(50, dtype=torch.long))
    with pytest.raises(ValueError, match=r"frame: expected integer ids of shape \(50,\)"):
        group_images_chunked(x, CONFIG, 10, tmp_path, torch.zeros(50, dtype=torch.long), torch.zeros(49))
    with pytest.raises(ValueError, match="method"):
        group_images_chunked(x, dataclasses.replace(CONFIG, method="nndescent"), 10, tmp_path)
    with pytest.raises(ValueError, match="score"):
        group_images_chunked(x, dataclasses.replace(CONFIG, score="reference"), 10, tmp_path)
