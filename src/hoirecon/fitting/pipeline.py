"""Fitting a whole dataset split: initialise, build contact sets, optimise in batches, save.

Each finished batch is saved at once under ``<out>/fits/.parts/`` (keyed by a fingerprint of
the configuration and the dataset), so an interrupted run resumes at the first unfinished batch;
a part file that is unreadable or holds other images is fitted again. A sample that cannot be
fitted (non-finite or out-of-range evidence, or a non-finite result) is reported in ``fit.json``
and skipped: no row of the fits holds a NaN or an infinity. ``fit.json`` also records where the
fit came from (``fitting/record.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path

import numpy as np
import torch

from hoirecon.body import BodyModel, load_body_model
from hoirecon.data import Dataset, Sample, load_dataset
from hoirecon.data.templates import dataset_template
from hoirecon.device import DeviceLike, resolve_device
from hoirecon.fitting.batching import check_sample
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.device_copies import model_on_device
from hoirecon.fitting.init import InitBatch
from hoirecon.fitting.occlusion import compute_occlusion_maps
from hoirecon.fitting.optimize import FitConfig, optimise
from hoirecon.fitting.phosa import attach_phosa
from hoirecon.fitting.posing import pose_body
from hoirecon.fitting.prepare import Prefetcher, PreparedBatch, prepare_samples
from hoirecon.fitting.record import check_output, fit_record, write_record
from hoirecon.fitting.state import FitBatch, FitState
from hoirecon.io.arrays import load_columns
from hoirecon.io.atomic import atomic_save_npz
from hoirecon.io.errors import FileFormatError
from hoirecon.io.fits import FitResults, save_fits
from hoirecon.io.occlusion_files import load_occlusion_maps
from hoirecon.prior.fitting_prior import load_fitting_prior

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
"""Callback (images done, images total)."""


@dataclass
class FitRun:
    """Outcome of fitting one category split."""

    results: FitResults
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(image id, reason) of every image of the split that has no fit."""
    notes: dict[str, list[str]] = field(default_factory=dict)
    """Per image, the fallbacks its initialisation needed."""
    provenance: list[str] = field(default_factory=list)
    """What the record says about the inputs: refusals overridden with ``force``, a prior of other data."""


def _columns(ctx: FitContext, samples: Sequence[Sample], state: FitState, terms: dict,
             body: BodyModel | None = None) -> dict[str, np.ndarray]:
    """Result columns of one optimised batch (see ``hoirecon.io.fits``); ``body`` is the context's
    body model on the state's device (default: the context's own)."""
    with torch.no_grad():
        posed = pose_body(body if body is not None else ctx.body, state.betas, state.body_pose)
        rot_go = state.orient_matrix()
        obj_r = state.obj_rotation()
        cols = {
            "image_id": np.array([s.image_id for s in samples]),
            "betas": state.betas, "body_pose": state.body_pose, "global_orient": state.orient,
            "transl": state.pelvis - posed.rest_pelvis, "joints_3d": posed.joints[:, :22],
            "object_rotation": obj_r, "object_translation": state.obj_translation, "object_scale": state.obj_scale(),
            "object_rotation_cam": rot_go @ obj_r,
            "object_translation_cam": state.to_camera(state.obj_translation[:, None])[:, 0],
        }
        cols.update({f"loss_{k}": v for k, v in terms.items()})
    return {k: (v.detach().double().cpu().numpy() if isinstance(v, torch.Tensor) else v) for k, v in cols.items()}


DEVICE_BATCH_SIZES = {"cpu": 64, "cuda": 256}
"""Images per batch when the configuration leaves it to the device (``batch_size`` None).

CPU: 64, the size every CPU figure of bench/README.md was taken at, kept so that CPU fits stay
what they were. GPU: 256. A step is a fixed sequence of a few hundred small kernels that leave a
GPU mostly idle at 64 images, so its time should hardly grow with the batch and the images per
second should grow almost in proportion (a design estimate: no GPU figure has been taken yet).
Memory is no limit there: autograd keeps about 0.7 MB per image in a step (a prior of the paper's
size, 8 virtual cameras, 128 contact points a side; measured on the CPU), under 200 MB at 256.
A device of another kind gets the CPU's size."""


