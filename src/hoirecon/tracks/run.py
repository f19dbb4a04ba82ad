"""A RHOBIN track end to end on a BEHAVE tree: read the frames' evidence, fit, write, score.

Steps, each resumable under the output folder ``out``:

1. ``out/data``: the split's frames of Kinect ``kinect`` read from their EVIDENCE only (OpenPose
   ``k*.color.json``, masks, estimator files beside the frames; object templates from
   ``objects/``, given their vertex mean as the one object keypoint when they have no keypoint
   file) into a hoirecon dataset; the reader never opens the fits (``truth=False``).
   Reused while the tree, sequences, Kinect and body model are the same, read afresh otherwise
   (the fits of step 2 then belong to other data: the fit refuses them, use another ``out``).
2. ``out/fit``: every object's frames fitted with the preset (part files: an interrupted run
   picks up where it stopped; a frame that cannot be read or fitted is reported and skipped).
3. ``out/<track>/results.pkl``: the official submission (:mod:`hoirecon.tracks.submission`).
4. Scoring with the track's protocol against ``ref`` (default: ``out/ref.pkl`` built from the
   tree's fits, which only this step and the evaluation read), report in ``out/<track>/report``.

The three tracks share steps 1-2, so running them one after the other into the same ``out``
fits once.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hoirecon.body import BodyModel, load_body_model
from hoirecon.body.loading import find_model_file
from hoirecon.data import load_dataset
from hoirecon.data.readers.behave import behave_templates, read_behave
from hoirecon.data.readers.convert import convert
from hoirecon.eval.protocols import (
    COVERAGE_MIN,
    ProtocolResult,
    evaluate_human_files,
    evaluate_joint_files,
    evaluate_object_files,
)
from hoirecon.eval.protocols.bodies import BodyModels
from hoirecon.eval.protocols.submission import read_pickle
from hoirecon.eval.report import write_report
from hoirecon.fitting.optimize import FitConfig
from hoirecon.fitting.pipeline import NO_PRIOR_FALLBACK, fit_dataset
from hoirecon.io.atomic import atomic_write_json
from hoirecon.io.fits import fitted_categories, load_fits, read_fit_info
from hoirecon.io.provenance import file_hash
from hoirecon.tracks.keys import frame_folders, object_of, parse_image_id, read_split
from hoirecon.tracks.reference import REFERENCE_KINECT, make_reference
from hoirecon.tracks.submission import build_results, check_track, reference_order, world_rows, write_results
from hoirecon.tracks.world import BehaveCalibration

log = logging.getLogger(__name__)

EMBEDDED_NOTE = ("the embedded body was used (no --body-model): these numbers are not comparable to the "
                 "RHOBIN leaderboard, whose evaluator poses SMPL-H bodies")
INPUTS_FILE = "inputs.json"
T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""(stage, done, total) callback."""


@dataclass
class TrackRun:
    """What :func:`run_track` produced."""

    track: str
    results_path: Path
    ref_path: Path | None
    result: ProtocolResult | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(frame or image, reason) of everything left out: unreadable views, unfitted images."""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrackInputs:
    """The inputs of a track run."""

    behave: Path
    split: Path
    out: Path
    config: FitConfig
    priors: dict[str, Path] = field(default_factory=dict)
    """Object name -> trained prior file."""
    body_model: Path | None = None
    """SMPL / SMPL-H model file or folder (the gender picks the file for scoring); None = embedded."""
    ref: Path | None = None
    kinect: int = REFERENCE_KINECT
    min_coverage: float = COVERAGE_MIN
    """Smallest share of the reference's evaluated frames the submission must cover (RHOBIN: 97.5%)."""


def fitting_body(path: Path | None) -> tuple[BodyModel, str]:
    """(model, its manifest name) of the fit: the embedded body, a file, or a folder's neutral
    model (else its male one: SMPL-H ships no neutral)."""
    if path is None:
        return load_body_model(None), "embedded"
    if Path(path).is_file():
        return load_body_model(path), str(Path(path).resolve())
    for gender in ("neutral", "male"):
        try:
            file = find_model_file(path, gender)
        except FileNotFoundError:
            continue
        return load_body_model(file), str(file.resolve())  # the file is recorded: the fit loads the same one
    raise ValueError(f"{path}: no neutral or male body model file in this folder")


