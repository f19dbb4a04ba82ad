"""CLI: ``hoirecon occlusion`` — the mean occlusion maps of a category, for the contact loss.

The maps go to an ``.npz`` (``--out``, what ``hoirecon fit --occlusion`` reads) and/or into a
prior file (``--prior``), where ``hoirecon reconstruct`` finds them for the contact term on one
photo. ``hoirecon train`` stores them in the prior it writes when the dataset has the masks
(:func:`store_training_maps`).

Unusable inputs (missing dataset, unknown category or split, unreadable body model, no usable
image) end with one line naming the problem and exit code 2; single broken images are skipped
and counted.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np
import typer
from rich.markup import escape

from hoirecon.body import load_body_model
from hoirecon.cli.common import (
    INPUT_ERRORS,
    check_output_file,
    console,
    exit_with_error,
    input_file,
    input_folder,
    progress_bar,
    writing,
)
from hoirecon.data.dataset import Dataset, load_dataset
from hoirecon.fitting.occlusion import compute_occlusion_maps, contacts
from hoirecon.io.occlusion_files import DEFAULT_DILATION, DEFAULT_ETA, OcclusionMaps, save_occlusion_maps
from hoirecon.prior.prior import add_occlusion_maps

log = logging.getLogger(__name__)


def _summary(maps) -> str:  # noqa: ANN001 - an OcclusionMaps
    """Images used/skipped and the mean contact-candidate set sizes at the maps' eta."""
    sets = [contacts(maps, occ) for occ in maps.per_image]
    mean_h = float(np.mean([len(s.human_ids) for s in sets])) if sets else 0.0
    mean_o = float(np.mean([len(s.object_ids) for s in sets])) if sets else 0.0
    return (f"{maps.category}: {maps.num_images} images used, {len(maps.skipped)} skipped; "
            f"mean candidate set sizes at eta={maps.eta:g}: |C_h| {mean_h:.1f} of "
            f"{maps.body_vertex_count} body vertices, |C_o| {mean_o:.1f} of "
            f"{maps.template_vertex_count} object vertices")


def occlusion(
    data: Path = input_folder("Dataset folder in the hoirecon format.", "--data"),
    category: str = typer.Option(..., "--category", help="Category whose images are averaged."),
    out: Path = typer.Option(None, "--out", callback=check_output_file,
                             help="Output .npz of the mean maps (written atomically)."),
    prior: Path = input_file("Store the maps in this prior file of the category too (for `hoirecon reconstruct "
                             "--preset prior+contact`).", "--prior", required=False),
    split: str = typer.Option("train", "--split", help="Split whose images are averaged."),
    eta: float = typer.Option(DEFAULT_ETA, "--eta", min=0.0, max=1.0,
                              help="Contact threshold on c * mean(c), stored with the maps."),
    dilation: float = typer.Option(DEFAULT_DILATION, "--dilation", min=0.0, max=0.5,
                                   help="Silhouette dilation, fraction of the image size."),
    body_model: str = typer.Option(None, "--body-model",
                                   help="SMPL/SMPL-H/SMPL-X file or folder; default: the embedded body."),
) -> None:
    """Average per-image occlusion maps (where body and object silhouettes meet) over a split."""
    if out is None and prior is None:
        exit_with_error("--out / --prior: give at least one place for the maps")
    try:
        dataset = load_dataset(data)
        total = len(dataset.indices(category, split))
        model = load_body_model(body_model)
    except INPUT_ERRORS as error:
        exit_with_error(error)
    if total == 0:
        exit_with_error(f"{data}: category {category!r} has no {split!r} images")
    try:
        with writing(out, folder=False) if out is not None else contextlib.nullcontext(), \
                writing(prior, folder=False) if prior is not None else contextlib.nullcontext():
            with progress_bar() as bar:
                task = bar.add_task(f"occlusion {category}", total=total)
                maps = compute_occlusion_maps(dataset, category, split, model, eta=eta, dilation=dilation,
                                              progress=lambda done, _: bar.update(task, completed=done))
            for item in maps.skipped:
                console.print(f"skipped {item.image_id}: {escape(item.reason)}", highlight=False, soft_wrap=True)
            console.print(_summary(maps), highlight=False, soft_wrap=True)
            if maps.num_images == 0:
                exit_with_error(f"{data}: no usable {split!r} image of {category!r}; nothing written")
            written = []
            if out is not None:
                written.append(str(save_occlusion_maps(out, maps)))
            if prior is not None:
                add_occlusion_maps(prior, maps)
                written.append(f"{prior} (maps stored in the prior)")
    except INPUT_ERRORS as error:
        exit_with_error(error)
    console.print(f"wrote {', '.join(written)}", highlight=False, soft_wrap=True)


def _has_masks(dataset: Dataset, category: str, split: str) -> bool:
    """Whether some image of the split names both a person and an object mask."""
    return any(s.human_mask_path is not None and s.object_mask_path is not None
               for s in dataset.samples(category, split))


def store_training_maps(data: Path, category: str, prior: Path, split: str = "train") -> OcclusionMaps | None:
    """Compute the category's mean occlusion maps over the training split and store them in the
    prior file ``prior`` (what ``hoirecon train`` does after training); None, with a warning, when
    the dataset has no masks or no usable image (the prior then works without contact)."""
    dataset = load_dataset(data)
    if not _has_masks(dataset, category, split):
        log.warning("%s: no person and object masks in the %r images of %r: the prior holds no occlusion maps "
                    "(the contact term of `hoirecon reconstruct` needs them)", data, split, category)
        return None
    body_name = dataset.manifest.get("body_model", {}).get("name", "embedded")
    maps = compute_occlusion_maps(dataset, category, split, load_body_model(None if body_name == "embedded" else body_name))
    if maps.num_images == 0:
        log.warning("%s: no usable %r image of %r for occlusion maps; the prior holds none", data, split, category)
        return None
    add_occlusion_maps(prior, maps)
    return maps
