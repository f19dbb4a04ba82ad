"""Named experiments (the paper's tables): data, priors, fits and scores over seeds and categories, with reports."""

from hoirecon.experiments.config import TUNE_SEED_BASE, ExperimentConfig
from hoirecon.experiments.registry import EXPERIMENTS, Experiment, get_experiment
from hoirecon.experiments.run import ExperimentResult, rebuild_report, run_experiment
from hoirecon.experiments.tune import TuneGrid, run_tuning
from hoirecon.experiments.variants import Arm

__all__ = ["EXPERIMENTS", "TUNE_SEED_BASE", "Arm", "Experiment", "ExperimentConfig", "ExperimentResult", "TuneGrid",
           "get_experiment", "rebuild_report", "run_experiment", "run_tuning"]