def batch_size_for(config: FitConfig, device: torch.device) -> int:
    """The batch size a fit on ``device`` uses: the configuration's when it sets one (``--batch-size``),
    else the device's (:data:`DEVICE_BATCH_SIZES`)."""
    if config.batch_size is not None:
        return config.batch_size
    return DEVICE_BATCH_SIZES.get(device.type, DEVICE_BATCH_SIZES["cpu"])


def fit_device(ctx: FitContext) -> torch.device:
    """The device a context's optimisation (and its extra terms) runs on."""
    return resolve_device(ctx.device)


def fit_samples(ctx: FitContext, samples: Sequence[Sample], step: Callable[[int, int], None] | None = None,
                prepared: PreparedBatch | None = None) -> tuple[dict[str, np.ndarray], InitBatch]:
    """Initialise and optimise one batch of samples; returns its result columns and the init.

    The initialisation (PnP, SMPLify, contact sets) reads files and runs on the CPU (``prepared``
    when it was done beforehand, see :func:`prepare_samples`); the batch, the state, the body
    model, the prior and the extra terms (PHOSA, which casts its rays on the CPU) then go to the
    context's device for the optimisation, and the results come back once at the end.
    """
    device = fit_device(ctx)
    prepared = prepared or prepare_samples(ctx, samples)
    init, cameras = prepared.init, prepared.cameras
    batch = FitBatch(**{f.name: getattr(prepared.batch, f.name).to(device) for f in dataclass_fields(prepared.batch)})
    state = FitState(batch, cameras.to(device))
    prior = model_on_device(ctx.prior, device) if ctx.prior is not None and ctx.config.weights.prior > 0 else None
    log_prob = prior.log_prob_fn(samples) if prior is not None else None
    extra = ctx.extra_terms(ctx, samples, init, batch) if ctx.extra_terms is not None else None
    body = model_on_device(ctx.body, device)
    terms = optimise(state, batch, body, ctx.template, ctx.config, log_prob, step, extra)
    return _columns(ctx, samples, state, terms, body), init


