"""A blind human study of two reconstructions (the paper's human evaluation, sec. 5.2).

:func:`make_study` takes two fits folders of the same dataset (what ``hoirecon fit`` writes),
picks images fitted by both, shuffles them, and for each pair draws both reconstructions with the
project's renderer: the meshes over the photo through the image's camera, and a side view in
the human frame (both methods framed alike). Which method goes on the left is random per pair
and sealed in the page (:mod:`hoirecon.viz.study_key`); the page is one self-contained HTML file
(:mod:`hoirecon.viz.study_page`). The key file written next to it is for the experimenter only;
``hoirecon study score`` (:mod:`hoirecon.viz.study_score`) needs it to unblind the answers.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hoirecon.body import BodyModel, load_body_model
from hoirecon.data import load_dataset
from hoirecon.data.dataset import Dataset
from hoirecon.data.templates import dataset_template
from hoirecon.io.atomic import atomic_write_bytes
from hoirecon.io.fits import FitResults, fitted_categories, load_fits, read_fit_info
from hoirecon.objects import ObjectTemplate
from hoirecon.viz.figures import Reconstruction, orbit_view, overlay_view
from hoirecon.viz.outputs import human_frame
from hoirecon.viz.study_key import StudyKey, new_key, save_key
from hoirecon.viz.study_page import PagePair, study_html

log = logging.getLogger(__name__)

SIDE_SIZE = 256
"""Side-view size in pixels before it is scaled to the overlay's height."""
MAX_HEIGHT = 360
"""Pictures taller than this are scaled down (keeps the page small)."""


@dataclass(frozen=True)
class StudyFiles:
    """What :func:`make_study` wrote."""

    page: Path
    key: Path
    pairs: int


def key_path_for(page: Path) -> Path:
    """Default key file of a page: ``study.html`` -> ``study.key.json``."""
    return page.with_name(page.stem + ".key.json")


def png_uri(image: np.ndarray) -> str:
    """A ``data:image/png`` URI of an (H, W, 3) uint8 image."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    if image.shape[0] == height:
        return image
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


def _panel(overlay: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Overlay and side view side by side at one height: the overlay's, raised to the side view's
    for small photos (so the side view keeps its detail) and capped at :data:`MAX_HEIGHT`."""
    height = min(MAX_HEIGHT, max(overlay.shape[0], side.shape[0]))
    gap = np.full((height, 6, 3), 255, np.uint8)
    return np.concatenate([_fit_height(overlay, height), gap, _fit_height(side, height)], axis=1)


def _side_views(recs: list[Reconstruction], faces: np.ndarray, template: ObjectTemplate) -> list[np.ndarray]:
    """Side views of several reconstructions of one image, framed alike (same centre and radius)."""
    both = np.concatenate([np.concatenate([r.body_vertices, r.object_vertices]) for r in recs])
    center = 0.5 * (both.min(0) + both.max(0))
    radius = float(np.linalg.norm(both - center, axis=1).max())
    return [orbit_view(r, faces, template, "side", SIDE_SIZE, center, radius) for r in recs]


def pair_pictures(data: Dataset, category: str, image_id: str, fits: tuple[FitResults, FitResults],
                  body: BodyModel, template: ObjectTemplate) -> tuple[np.ndarray, list[np.ndarray]]:
    """The input photo (H, W, 3) and one panel per method (overlay | side view) of one image."""
    sample = data.sample(category, image_id)
    if sample.image_path is None or not Path(sample.image_path).is_file():
        raise ValueError(f"image {image_id!r}: no photo at {sample.image_path}")
    photo = np.asarray(Image.open(sample.image_path).convert("RGB"))
    recs = [human_frame(body, template, f.row(image_id)) for f in fits]
    faces = np.asarray(body.faces)
    sides = _side_views(recs, faces, template)
    panels = [_panel(overlay_view(sample, rec, faces, template), side) for rec, side in zip(recs, sides)]
    return _fit_height(photo, min(MAX_HEIGHT, photo.shape[0])), panels


def _finite_ids(fits: FitResults) -> set[str]:
    """Images whose fitted parameters are all finite."""
    keys = ("betas", "body_pose", "global_orient", "transl", "object_rotation", "object_translation", "object_scale")
    ok = np.ones(len(fits.image_ids), dtype=bool)
    for key in keys:
        ok &= np.isfinite(np.asarray(fits.columns[key], dtype=np.float64).reshape(len(ok), -1)).all(axis=1)
    return {i for i, good in zip(fits.image_ids, ok) if good}


def common_images(data: Dataset, folders: tuple[Path, Path], categories: list[str] | None) -> list[tuple[str, str]]:
    """(category, image id) of every image both folders fitted (finite parameters), sorted."""
    shared = sorted(set(fitted_categories(folders[0])) & set(fitted_categories(folders[1])))
    if categories:
        unknown = [c for c in categories if c not in shared]
        if unknown:
            raise ValueError(f"categories {unknown}: not fitted in both {folders[0]} and {folders[1]} "
                             f"(both have: {shared or 'none'})")
        shared = list(categories)
    out = []
    for category in shared:
        if category not in data.categories:
            raise ValueError(f"category {category!r}: fitted but not in the dataset {data.root}")
        ids = _finite_ids(load_fits(folders[0], category)) & _finite_ids(load_fits(folders[1], category))
        out += [(category, i) for i in sorted(ids)]
    return out


