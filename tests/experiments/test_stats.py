import numpy as np
import pytest

from hoirecon.experiments.stats import finite, paired_difference, summarise


def test_summary_matches_numpy_and_interval_brackets_the_estimate() -> None:
    values = np.random.default_rng(1).gamma(2.0, 10.0, 200)
    s = summarise(values, resamples=500)
    assert s.n == 200
    assert s.mean.value == pytest.approx(values.mean())
    assert s.median.value == pytest.approx(np.median(values))
    assert s.mean.low < s.mean.value < s.mean.high
    assert s.median.low <= s.median.value <= s.median.high
    # the 95% interval of a mean is about +-1.96 standard errors
    se = values.std(ddof=1) / np.sqrt(values.size)
    assert s.mean.high - s.mean.low == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_bootstrap_is_deterministic_and_seeded() -> None:
    values = np.random.default_rng(2).normal(5.0, 1.0, 50)
    assert summarise(values, resamples=300) == summarise(values, resamples=300)
    assert summarise(values, resamples=300, seed=1).mean != summarise(values, resamples=300, seed=2).mean


def test_nan_images_are_left_out() -> None:
    values = np.array([1.0, np.nan, 3.0, np.inf])
    assert finite(values).tolist() == [1.0, 3.0]
    assert summarise(values, resamples=50).n == 2


def test_paired_difference_of_a_shift_is_the_shift_with_no_spread() -> None:
    base = np.random.default_rng(3).gamma(2.0, 10.0, 40)
    d = paired_difference(base - 2.5, base, resamples=200)
    assert d.n == 40
    assert d.mean.value == pytest.approx(-2.5)
    assert d.mean.low == pytest.approx(-2.5) and d.mean.high == pytest.approx(-2.5)
    assert d.better == 1.0


def test_paired_difference_pairs_only_images_scored_in_both() -> None:
    a = np.array([1.0, np.nan, 5.0, 2.0])
    b = np.array([2.0, 1.0, np.nan, 1.0])
    d = paired_difference(a, b, resamples=50)
    assert d.n == 2
    assert d.mean.value == pytest.approx(0.0)
    assert d.better == 0.5


def test_paired_difference_needs_aligned_rows() -> None:
    with pytest.raises(ValueError, match="aligned by image id"):
        paired_difference(np.ones(3), np.ones(4))


def test_nothing_to_measure_gives_nan_and_a_dash() -> None:
    s = summarise(np.array([np.nan]), resamples=10)
    assert s.n == 0 and np.isnan(s.mean.value)
    assert s.mean.text() == "–"
    assert paired_difference(np.array([np.nan]), np.array([1.0])).n == 0
