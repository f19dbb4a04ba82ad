"""CLI: ``hoirecon demo`` — the whole paper end to end on the embedded defaults, with a report."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from hoirecon.cli.common import INPUT_ERRORS, check_output_folder, console, exit_with_error, progress_bar, writing
from hoirecon.cli.device_option import device_option
from hoirecon.cli.options import AT_LEAST_0, AT_LEAST_1, Bound, ConfigArgs, ConfigOptions
from hoirecon.data.synthetic.observation import OBSERVATION_PRESETS
from hoirecon.demo import DemoConfig, run_demo
from hoirecon.device import device_scope
from hoirecon.fitting.optimize import PRESETS
from hoirecon.objects import CATEGORIES

DEMO_OPTIONS = ConfigOptions(
    DemoConfig(),
    ("categories", "train", "test", "image_size", "seed", "prior_epochs", "prior_depth", "prior_width",
     "object_steps", "joint_steps", "eval_samples", "presets", "workers", "observation"),
    choices={"categories": CATEGORIES, "presets": PRESETS, "observation": OBSERVATION_PRESETS},
    variants={"--quick": DemoConfig().quick()},
    ranges={"train": AT_LEAST_1, "test": AT_LEAST_1, "image_size": Bound(16, 4096), "seed": AT_LEAST_0,
            "prior_epochs": AT_LEAST_1, "prior_depth": AT_LEAST_1, "prior_width": AT_LEAST_1,
            "object_steps": AT_LEAST_0, "joint_steps": AT_LEAST_0, "eval_samples": AT_LEAST_1, "workers": Bound(1, 256)},
)


@DEMO_OPTIONS.command
def demo(
    args: ConfigArgs[DemoConfig],
    out: Path = typer.Option(Path("demo_out"), "--out", callback=check_output_folder,
                             help="Output folder (report.html, results.*, scenes/)."),
    quick: bool = typer.Option(False, "--quick", help=inspect.getdoc(DemoConfig.quick)),
    fresh: bool = typer.Option(False, "--fresh", help="Recompute every stage instead of reusing cached ones."),
    device: str | None = device_option(),
) -> None:
    """Run the whole paper end to end on the embedded defaults and write a report."""
    try:
        config = args.build(DemoConfig().quick() if quick else None)
        with device_scope(device), writing(out, folder=True), progress_bar(transient=True) as bar:
            task = bar.add_task("demo", total=None)
            outputs = run_demo(out, config, fresh=fresh,
                               status=lambda name: bar.update(task, description=f"demo: {name}"))
    except INPUT_ERRORS as err:  # other errors are bugs: the top-level handler reports them
        exit_with_error(err)
    console.print(f"wrote {outputs.out / 'report.html'}, results.md, results.json")
    console.print((outputs.out / "results.md").read_text(), markup=False)
