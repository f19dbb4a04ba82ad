"""Datasets: typed samples, the on-disk format, validation, readers and the synthetic generator."""

from hoirecon.data.check import Problem, check_dataset
from hoirecon.data.dataset import Dataset, load_dataset
from hoirecon.data.format import FORMAT_VERSION, DatasetFormatError
from hoirecon.data.sample import Estimate, GroundTruth, Sample

__all__ = [
    "FORMAT_VERSION",
    "Dataset",
    "DatasetFormatError",
    "Estimate",
    "GroundTruth",
    "Problem",
    "Sample",
    "check_dataset",
    "load_dataset",
]
