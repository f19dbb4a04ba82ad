"""Out-of-core NN-descent grouping: recall against exact search, resume after an interruption, job changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hoirecon.prior.grouping.knn import GroupingConfig, recall_at_k
from hoirecon.prior.grouping.outofcore import STATE, group_images_outofcore, write_flat
from hoirecon.prior.grouping.search import exact_knn
from hoirecon.prior.synthetic import synthetic_interactions

CONFIG = GroupingConfig(k=8, max_distance=None)


class Interrupt(Exception):
    """Stands in for the process being killed."""


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = synthetic_interactions(1500, object_keypoints=2, n_clusters=30, jitter=0.03, pixel_noise=0.002, seed=1)
    path = tmp_path_factory.mktemp("ooc") / "x25d.npy"
    np.save(path, data.x25d.numpy())
    return path


def test_recall_against_exact_search(rows: Path, tmp_path: Path) -> None:
    grouping = group_images_outofcore(rows, CONFIG, tmp_path / "work", block=400)
    exact, _ = exact_knn(torch.from_numpy(np.load(rows)), CONFIG.k)
    assert recall_at_k(grouping.neighbours, exact) >= 0.9
    n = len(grouping)
    assert not (grouping.neighbours == np.arange(n)[:, None]).any()
    d = grouping.distances
    assert (d[:, 1:] >= d[:, :-1]).all() and grouping.stats["method"] == "nndescent-outofcore"


def test_resumes_after_an_interruption_with_the_same_result(rows: Path, tmp_path: Path) -> None:
    reference = group_images_outofcore(rows, CONFIG, tmp_path / "a", block=400)

    def stop_after_round_2(done: int, total: int) -> None:
        if done == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        group_images_outofcore(rows, CONFIG, tmp_path / "b", block=400, callback=stop_after_round_2)
    assert int(np.load(tmp_path / "b" / STATE)["rounds"]) == 2
    rounds: list[int] = []
    resumed = group_images_outofcore(rows, CONFIG, tmp_path / "b", block=400, callback=lambda d, t: rounds.append(d))
    assert rounds and rounds[0] == 3
    assert (resumed.neighbours == reference.neighbours).all()


def test_another_job_starts_over(rows: Path, tmp_path: Path) -> None:
    group_images_outofcore(rows, CONFIG, tmp_path / "w", block=400)
    other = np.load(rows)[:700]
    rounds: list[int] = []
    grouping = group_images_outofcore(other, CONFIG, tmp_path / "w", block=400, callback=lambda d, t: rounds.append(d))
    assert len(grouping) == 700 and rounds[0] == 1


def test_flat_rows_are_unit_rays_and_centres(rows: Path, tmp_path: Path) -> None:
    x = np.load(rows)
    flat = write_flat(x, tmp_path / "flat.npy", 333).reshape(len(x), -1, 3)
    assert np.allclose(np.linalg.norm(flat[:, :-1], axis=-1), 1.0, atol=1e-5)
    assert np.allclose(flat[:, -1], x[:, -1], atol=1e-6)


@pytest.mark.parametrize(("config", "block", "match"), [
    (GroupingConfig(score="reference"), 100, "'distance' only"),
    (CONFIG, 0, "block"),
])
def test_bad_settings_are_refused(rows: Path, tmp_path: Path, config: GroupingConfig, block: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        group_images_outofcore(rows, config, tmp_path / "x", block=block)
