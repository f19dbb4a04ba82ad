"""Statistics of per-image errors: means, medians, percentile-bootstrap intervals and paired differences.

Intervals come from a percentile bootstrap over images: ``resamples`` draws of the images with
replacement from a generator with a fixed seed, so the same errors always give the same
interval. Paired differences compare two rows of an experiment on the images both scored
(paired by image id), which removes the between-image spread that dominates the errors.
Written with numpy alone: the statistics are a few lines and scipy's ``bootstrap`` does not
keep one resampling of the images for the mean and the median together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
"""Bootstrap resamples of the images."""
LEVEL = 0.95
"""Coverage of the intervals."""
SEED = 0
"""Seed of the bootstrap generator."""


@dataclass(frozen=True)
class Estimate:
    """A statistic of some images with its bootstrap interval."""

    value: float
    low: float
    high: float

    def text(self, digits: int = 1) -> str:
        """``12.3 [10.1, 14.0]``; a dash when there was nothing to measure."""
        if not np.isfinite(self.value):
            return "–"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


NAN_ESTIMATE = Estimate(float("nan"), float("nan"), float("nan"))


@dataclass(frozen=True)
class Summary:
    """Mean and median of one row's per-image errors, with intervals."""

    n: int
    """Images scored."""
    mean: Estimate
    median: Estimate


@dataclass(frozen=True)
class PairedDifference:
    """A row minus a reference row, on the images both scored."""

    n: int
    """Images scored in both rows."""
    mean: Estimate
    """Mean of the per-image differences (negative: the row has the smaller errors)."""
    median: Estimate
    """Median of the per-image differences."""
    better: float
    """Share of those images where the row's error is the smaller one."""


def _resample_index(n: int, resamples: int, seed: int) -> np.ndarray:
    """``(resamples, n)`` image indices drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _interval(values: np.ndarray, statistic, resamples: int, seed: int, level: float) -> Estimate:
    """``statistic`` of ``values (N,)`` and its percentile-bootstrap interval."""
    if values.size == 0:
        return NAN_ESTIMATE
    boot = statistic(values[_resample_index(values.size, resamples, seed)], axis=1)
    tail = 50.0 * (1.0 - level)
    low, high = np.percentile(boot, [tail, 100.0 - tail])
    return Estimate(float(statistic(values)), float(low), float(high))


def finite(values: np.ndarray) -> np.ndarray:
    """The finite entries of ``values (N,)`` (NaN marks an image without a usable fit)."""
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def summarise(values: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> Summary:
    """Mean and median of the finite entries of ``values (N,)`` with bootstrap intervals."""
    kept = finite(values)
    return Summary(int(kept.size), _interval(kept, np.mean, resamples, seed, level),
                   _interval(kept, np.median, resamples, seed, level))


def paired_difference(values: np.ndarray, reference: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED,
                      level: float = LEVEL) -> PairedDifference:
    """``values - reference`` per image ``(N,)`` each, same image order, on the images finite in both."""
    values, reference = np.asarray(values, dtype=float), np.asarray(reference, dtype=float)
    if values.shape != reference.shape:
        raise ValueError(f"paired difference: the rows have {values.shape} and {reference.shape} images; "
                         "they must be aligned by image id")
    both = np.isfinite(values) & np.isfinite(reference)
    diff = values[both] - reference[both]
    better = float(np.mean(diff < 0)) if diff.size else float("nan")
    return PairedDifference(int(diff.size), _interval(diff, np.mean, resamples, seed, level),
                            _interval(diff, np.median, resamples, seed, level), better)
