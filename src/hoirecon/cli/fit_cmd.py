"""CLI: ``hoirecon fit`` — post-optimise body and object for a dataset split."""

from __future__ import annotations

from pathlib import Path

import typer

from hoirecon.cli.common import console, exit_with_error


def fit(
    data: Path = typer.Option(..., "--data", help="Dataset folder."),
    category: str = typer.Option(..., "--category", help="Category to fit."),
    out: Path = typer.Option(..., "--out", help="Output folder (fits/<category>.npz, fit.json); resumes."),
    split: str = typer.Option("test", help="Split to fit."),
    preset: str = typer.Option("prior+contact", help="none | contact | prior | prior+contact | phosa."),
    prior: Path = typer.Option(None, help="Trained prior file; without it the prior presets fall back to none / contact."),
    occlusion: Path = typer.Option(None, help="Mean occlusion maps (default: computed from the train split)."),
    object_steps: int = typer.Option(None, help="Steps of phase 1 (object only)."),
    joint_steps: int = typer.Option(None, help="Steps of phase 2 (everything)."),
    batch_size: int = typer.Option(None, help="Images optimised together."),
    limit: int = typer.Option(None, help="Fit only the first N images."),
    backend: str = typer.Option("local", help="local (this process) | ray (one Ray task per batch; same results)."),
    address: str = typer.Option(None, help="Ray cluster address (--backend ray); default: start a local Ray."),
    workers: int = typer.Option(None, help="CPUs of the local Ray instance (--backend ray; default: all)."),
) -> None:
    """Fit SMPL body + object template to every image of a split, with the chosen preset."""
    from hoirecon.cli.data_cmds import progress_bar
    from hoirecon.fitting.backends import split_runner
    from hoirecon.fitting.optimize import get_preset
    from hoirecon.fitting.pipeline import fit_dataset
    from hoirecon.fitting.ray_backend import BackendUnavailableError

    overrides = {k: v for k, v in {"object_steps": object_steps, "joint_steps": joint_steps,
                                   "batch_size": batch_size}.items() if v is not None}
    try:
        config = get_preset(preset, **overrides)
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
    from hoirecon.fitting.export import export_rhobin as export

    try:
        path = export(fits, out, gender)
    except ValueError as err:
        exit_with_error(err)
    console.print(f"wrote {path}", markup=False)


def fit_image(
    image: Path = typer.Option(..., "--image", help="The image."),
    keypoints: Path = typer.Option(..., "--keypoints", help="COCO-17 body keypoints JSON (mmpose / ViTPose)."),
    category: str = typer.Option(..., "--category", help="Object category (built-in template)."),
    out: Path = typer.Option(..., "--out", help="Output folder (fits/<category>.npz, fit.json)."),
    object_keypoints: Path = typer.Option(None, help='JSON {"keypoints": [[u, v, conf], ...]} in template order.'),
    correspondences: Path = typer.Option(None, help='JSON {"points": [...], "pixels": [...], "weights": [...]}.'),
    body_estimate: Path = typer.Option(None, help="SMPL parameters (.npz/.pkl) from an HMR-style estimator."),
    focal: float = typer.Option(None, help="Focal length in pixels (default: the larger image side)."),
    preset: str = typer.Option("prior", help="none | prior | phosa (contact needs masks and occlusion maps)."),
    prior: Path = typer.Option(None, help="Trained prior file of the category."),
) -> None:
    """Fit body + object to ONE image given explicit files (no dataset folder needed)."""
    from hoirecon.body import load_body_model
    from hoirecon.fitting.optimize import get_preset
    from hoirecon.fitting.pipeline import FitContext, fingerprint, fit_split, without_prior
    from hoirecon.fitting.phosa import attach_phosa
    from hoirecon.fitting.single import ImageInputs, image_sample
    from hoirecon.objects import get_category_template

    try:
        config = get_preset(preset, batch_size=1)
        if config.weights.contact > 0:
            raise ValueError(f"preset {preset!r} needs silhouettes and occlusion maps: use a dataset folder and "
                             "`hoirecon fit`, or choose none / prior / phosa")
        body, template = load_body_model(), get_category_template(category)
        config = without_prior(config, category) if config.weights.prior > 0 and prior is None else config
        fitting_prior = None
        if config.weights.prior > 0:
            from hoirecon.prior.fitting_prior import load_fitting_prior

            fitting_prior = load_fitting_prior(prior)
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
