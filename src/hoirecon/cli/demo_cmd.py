"""CLI: ``hoirecon demo`` — the whole paper end to end on the embedded defaults, with a report."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from hoirecon.cli.common import console, exit_with_error, progress_bar
from hoirecon.cli.options import ConfigArgs, ConfigOptions
from hoirecon.demo import DemoConfig, run_demo
from hoirecon.fitting.optimize import PRESETS
from hoirecon.objects import CATEGORIES

DEMO_OPTIONS = ConfigOptions(
    DemoConfig(),
    ("categories", "train", "test", "image_size", "seed", "prior_epochs", "prior_depth", "prior_width",
     "object_steps", "joint_steps", "eval_samples", "presets", "workers"),
    choices={"categories": CATEGORIES, "presets": PRESETS},
    variants={"--quick": DemoConfig().quick()},
)


@DEMO_OPTIONS.command
def demo(
    args: ConfigArgs[DemoConfig],
    out: Path = typer.Option(Path("demo_out"), "--out", help="Output folder (report.html, results.*, scenes/)."),
    quick: bool = typer.Option(False, "--quick", help=inspect.getdoc(DemoConfig.quick)),
    fresh: bool = typer.Option(False, "--fresh", help="Recompute every stage instead of reusing cached ones."),
) -> None:
    """Run the whole paper end to end on the embedded defaults and write a report."""
    try:
        config = args.build(DemoConfig().quick() if quick else None)
        with progress_bar(transient=True) as bar:
            task = bar.add_task("demo", total=None)
            outputs = run_demo(out, config, fresh=fresh,
                               status=lambda name: bar.update(task, description=f"demo: {name}"))
    except OSError as err:  # an unwritable output folder; other errors are bugs and keep their traceback
        exit_with_error(err)
    console.print(f"wrote {outputs.out / 'report.html'}, results.md, results.json")
    console.print((outputs.out / "results.md").read_text(), markup=False)
