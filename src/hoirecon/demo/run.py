"""``hoirecon demo``: the whole paper end to end on embedded defaults, with a report."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.demo.build_report import write_outputs
from hoirecon.demo.stages import DemoConfig, DemoOutputs, Stage
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.io.lock import FOLDER_LOCK_NAME
from hoirecon.io.occlusion_files import save_occlusion_maps
from hoirecon.prior import FlowConfig, TrainConfig
from hoirecon.prior.category import train_category

log = logging.getLogger(__name__)
Status = Callable[[str], None]
"""Callback told the name of each stage as it starts."""


def synth_config(config: DemoConfig) -> SynthConfig:
    """The data the demo generates."""
    return SynthConfig(categories=config.categories, train=config.train, test=config.test, seed=config.seed,
                       image_size=config.image_size, workers=config.workers, observation=config.observation)


def _train_config(config: DemoConfig) -> TrainConfig:
    return TrainConfig(epochs=config.prior_epochs, batch_size=64, lr=1e-3, seed=config.seed,
                       flow=replace(FlowConfig(), depth=config.prior_depth, width=config.prior_width))


def _priors(out: DemoOutputs, config: DemoConfig, synth_fp: str, status: Status) -> None:
    train = _train_config(config)
    for category in config.categories:
        path = out.out / "priors" / f"{category}.pt"
        stage = Stage(f"prior {category}", out.out / "stages", {"data": synth_fp, "train": asdict(train)}, out.timings)
        status(stage.name)
        stage.run(lambda: train_category(out.data, category, path, train))
        out.priors[category] = path


def _occlusion(out: DemoOutputs, config: DemoConfig, synth_fp: str, status: Status) -> None:
    for category in config.categories:
        path = out.out / "occlusion" / f"{category}.npz"
        stage = Stage(f"occlusion {category}", out.out / "stages", {"data": synth_fp}, out.timings)
        status(stage.name)
        stage.run(lambda: save_occlusion_maps(path, compute_occlusion_maps(load_dataset(out.data), category)))
        out.occlusion[category] = path


def _fits(out: DemoOutputs, config: DemoConfig, synth_fp: str, status: Status) -> None:
    for preset in config.presets:
        folder = out.out / "fits" / preset
        fit_config = get_preset(preset, object_steps=config.object_steps, joint_steps=config.joint_steps)
        for category in config.categories:
            prior = out.priors[category] if fit_config.weights.prior > 0 else None
            stage = Stage(f"fit {preset} {category}", out.out / "stages",
                          {"data": synth_fp, "fit": asdict(fit_config), "prior": str(prior)}, out.timings)
            status(stage.name)
            # a stage reruns when its inputs changed: the new fits replace the old ones (recorded)
            stage.run(lambda: fit_dataset(out.data, category, "test", fit_config, folder, prior,
                                          out.occlusion[category], force=True))
        out.fits[preset] = folder


def run_demo(out: str | Path, config: DemoConfig = DemoConfig(), fresh: bool = False,
             status: Status | None = None) -> DemoOutputs:
    """Generate data, train priors, compute occlusion maps, fit every preset and write the report."""
    out = Path(out)
    if fresh and out.is_dir():
        for child in out.iterdir():  # all but the lock file of the run holding the folder
            if child.name != FOLDER_LOCK_NAME:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    status = status or (lambda name: log.info("stage: %s", name))
    outputs = DemoOutputs(out, out / "data")
    synth = synth_config(config)
    stage = Stage("synth", out / "stages", asdict(synth), outputs.timings)
    status(stage.name)
    stage.run(lambda: generate(outputs.data, synth, force=True))  # the stage reruns only for other settings
    fp = synth.fingerprint()
    _priors(outputs, config, fp, status)
    _occlusion(outputs, config, fp, status)
    _fits(outputs, config, fp, status)
    status("evaluate and report")
    write_outputs(outputs, config)
    return outputs