def fingerprint(ctx: FitContext, extra: dict) -> str:
    """Short hash of the configuration, used to name resumable batch files."""
    blob = json.dumps({"config": asdict(ctx.config), **extra}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _usable(samples: list[Sample], k: int) -> tuple[list[Sample], list[tuple[str, str]]]:
    good, skipped = [], []
    for s in samples:
        try:
            check_sample(s, k)
            good.append(s)
        except ValueError as err:
            skipped.append((s.image_id, str(err)))
            log.warning("skipping %s", err)
    return good, skipped


@dataclass
class SplitBatch:
    """One batch of a split and the part file its result is saved to."""

    start: int
    """Index of its first sample among the usable samples; names the part file."""
    samples: list[Sample]
    part: Path


@dataclass
class SplitPlan:
    """A split cut into batches: what every backend fits, in the same order and files."""

    batches: list[SplitBatch]
    skipped: list[tuple[str, str]]
    """(image id, reason) of the samples that cannot be fitted."""
    total: int
    """Number of usable samples."""


def plan_split(ctx: FitContext, samples: list[Sample], out: Path, key: str) -> SplitPlan:
    """Check the samples and cut the usable ones into batches, each with its part file under ``out``."""
    good, skipped = _usable(samples, ctx.template.num_keypoints)
    if not good:
        raise ValueError(f"no usable samples to fit in category {ctx.category!r} ({len(skipped)} skipped)")
    size = batch_size_for(ctx.config, fit_device(ctx))
    batches = [SplitBatch(start, good[start:start + size],
                          Path(out) / "fits" / ".parts" / f"{ctx.category}-{key}-{start:07d}.npz")
               for start in range(0, len(good), size)]
    return SplitPlan(batches, skipped, len(good))


def init_notes(init: InitBatch) -> dict[str, list[str]]:
    """The fallbacks each image of a batch needed, for the images that needed any."""
    return {i: n for i, n in zip(init.image_ids, init.notes) if n}


def read_part(batch: SplitBatch) -> dict[str, np.ndarray] | None:
    """The saved columns of a finished batch; None when there are none yet, or when the file is
    unreadable or holds other images (it is then removed, with a warning, and the batch refitted)."""
    if not batch.part.is_file():
        return None
    try:
        cols = load_columns(batch.part)
        ids = [str(i) for i in cols["image_id"]]
        if ids != [s.image_id for s in batch.samples] or any(len(v) != len(ids) for v in cols.values()):
            raise FileFormatError(f"{batch.part}: holds other images than its batch")
    except (FileFormatError, KeyError, TypeError) as err:
        log.warning("%s; fitting the batch again", err)
        batch.part.unlink(missing_ok=True)
        return None
    return cols


def finite_rows(columns: dict[str, np.ndarray]) -> tuple[np.ndarray, list[list[str]]]:
    """(N,) rows whose every number is finite, and per row the columns that are not."""
    n = len(columns["image_id"])
    bad: list[list[str]] = [[] for _ in range(n)]
    for name, value in columns.items():
        if np.asarray(value).dtype.kind in "fc":
            for row in np.flatnonzero(~np.isfinite(np.asarray(value).reshape(n, -1)).all(axis=1)):
                bad[row].append(name)
    return np.array([not b for b in bad], dtype=bool), bad


def merge_split(ctx: FitContext, out: Path, parts: list[dict[str, np.ndarray]], skipped: list[tuple[str, str]],
                notes: dict[str, list[str]]) -> FitRun:
    """Concatenate the batches' columns (in batch order), drop rows with a non-finite value (they
    join ``skipped``), save the category's fits, return the run."""
    if not parts:
        raise ValueError(f"no batch of category {ctx.category!r} was fitted ({len(skipped)} images skipped)")
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    keep, bad = finite_rows(merged)
    for row in np.flatnonzero(~keep):
        reason = f"the fit diverged: non-finite values in {', '.join(bad[row])}"
        log.warning("skipping %s: %s", merged["image_id"][row], reason)
        skipped = [*skipped, (str(merged["image_id"][row]), reason)]
    if not keep.any():
        raise ValueError(f"no image of category {ctx.category!r} has a finite fit ({len(skipped)} skipped: "
                         f"{', '.join(i for i, _ in skipped[:5])})")
    merged = {k: v[keep] for k, v in merged.items()}
    results = FitResults(ctx.category, merged)
    save_fits(Path(out), results)
    return FitRun(results, skipped, notes)


def fit_split(ctx: FitContext, samples: list[Sample], out: Path, key: str, progress: Progress | None = None,
              prefetch: bool | None = None) -> FitRun:
    """Fit samples in batches with per-batch checkpoints under ``out``; returns all results.

    ``prefetch`` (default: when the fit runs off the CPU) prepares the next batch during the
    current batch's optimisation (:class:`Prefetcher`); on the CPU both compete for the same cores.
    """
    plan = plan_split(ctx, samples, out, key)
    finished = [read_part(batch) for batch in plan.batches]
    todo = [i for i, cols in enumerate(finished) if cols is None]
    prefetch = fit_device(ctx).type != "cpu" if prefetch is None else prefetch
    ahead = Prefetcher(ctx, [batch.samples for batch in plan.batches], todo) if prefetch and len(todo) > 1 else None
    parts, notes, done = [], {}, 0
    try:
        for index, batch in enumerate(plan.batches):
            cols = finished[index]
            if cols is None:
                cols, init = fit_samples(ctx, batch.samples, prepared=ahead.take(index) if ahead else None)
                notes.update(init_notes(init))
                atomic_save_npz(batch.part, cols)
            parts.append(cols)
            done += len(batch.samples)
            if progress is not None:
                progress(done, plan.total)
    finally:
        if ahead is not None:
            ahead.close()
    return merge_split(ctx, out, parts, plan.skipped, notes)


SplitRunner = Callable[[FitContext, list[Sample], Path, str, Progress | None], FitRun]
"""A backend: fits a split like :func:`fit_split` (same arguments, part files and result)."""


NO_PRIOR_FALLBACK = {"prior": "none", "prior+contact": "contact"}
"""Preset used instead when a category has no trained prior."""


def without_prior(config: FitConfig, category: str) -> FitConfig:
    """The configuration minus its prior term, named after the documented fallback preset (with a warning)."""
    fallback = NO_PRIOR_FALLBACK.get(config.name, f"{config.name}-without-prior")
    log.warning("category %r has no trained prior (pass --prior FILE): fitting with preset %r instead of %r",
                category, fallback, config.name)
    return replace(config, name=fallback, weights=replace(config.weights, prior=0.0))


def load_context(data: Dataset, category: str, config: FitConfig, prior_path: str | Path | None,
                 occlusion_path: str | Path | None) -> FitContext:
    """Template, body model, prior and occlusion maps for fitting a category of ``data``."""

    body_name = data.manifest.get("body_model", {}).get("name", "embedded")
    body = load_body_model(None if body_name == "embedded" else body_name)
    template = dataset_template(data, category)
    prior = None
    if config.weights.prior > 0 and prior_path is None:
        config = without_prior(config, category)
    if config.weights.prior > 0:
        prior = load_fitting_prior(prior_path)
        expected = 22 + template.num_keypoints
        if prior.prior.n_keypoints != expected:
            raise ValueError(f"{prior_path}: the prior models {prior.prior.n_keypoints} keypoints, category "
                             f"{category!r} has {expected} (22 body + {template.num_keypoints} object): "
                             "a prior of another category?")
    occlusion = None
    if config.weights.contact > 0:
        occlusion = (load_occlusion_maps(occlusion_path, category) if occlusion_path is not None
                     else compute_occlusion_maps(data, category, "train", body))
    return attach_phosa(FitContext(category, template, body, config, prior, occlusion))


def _usable_rows(data: Dataset, category: str, samples: list[Sample]) -> tuple[list[Sample], list[tuple[str, str]]]:
    """The samples whose evidence passes the dataset's value rules, and (id, reason) of the others."""
    defects = data.row_defects(category)
    skipped = [(s.image_id, defects[s.image_id]) for s in samples if s.image_id in defects]
    for image_id, reason in skipped:
        log.warning("skipping %s: %s", image_id, reason)
    return [s for s in samples if s.image_id not in defects], skipped


def fit_dataset(data_dir: str | Path, category: str, split: str, config: FitConfig, out: str | Path,
                prior_path: str | Path | None = None, occlusion_path: str | Path | None = None,
                progress: Progress | None = None, limit: int | None = None,
                runner: SplitRunner = fit_split, force: bool = False, device: DeviceLike = None) -> FitRun:
    """Fit every sample of a dataset category split and write ``<out>/fits`` and ``<out>/fit.json``.

    ``runner`` fits the split: :func:`fit_split` in this process, or another backend
    (``hoirecon.fitting.backends``) with the same part files and results. Before any work, an
    ``out`` holding fits of another dataset or configuration, and a prior of another category,
    are refused (``ProvenanceError``) unless ``force``; what was overridden is recorded.
    ``device`` (see ``hoirecon.device``) is resolved here, before any work, and travels with the
    context to every batch (and every Ray task).
    """
    resolved = resolve_device(device)
    if limit is not None and limit < 1:
        raise ValueError(f"limit: expected a number of images >= 1, got {limit}")
    config = replace(config, batch_size=batch_size_for(config, resolved))  # recorded and fingerprinted as used
    data = load_dataset(data_dir)
    data.category_info(category)
    if config.weights.prior > 0 and prior_path is None:
        config = without_prior(config, category)
    record, notes = fit_record(data, category, split, config, prior_path, occlusion_path, force)
    notes += check_output(Path(out), category, record, force)
    record.forced = [n for n in notes if n.startswith("forced")]
    ctx = load_context(data, category, config, prior_path, occlusion_path)
    ctx.device = str(resolved)
    fit_device(ctx)
    samples = list(data.samples(category, split))
    if not samples:
        raise ValueError(f"{data_dir}: no samples in category {category!r}, split {split!r}")
    usable, skipped = _usable_rows(data, category, samples[:limit])
    if not usable:
        raise ValueError(f"{data.annotation_path(category)}: no usable {split!r} image of {category!r} "
                         f"({len(skipped)} skipped; first: {skipped[0][0]}: {skipped[0][1]})")
    key = fingerprint(ctx, {"prior": record.prior and record.prior["hash"],
                            "occlusion": record.occlusion and record.occlusion["hash"], "split": split,
                            "dataset": record.dataset_hash})
    run = runner(ctx, usable, Path(out), key, progress)
    run.skipped = skipped + run.skipped
    run.provenance = notes
    write_record(Path(out), category, record, len(samples), len(run.results.image_ids), run.skipped, run.notes)
    return run
