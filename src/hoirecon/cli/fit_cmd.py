"""CLI: ``hoirecon fit`` (a dataset split), ``hoirecon fit-image`` (one image) and ``hoirecon export-rhobin``.

Both fitting commands start from a named preset of ``fitting.optimize.PRESETS``; every option
under FitConfig and LossWeights replaces that field of the preset.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from pathlib import Path

import typer
from rich.markup import escape

from hoirecon.body import load_body_model
from hoirecon.cli.common import console, exit_with_error, progress_bar
from hoirecon.cli.options import ConfigArgs, ConfigOptions, choice_option
from hoirecon.fitting.backends import BACKENDS, split_runner
from hoirecon.fitting.export import export_rhobin as export
from hoirecon.fitting.optimize import PRESETS, FitConfig, LossWeights, get_preset
from hoirecon.fitting.phosa import attach_phosa
from hoirecon.fitting.pipeline import NO_PRIOR_FALLBACK, FitContext, fingerprint, fit_dataset, fit_split, without_prior
from hoirecon.fitting.ray_backend import BackendUnavailableError
from hoirecon.fitting.single import ImageInputs, image_sample
from hoirecon.objects import get_category_template
from hoirecon.prior.fitting_prior import load_fitting_prior

DEFAULT_PRESET = FitConfig().name
FIT_OPTIONS = ConfigOptions(
    get_preset(DEFAULT_PRESET),
    ("object_steps", "joint_steps", "lr", "batch_size", "virtual_cameras", "contact_points",
     *(f"weights.{f.name}" for f in fields(LossWeights))),
    prefixes={"weights": "weight"}, variants=PRESETS, variants_title="--preset",
)

IMAGE_PRESETS = {name: config for name, config in PRESETS.items() if config.weights.contact == 0}
"""The presets ``fit-image`` takes: the contact term needs silhouettes and occlusion maps."""
IMAGE_DEFAULT_PRESET = max(IMAGE_PRESETS, key=lambda name: IMAGE_PRESETS[name].weights.prior)  # the strongest prior
IMAGE_OPTIONS = ConfigOptions(
    get_preset(IMAGE_DEFAULT_PRESET),
    ("object_steps", "joint_steps", "lr", "virtual_cameras",
     *(f"weights.{f.name}" for f in fields(LossWeights) if f.name != "contact")),
    prefixes={"weights": "weight"}, variants=IMAGE_PRESETS, variants_title="--preset",
)


def _fallbacks(presets: Collection[str]) -> str:
    """What each of ``presets`` that needs a prior becomes without one."""
    return ", ".join(f"{name} falls back to {fallback}" for name, fallback in NO_PRIOR_FALLBACK.items()
                     if name in presets)


@FIT_OPTIONS.command
def fit(
    args: ConfigArgs[FitConfig],
    data: Path = typer.Option(..., "--data", help="Dataset folder."),
    category: str = typer.Option(..., "--category", help="Category to fit."),
    out: Path = typer.Option(..., "--out", help="Output folder (fits/<category>.npz, fit.json); resumes."),
    split: str = typer.Option("test", help="Split to fit."),
    preset: str = choice_option(DEFAULT_PRESET, PRESETS, "Named loss weights and schedule; the FitConfig and "
                                "LossWeights options below replace its values.", "--preset"),
    prior: Path = typer.Option(None, help=f"Trained prior file; without it {_fallbacks(PRESETS)} (with a warning)."),
    occlusion: Path = typer.Option(None, help="Mean occlusion maps (default: computed from the train split)."),
    limit: int = typer.Option(None, help="Fit only the first N images."),
    backend: str = choice_option("local", BACKENDS, "Where batches are fitted: this process, or one Ray task "
                                 "per batch (same results).", "--backend"),
    address: str = typer.Option(None, help="Ray cluster address (--backend ray); default: start a local Ray."),
    workers: int = typer.Option(None, help="CPUs of the local Ray instance (--backend ray; default: all)."),
) -> None:
    """Fit SMPL body + object template to every image of a split, with the chosen preset."""
    try:
        config = args.build(get_preset(preset))
        runner = split_runner(backend, address, workers)
        with progress_bar() as bar:
            task = bar.add_task(f"fit {category} ({preset}, {backend})", total=None)
            run = fit_dataset(data, category, split, config, out, prior, occlusion,
                              progress=lambda done, total: bar.update(task, completed=done, total=total), limit=limit,
                              runner=runner)
    except (ValueError, FileNotFoundError, BackendUnavailableError) as err:
        exit_with_error(err)
    console.print(f"fitted {len(run.results.image_ids)} images, skipped {len(run.skipped)}; wrote {out}")


def export_rhobin(
    fits: Path = typer.Option(..., "--fits", help="Fit output folder (fits/<category>.npz)."),
    out: Path = typer.Option(Path("results.pkl"), "--out", help="RHOBIN results.pkl to write."),
    gender: str = typer.Option("neutral", help="Gender recorded for every sequence."),
) -> None:
    """Export fits to the RHOBIN 2023 submission layout (one sequence per category)."""
    try:
        path = export(fits, out, gender)
    except ValueError as err:
        exit_with_error(err)
    console.print(f"wrote {path}", markup=False)


@IMAGE_OPTIONS.command
def fit_image(
    args: ConfigArgs[FitConfig],
    image: Path = typer.Option(..., "--image", help="The image."),
    keypoints: Path = typer.Option(..., "--keypoints", help="COCO-17 body keypoints JSON (mmpose / ViTPose)."),
    category: str = typer.Option(..., "--category", help="Object category (built-in template)."),
    out: Path = typer.Option(..., "--out", help="Output folder (fits/<category>.npz, fit.json)."),
    object_keypoints: Path = typer.Option(None, help=escape('JSON {"keypoints": [[u, v, conf], ...]} in template order.')),
    correspondences: Path = typer.Option(None, help='JSON {"points": [...], "pixels": [...], "weights": [...]}.'),
    body_estimate: Path = typer.Option(None, help="SMPL parameters (.npz/.pkl) from an HMR-style estimator."),
    focal: float = typer.Option(None, help="Focal length in pixels (default: the larger image side)."),
    preset: str = choice_option(IMAGE_DEFAULT_PRESET, IMAGE_PRESETS, "Named loss weights and schedule, among those "
                                "without a contact term (it needs silhouettes and occlusion maps: fit a dataset "
                                "folder with `hoirecon fit` for it).", "--preset"),
    prior: Path = typer.Option(None, help=f"Trained prior file of the category; without it {_fallbacks(IMAGE_PRESETS)} (with a warning)."),
) -> None:
    """Fit body + object to ONE image given explicit files (no dataset folder needed)."""
    try:
        config = args.build(get_preset(preset, batch_size=1))
        body, template = load_body_model(), get_category_template(category)
        config = without_prior(config, category) if config.weights.prior > 0 and prior is None else config
        fitting_prior = load_fitting_prior(prior) if config.weights.prior > 0 else None
        sample = image_sample(ImageInputs(image, keypoints, object_keypoints, correspondences, body_estimate,
                                          focal=focal), category, template, body)
        ctx = attach_phosa(FitContext(category, template, body, config, fitting_prior))
        key = fingerprint(ctx, {"inputs": [str(p) for p in (image, keypoints, object_keypoints, correspondences,
                                                            body_estimate, prior)], "focal": focal})
        run = fit_split(ctx, [sample], out, key)
    except (ValueError, FileNotFoundError) as err:
        exit_with_error(err)
    if run.skipped:
        console.print(f"not fitted: {run.skipped[0][1]}", markup=False)
        raise typer.Exit(code=1)
    console.print(f"wrote {out / 'fits' / (category + '.npz')}", markup=False)