def _frame_count(behave: Path, sequences: list[str]) -> int:
    """Frame folders of the sequences (the views to read, one Kinect each)."""
    calib = BehaveCalibration(behave)
    return sum(len(frame_folders(calib.sequence_dir(s))) for s in sequences)


def _counted(items: Iterable[T], total: int, progress: Progress | None) -> Iterator[T]:
    """``items``, reporting ``("read frames", done, total)`` as they pass."""
    for done, item in enumerate(items, start=1):
        if progress is not None:
            progress("read frames", min(done, total), total)
        yield item


def _prepare_data(inputs: TrackInputs, sequences: list[str], body: BodyModel, body_name: str,
                  skipped: list[tuple[str, str]], progress: Progress | None) -> Path:
    data = inputs.out / "data"
    record = {"behave": str(inputs.behave.resolve()), "sequences": sequences, "kinect": inputs.kinect,
              "body_model": body_name}
    marker = data / INPUTS_FILE
    saved = read_json(marker)
    if isinstance(saved, dict) and saved.get("inputs") == record:
        log.info("%s: reusing the frames read before", data)
        skipped += [tuple(item) for item in saved.get("skipped", [])]
        return data
    if saved is not None:  # read by an earlier run with other inputs: start that folder afresh
        log.info("%s: the tree, split, Kinect or body model changed; reading the frames again", data)
        shutil.rmtree(data)
    split = inputs.out / "split.json"
    atomic_write_json(split, {"train": [], "test": sequences})
    objects = sorted({object_of(s) for s in sequences})
    root = BehaveCalibration(inputs.behave).objects_root
    templates = behave_templates(root, objects)
    reader = read_behave(inputs.behave, "test", sequences=sequences, views=[inputs.kinect], body_model=body,
                         templates=templates, truth=False, split_file=split)
    report = convert(_counted(reader, _frame_count(inputs.behave, sequences), progress), data, "behave-rhobin",
                     copy_images=False, templates=reader.templates, body_model=body_name)
    found = [(str(p.path), p.message) for p in reader.problems] + [(s.image_id, s.reason) for s in report.skipped]
    skipped += found
    atomic_write_json(marker, {"inputs": record, "skipped": found})
    return data


