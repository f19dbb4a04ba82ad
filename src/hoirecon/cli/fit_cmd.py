"""CLI: ``hoirecon fit`` (a dataset split) and ``hoirecon export-rhobin`` (BEHAVE fits in the official keys).

``fit`` starts from a named preset of ``fitting.optimize.PRESETS``; every option under FitConfig
and LossWeights replaces that field of the preset. One image is fitted by ``hoirecon reconstruct``
(``cli/reconstruct_cmd.py``; ``fit-image`` is its other name).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from pathlib import Path

import typer

from hoirecon.cli.common import (
    INPUT_ERRORS,
    check_output_file,
    check_output_folder,
    console,
    exit_with_error,
    force_option,
    input_file,
    input_folder,
    min_coverage_option,
    progress_bar,
    writing,
)
from hoirecon.cli.device_option import device_option
from hoirecon.cli.options import AT_LEAST_0, AT_LEAST_1, POSITIVE, ConfigArgs, ConfigOptions, choice_option
from hoirecon.device import device_scope
from hoirecon.fitting.backends import BACKENDS, split_runner
from hoirecon.fitting.export import export_submission as export
from hoirecon.fitting.optimize import PRESETS, FitConfig, LossWeights, get_preset
from hoirecon.fitting.pipeline import NO_PRIOR_FALLBACK, fit_dataset
from hoirecon.fitting.ray_backend import BackendUnavailableError
from hoirecon.tracks.run import fits_are_behave, fitting_body, scoring_models, write_behave_results
from hoirecon.tracks.submission import TRACKS

DEFAULT_PRESET = FitConfig().name
FIT_RANGES = {"object_steps": AT_LEAST_0, "joint_steps": AT_LEAST_0, "lr": POSITIVE, "batch_size": AT_LEAST_1,
              "virtual_cameras": AT_LEAST_1, "contact_points": AT_LEAST_1,
              **{f"weights.{f.name}": AT_LEAST_0 for f in fields(LossWeights)}}
"""The range of every FitConfig and LossWeights option (``reconstruct`` uses them too)."""
FIT_OPTIONS = ConfigOptions(
    get_preset(DEFAULT_PRESET),
    ("object_steps", "joint_steps", "lr", "batch_size", "virtual_cameras", "contact_points", "compile",
     *(f"weights.{f.name}" for f in fields(LossWeights))),
    prefixes={"weights": "weight"}, variants=PRESETS, variants_title="--preset", ranges=FIT_RANGES,
)


def prior_fallbacks(presets: Collection[str]) -> str:
    """What each of ``presets`` that needs a prior becomes without one."""
    return ", ".join(f"{name} falls back to {fallback}" for name, fallback in NO_PRIOR_FALLBACK.items()
                     if name in presets)


@FIT_OPTIONS.command
def fit(
    args: ConfigArgs[FitConfig],
    data: Path = input_folder("Dataset folder.", "--data"),
    category: str = typer.Option(..., "--category", help="Category to fit."),
    out: Path = typer.Option(..., "--out", callback=check_output_folder,
                             help="Output folder (fits/<category>.npz, fit.json); resumes."),
    split: str = typer.Option("test", help="Split to fit."),
    preset: str = choice_option(DEFAULT_PRESET, PRESETS, "Named loss weights and schedule; the FitConfig and "
                                "LossWeights options below replace its values.", "--preset"),
    prior: Path = input_file(f"Trained prior file; without it {prior_fallbacks(PRESETS)} (with a warning).",
                             "--prior", required=False),
    occlusion: Path = input_file("Mean occlusion maps (default: computed from the train split).", "--occlusion",
                                 required=False),
    limit: int = typer.Option(None, min=1, help="Fit only the first N images."),
    backend: str = choice_option("local", BACKENDS, "Where batches are fitted: this process, or one Ray task "
                                 "per batch (same results).", "--backend"),
    address: str = typer.Option(None, help="Ray cluster address (--backend ray); default: start a local Ray."),
    workers: int = typer.Option(None, min=1, help="CPUs of the local Ray instance (--backend ray; default: all)."),
    force: bool = force_option("--out holds fits of another dataset or configuration, or --prior was trained for "
                               "another category"),
    device: str | None = device_option(),
) -> None:
    """Fit SMPL body + object template to every image of a split, with the chosen preset."""
    try:
        config = args.build(get_preset(preset))
        runner = split_runner(backend, address, workers)
        with device_scope(device), writing(out, folder=True), progress_bar() as bar:
            task = bar.add_task(f"fit {category} ({preset}, {backend})", total=None)
            run = fit_dataset(data, category, split, config, out, prior, occlusion,
                              progress=lambda done, total: bar.update(task, completed=done, total=total), limit=limit,
                              runner=runner, force=force)
    except (*INPUT_ERRORS, BackendUnavailableError) as err:
        exit_with_error(err)
    for note in run.provenance:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    for image_id, reason in run.skipped:
        console.print(f"skipped {image_id}: {reason}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"fitted {len(run.results.image_ids)} images, skipped {len(run.skipped)}; wrote {out}",
                  markup=False, highlight=False)


def export_rhobin(
    fits: Path = input_folder("Fit output folder (fits/<category>.npz).", "--fits"),
    out: Path = typer.Option(Path("results.pkl"), "--out", callback=check_output_file,
                             help="RHOBIN results.pkl to write (and <out>.provenance.json beside it)."),
    behave: Path = input_folder("BEHAVE root of fits made on BEHAVE frames: their calibration carries every fit "
                                "into the world frame (camera k1), keyed by sequence and frame time.", "--behave",
                                required=False),
    track: str = choice_option("joint", TRACKS, "Which keys to write (BEHAVE fits): object, human or joint.",
                               "--track"),
    ref: Path = input_file("Reference ref.pkl (BEHAVE fits): frames in its order, others left out.", "--ref",
                           required=False),
    body_model: Path = typer.Option(None, "--body-model", exists=True,
                                    help="Body model the fits were made with (BEHAVE fits; default: the embedded body)."),
    gender: str = typer.Option("neutral", help="Gender recorded for every sequence (fits of other datasets)."),
    min_coverage: float = min_coverage_option("images of each fitted split"),
    force: bool = force_option("the categories were fitted on different datasets, some rows are not finite, or a "
                               "sequence is partial (unusable rows are left out)"),
) -> None:
    """Export fits to the RHOBIN 2023 submission layout.

    Fits of BEHAVE frames (image ids <sequence>_<frame>_k<k>) need --behave and are written in the
    official keys (BEHAVE sequence names, frame times) and frame (camera k1). Fits of other datasets
    become one sequence per category, in each image's camera.
    """
    try:
        if fits_are_behave(fits):
            if behave is None:
                raise ValueError(f"{fits}: these are fits of BEHAVE frames; give --behave ROOT so they are written "
                                 "in BEHAVE's world frame under the official sequence and frame keys")
            with writing(out, folder=False):
                body, _ = fitting_body(body_model)
                write_behave_results(fits, behave, track, body, ref, out, scoring_models(body_model))
            console.print(f"wrote {out} ({track} track keys)", markup=False)
            return
        with writing(out, folder=False):
            report = export(fits, out, gender, min_coverage=min_coverage, force=force)
    except INPUT_ERRORS as err:
        exit_with_error(err)
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    for category, cover in report.coverage.items():
        share = "unknown" if cover["coverage"] is None else f"{100 * cover['coverage']:.1f}%"
        console.print(f"{category}: {cover['frames']} frames (coverage {share})", markup=False, highlight=False)
    console.print(f"wrote {report.path} and {report.provenance_path.name}", markup=False)
