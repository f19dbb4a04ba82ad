"""CLI: ``hoirecon experiment <name>`` (the paper's tables on synthetic splits), ``tune``, ``report``, ``list``."""

from __future__ import annotations

import inspect
import json
import os
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from hoirecon.cli.common import INPUT_ERRORS, check_output_folder, console, exit_with_error, progress_bar, writing
from hoirecon.cli.device_option import device_option
from hoirecon.cli.options import AT_LEAST_0, AT_LEAST_1, Bound, ConfigArgs, ConfigOptions, show_value
from hoirecon.data.synthetic.observation import OBSERVATION_PRESETS
from hoirecon.device import ENV, device_scope
from hoirecon.experiments import EXPERIMENTS, TUNE_SEED_BASE, ExperimentConfig, TuneGrid, run_experiment, run_tuning
from hoirecon.experiments.run import rebuild_report
from hoirecon.objects import CATEGORIES

experiment_app = typer.Typer(help="Named experiments (the paper's tables) over seeds and categories, with reports; "
                                  "preset tuning.", no_args_is_help=True)
FIELDS = ("seeds", "first_seed", "categories", "train", "test", "image_size", "observation", "prior_epochs",
          "prior_depth", "prior_width", "object_steps", "joint_steps", "eval_samples", "resamples")
RANGES = {"seeds": AT_LEAST_1, "first_seed": AT_LEAST_0, "train": AT_LEAST_1, "test": AT_LEAST_1,
          "image_size": Bound(16, 4096), "prior_epochs": AT_LEAST_1, "prior_depth": AT_LEAST_1, "prior_width": AT_LEAST_1,
          "object_steps": AT_LEAST_0, "joint_steps": AT_LEAST_0, "eval_samples": AT_LEAST_1, "resamples": AT_LEAST_1}
CHOICES = {"categories": CATEGORIES, "observation": OBSERVATION_PRESETS}
EXPERIMENT_OPTIONS = ConfigOptions(ExperimentConfig(), FIELDS, choices=CHOICES, ranges=RANGES,
                                   variants={"--quick": ExperimentConfig().quick()})
TUNE_BASE = replace(ExperimentConfig(), seeds=2, first_seed=TUNE_SEED_BASE)
"""The tuning set-up: two seeds from the first tuning seed."""
TUNE_OPTIONS = ConfigOptions(TUNE_BASE, FIELDS, choices=CHOICES, ranges=RANGES,
                             variants={"--quick": TUNE_BASE.quick()})


def _out(default: str) -> Any:
    return typer.Option(Path(default), "--out", callback=check_output_folder,
                        help="Output folder (units/, report.md, report.html, results.json); a rerun resumes it.")


WORKERS = typer.Option(1, "--workers", min=1, max=256, help="Units run at once, each in its own process.")
THREADS = typer.Option(1, "--threads", min=1, max=256, help="Torch threads per unit.")
KEEP_WORK = typer.Option(False, "--keep-work", help="Keep each finished unit's data, priors and fits under work/.")
QUICK = typer.Option(False, "--quick", help=inspect.getdoc(ExperimentConfig.quick))
DATA_OPTION = typer.Option([], "--data-option", metavar="FIELD=VALUE",
                           help="A further field of the synthetic generator's config (value as JSON, else text); "
                                "repeat for several.")


