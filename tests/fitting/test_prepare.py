"""The batch preparation of a fit and its background prefetcher."""

from __future__ import annotations

import threading

import pytest

from hoirecon.fitting import prepare
from hoirecon.fitting.prepare import Prefetcher


def test_prefetcher_prepares_each_unfinished_batch_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def fake(ctx: object, samples: list[str]) -> str:
        calls.append((samples[0], threading.current_thread().name))
        return f"prepared {samples[0]}"

    monkeypatch.setattr(prepare, "prepare_samples", fake)
    batches = [["a"], ["b"], ["c"], ["d"]]
    ahead = Prefetcher(object(), batches, todo=[0, 2, 3])       # batch 1 is finished already
    try:
        assert ahead.take(0) == "prepared a"
        assert ahead.take(2) == "prepared c"
        assert ahead.take(3) == "prepared d"
    finally:
        ahead.close()
    assert [name for name, _ in calls] == ["a", "c", "d"]
    assert all(thread.startswith("hoirecon-prepare") for _, thread in calls)


def test_a_failed_preparation_surfaces_when_its_batch_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(ctx: object, samples: list[str]) -> str:
        if samples[0] == "b":
            raise ValueError("b: keypoints_2d contains NaN or inf")
        return samples[0]

    monkeypatch.setattr(prepare, "prepare_samples", fake)
    ahead = Prefetcher(object(), [["a"], ["b"]], todo=[0, 1])
    try:
        assert ahead.take(0) == "a"
        with pytest.raises(ValueError, match="b: keypoints_2d"):
            ahead.take(1)
    finally:
        ahead.close()