def _check_same_dataset(data: Dataset, folders: tuple[Path, Path], force: bool) -> None:
    """Refuse fits recorded on another dataset (annotation hash) unless ``force``."""
    expected = data.content_hash()
    for folder in folders:
        recorded = read_fit_info(folder).get("dataset_hash")
        if recorded is not None and recorded != expected and not force:
            raise ValueError(f"{folder}/fit.json: the fits were made on another dataset (annotations {recorded}, "
                             f"{data.root} has {expected}); pass force to use them anyway")


def method_label(folder: Path) -> str:
    """A method's name: the preset its ``fit.json`` records, else the folder name."""
    return str(read_fit_info(folder).get("preset") or Path(folder).name)


def method_labels(folders: tuple[Path, Path]) -> tuple[str, str]:
    """Distinct names of the two methods: their presets, else (same preset) their folder names,
    else ``A`` / ``B`` appended."""
    labels = (method_label(folders[0]), method_label(folders[1]))
    if labels[0] == labels[1]:
        labels = (folders[0].name, folders[1].name)
    if labels[0] == labels[1]:
        labels = (f"{labels[0]} (A)", f"{labels[1]} (B)")
    return labels


def draw_pairs(candidates: list[tuple[str, str]], pairs: int, seed: int) -> tuple[list[tuple[str, str]], list[int]]:
    """At most ``pairs`` of the candidate images in random order, and for each the index (0/1) of
    the method shown on the left, a fair coin per pair; repeatable for a seed."""
    rng = np.random.default_rng(seed)
    chosen = [candidates[i] for i in rng.permutation(len(candidates))[:pairs]]
    return chosen, [int(b) for b in rng.integers(0, 2, len(chosen))]


def make_study(data: str | Path, fits: tuple[str | Path, str | Path], out: str | Path, pairs: int = 30,
               seed: int = 0, categories: list[str] | None = None, key_out: str | Path | None = None,
               title: str = "Which 3D reconstruction is better?", force: bool = False) -> StudyFiles:
    """Write the study page ``out`` and its key file (default :func:`key_path_for`).

    Args:
        data: dataset folder the fits were made on (photos, intrinsics).
        fits: the two fits folders (method A, method B).
        out: the HTML file to write. pairs: at most this many pairs (random images).
        seed: seed of the image choice, pair order and sides. categories: restrict to these.
        key_out: where the key goes. title: page title. force: accept fits of another dataset.
    """
    folders = (Path(fits[0]), Path(fits[1]))
    if folders[0].resolve() == folders[1].resolve():
        raise ValueError(f"fits: the two folders are the same ({folders[0]}); a study compares two methods")
    if pairs < 1:
        raise ValueError(f"pairs: expected at least 1, got {pairs}")
    dataset = load_dataset(data)
    _check_same_dataset(dataset, folders, force)
    candidates = common_images(dataset, folders, categories)
    if not candidates:
        raise ValueError(f"no image is fitted in both {folders[0]} and {folders[1]}")
    chosen, left = draw_pairs(candidates, pairs, seed)
    page_pairs, kept_ids, kept_left = _render_pairs(dataset, folders, chosen, left)
    if not page_pairs:
        raise ValueError("no pair could be drawn (see the log for why)")
    key = new_key(method_labels(folders), (str(folders[0]), str(folders[1])), kept_ids, kept_left)
    page = Path(out)
    key_file = Path(key_out) if key_out is not None else key_path_for(page)
    save_key(key_file, key)  # the key first: a page without its key could never be scored
    atomic_write_bytes(page, study_html(page_pairs, key.study_id, key.sealed, key.tag, title).encode())
    return StudyFiles(page, key_file, len(page_pairs))


def dataset_body(data: Dataset) -> BodyModel:
    """The body model the dataset's manifest names (as the fit uses it); the embedded one by default."""
    name = (data.manifest.get("body_model", {}) or {}).get("name", "embedded")
    return load_body_model(None if name == "embedded" else name)


def _render_pairs(data: Dataset, folders: tuple[Path, Path], chosen: list[tuple[str, str]], left: list[int]
                  ) -> tuple[list[PagePair], list[str], list[int]]:
    """Pictures of the chosen pairs with method ``left[i]`` on the left; a pair that cannot be
    drawn is logged and left out."""
    body = dataset_body(data)
    cache: dict[str, tuple[tuple[FitResults, FitResults], ObjectTemplate]] = {}
    out, ids, sides = [], [], []
    for (category, image_id), first in zip(chosen, left):
        if category not in cache:
            cache[category] = ((load_fits(folders[0], category), load_fits(folders[1], category)),
                               dataset_template(data, category))
        fits, template = cache[category]
        try:
            photo, panels = pair_pictures(data, category, image_id, fits, body, template)
        except (ValueError, OSError, KeyError) as err:
            log.warning("study: pair %s/%s left out: %s", category, image_id, err)
            continue
        out.append(PagePair(image_id, png_uri(photo), png_uri(panels[first]), png_uri(panels[1 - first])))
        ids.append(image_id)
        sides.append(first)
    return out, ids, sides


__all__ = ["StudyFiles", "StudyKey", "common_images", "draw_pairs", "key_path_for", "make_study", "method_label", "method_labels",
           "pair_pictures"]