def parse_data_options(items: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs as a dict (VALUE read as JSON when it is JSON, else kept as text)."""
    data: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--data-option: expected FIELD=VALUE, got {item!r}")
        try:
            data[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            data[key.strip()] = text
    return data


def command_line(words: list[str], args: ConfigArgs[ExperimentConfig], out: Path, quick: bool, workers: int,
                 threads: int, keep_work: bool, data: list[str], extra: tuple[str, ...] = ()) -> str:
    """The command with every option that was set (what the report records to rerun it)."""
    words = ["hoirecon", "experiment", *words]
    flags = {f.path: f.flag for f in args.options.fields}
    words += [w for path, value in args.given.items() for w in (flags[path], show_value(value))]
    words += ["--quick"] * quick + ["--keep-work"] * keep_work + ["--out", str(out)]
    words += ["--workers", str(workers)] * (workers != 1) + ["--threads", str(threads)] * (threads != 1)
    words += [w for item in data for w in ("--data-option", item)] + list(extra)
    return shlex.join(words)


def _build(args: ConfigArgs[ExperimentConfig], base: ExperimentConfig, quick: bool, data: list[str]) -> ExperimentConfig:
    config = args.build(base.quick() if quick else base)
    return replace(config, data=parse_data_options(data)) if data else config


def _use_device(spec: str | None) -> None:
    """Resolve ``--device`` now (a missing GPU fails before any work) and hand it to every unit through
    ``$HOIRECON_DEVICE``, which the spawned worker processes inherit (a context scope would not)."""
    if spec is not None:
        with device_scope(spec) as where:
            os.environ[ENV] = str(where)


def _register(name: str) -> None:
    """Add the command of the named experiment ``name``."""

    @EXPERIMENT_OPTIONS.command
    def command(args: ConfigArgs[ExperimentConfig], out: Path = _out(f"experiments_out/{name}"), quick: bool = QUICK,
                workers: int = WORKERS, threads: int = THREADS, keep_work: bool = KEEP_WORK,
                data_option: list[str] = DATA_OPTION, device: str | None = device_option()) -> None:
        try:
            _use_device(device)
            config = _build(args, ExperimentConfig(), quick, data_option)
            line = command_line([name], args, out, quick, workers, threads, keep_work, data_option)
            with writing(out, folder=True), progress_bar(transient=True) as bar:
                task = bar.add_task(name, total=None)
                result = run_experiment(name, config, out, workers=workers, threads=threads, keep_work=keep_work,
                                        command=line,
                                        status=lambda text: bar.update(task, description=f"{name}: {text}"))
        except INPUT_ERRORS as err:
            exit_with_error(err)
        s = result.summary
        console.print(f"{len(s.ran)} unit(s) run, {len(s.reused)} reused, {len(s.failed)} failed; "
                      f"wrote {result.report} and {result.report.with_suffix('.html')}")

    command.__doc__ = f"{EXPERIMENTS[name].title}: {EXPERIMENTS[name].description}"
    experiment_app.command(name, help=command.__doc__)(command)


for _name in EXPERIMENTS:
    _register(_name)


def _weights(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated weights, got {text!r}") from None


def _grid_option(field: str, flag: str) -> Any:
    default = ",".join(f"{v:g}" for v in getattr(TuneGrid(), field))
    return typer.Option(default, flag, help="Candidate weights, comma-separated (the shipped value is added).")


@TUNE_OPTIONS.command
def tune(args: ConfigArgs[ExperimentConfig], out: Path = _out("experiments_out/tune"), quick: bool = QUICK,
         workers: int = WORKERS, threads: int = THREADS, keep_work: bool = KEEP_WORK,
         data_option: list[str] = DATA_OPTION,
         prior_weights: str = _grid_option("prior", "--prior-weights"),
         contact_weights: str = _grid_option("contact", "--contact-weights"),
         combined_contact_weights: str = _grid_option("combined_contact", "--combined-contact-weights"),
         device: str | None = device_option()) -> None:
    """Search the presets' prior and contact weights on tuning seeds (>= 1000, never test seeds); writes
    tuned_presets.md / .json / .html and leaves the shipped presets unchanged."""
    try:
        _use_device(device)
        config = _build(args, TUNE_BASE, quick, data_option)
        grid = TuneGrid(_weights(prior_weights), _weights(contact_weights), _weights(combined_contact_weights))
        grid_words = ("--prior-weights", prior_weights, "--contact-weights", contact_weights,
                      "--combined-contact-weights", combined_contact_weights)
        line = command_line(["tune"], args, out, quick, workers, threads, keep_work, data_option, grid_words)
        with writing(out, folder=True), progress_bar(transient=True) as bar:
            task = bar.add_task("tune", total=None)
            summary, best = run_tuning(config, out, grid, workers=workers, threads=threads, keep_work=keep_work,
                                       command=line,
                                       status=lambda text: bar.update(task, description=f"tune: {text}"))
    except INPUT_ERRORS as err:
        exit_with_error(err)
    console.print(f"{len(summary.ran)} unit(s) run, {len(summary.reused)} reused, {len(summary.failed)} failed; "
                  f"wrote {out / 'tuned_presets.md'}")
    for preset, found in best.items():
        console.print(f"{preset}: {found['weights']} (median {found['median']:.1f} cm; shipped {found['shipped']})")


experiment_app.command("tune")(tune)


@experiment_app.command("report")
def report(out: Path = typer.Option(..., "--out", help="Output folder of an experiment run.")) -> None:
    """Write an experiment's report again from its unit records (e.g. after an interrupted run)."""
    try:
        with writing(out, folder=True):
            path = rebuild_report(out)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    console.print(f"wrote {path}")


@experiment_app.command("list")
def list_experiments() -> None:
    """List the named experiments and their rows."""
    for name, exp in EXPERIMENTS.items():
        console.print(f"[bold]{name}[/bold]: {exp.title}; rows: {', '.join(a.name for a in exp.arms)}", markup=True)