def read_json(path: Path) -> object:
    """A JSON file's content (None when unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def preset_used(config: FitConfig, prior: Path | None) -> str:
    """The preset a category is fitted with: the chosen one, or its fallback without a prior."""
    if config.weights.prior > 0 and prior is None:
        return NO_PRIOR_FALLBACK.get(config.name, f"{config.name}-without-prior")
    return config.name


def _fit(inputs: TrackInputs, data: Path, progress: Progress | None, skipped: list[tuple[str, str]]) -> tuple[Path, str]:
    """Fit every object of the dataset; (fits folder, the presets used, joined with '/')."""
    fits, used = inputs.out / "fit", set()
    for category in sorted(load_dataset(data).categories):
        step = None if progress is None else (lambda done, total, c=category: progress(f"fit {c}", done, total))
        prior = inputs.priors.get(category)
        run = fit_dataset(data, category, "test", inputs.config, fits, prior, progress=step)
        skipped += run.skipped
        used.add(preset_used(inputs.config, prior))
    return fits, "/".join(sorted(used))


def scoring_models(body_model: Path | None) -> Callable[[str], BodyModel] | None:
    """gender -> the model the evaluator poses a written body with, for a model folder (the gender
    picks the file, as in scoring); None for one file or the embedded body (the fit's own model)."""
    if body_model is None or not Path(body_model).is_dir():
        return None
    return BodyModels(body_model, note_genders=False).get


def write_behave_results(fits: Path, behave: Path, track: str, body: BodyModel, ref: Path | None, path: Path,
                         scoring: Callable[[str], BodyModel] | None = None) -> Path:
    """``results.pkl`` of ``track`` at ``path`` from every category fitted under ``fits`` (BEHAVE
    images), in the world frame of the tree ``behave``, frames in ``ref``'s order when given;
    ``scoring`` as in :func:`~hoirecon.tracks.submission.world_rows`. ``<path>.provenance.json``
    beside it records the fits (their ``fit.json``), the tree and the reference.

    Raises:
        ValueError: no fits, or fits of images that are not BEHAVE frames.
    """
    calib = BehaveCalibration(behave)
    rows = {}
    for category in fitted_categories(fits):
        rows.update(world_rows(load_fits(fits, category).columns, calib, body, scoring))
    if not rows:
        raise ValueError(f"{fits}: no fits (expected fits/<category>.npz)")
    genders = {key.sequence: calib.info(key.sequence).gender for key in rows}
    order = None if ref is None else reference_order(read_pickle(ref))
    written = write_results(build_results(rows, genders, track, order), path)
    atomic_write_json(path.with_name(path.name + ".provenance.json"), {
        "track": track, "fits": str(Path(fits).resolve()), "fit_info": read_fit_info(fits),
        "behave": str(Path(behave).resolve()), "frame": "BEHAVE world (colour camera k1)",
        "ref": None if ref is None else {"path": str(Path(ref).resolve()), "hash": file_hash(ref)}})
    return written


def fits_are_behave(fits: Path) -> bool:
    """Whether the fits under ``fits`` are of BEHAVE images (ids ``<sequence>_<frame>_k<k>``)."""
    for category in fitted_categories(fits):
        ids = load_fits(fits, category).columns["image_id"]
        if len(ids):
            return parse_image_id(str(ids[0])) is not None
    return False


def _score(track: str, pred: Path, ref: Path, inputs: TrackInputs) -> ProtocolResult:
    if track == "object":
        return evaluate_object_files(pred, ref, min_coverage=inputs.min_coverage)
    if track == "human":
        return evaluate_human_files(pred, ref, inputs.body_model, min_coverage=inputs.min_coverage)
    return evaluate_joint_files(pred, ref, inputs.body_model, min_coverage=inputs.min_coverage)


def _reference(inputs: TrackInputs, sequences: list[str], notes: list[str]) -> Path | None:
    if inputs.ref is not None:
        return inputs.ref
    path = inputs.out / "ref.pkl"
    try:
        report = make_reference(inputs.behave, sequences, path, inputs.kinect)
    except ValueError as error:
        notes.append(f"no reference to score against ({error}); give --ref")
        return None
    if report.skipped:
        notes.append(f"the reference built from the tree leaves out {len(report.skipped)} frame(s) without fits")
    return path


def run_track(track: str, inputs: TrackInputs, progress: Progress | None = None) -> TrackRun:
    """Run ``track`` ('object', 'human', 'joint') end to end (see the module docstring).

    Raises:
        ValueError / LayoutError: a bad split file, tree or option; CoverageError: the fitted
        frames cover less than 97.5% of the reference's evaluated frames.
    """
    check_track(track)
    sequences = read_split(inputs.split)
    skipped: list[tuple[str, str]] = []
    notes = [] if inputs.body_model is not None else [EMBEDDED_NOTE]
    body, body_name = fitting_body(inputs.body_model)
    data = _prepare_data(inputs, sequences, body, body_name, skipped, progress)
    fits, presets = _fit(inputs, data, progress, skipped)
    ref = _reference(inputs, sequences, notes)
    pred = write_behave_results(fits, inputs.behave, track, body, ref, inputs.out / track / "results.pkl",
                                scoring_models(inputs.body_model))
    result = None
    if ref is not None:
        result = _score(track, pred, ref, inputs)
        result.method = f"hoirecon ({presets})"
        write_report(result, inputs.out / track / "report")
    return TrackRun(track, pred, ref, result, skipped, notes)
