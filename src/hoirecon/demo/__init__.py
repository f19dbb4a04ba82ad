"""The end-to-end demo: synthetic data, priors, occlusion maps, fits of every preset, evaluation, report."""

from hoirecon.demo.run import run_demo
from hoirecon.demo.stages import DemoConfig, DemoOutputs

__all__ = ["DemoConfig", "DemoOutputs", "run_demo"]
