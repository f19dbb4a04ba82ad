"""CLI: ``hoirecon reconstruct`` (also ``fit-image``): a person and an object in 3D from one photo.

The person comes from a keypoint file in any layout :mod:`hoirecon.data.readers.person_keypoints`
reads, or from the person detector (``hoirecon.detect``) when none is given, whose silhouette
then serves as the person mask. The object comes from its keypoints, correspondences or mask on
a built-in template or a mesh given with ``--template``. The fit starts from a named preset of
``fitting.optimize.PRESETS``; every FitConfig and LossWeights option replaces that field of the
preset. The prior is the ``--prior`` file, else the built-in category's default prior shipped with
the package; a contact term reads the mean occlusion maps stored in that prior file and needs
both silhouettes (see :mod:`hoirecon.fitting.image_prior`).

Stages: detect (when needed), read the evidence, the starting body, the starting object (the
silhouette search, with only an object mask), the fit, the pictures; one line each. Warnings
logged on the way go into ``reconstruction.json``. Every file is read and checked before the fit, and the outputs are written only
after it (see :mod:`hoirecon.viz.outputs`), so bad input leaves the output folder untouched.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.markup import escape

from hoirecon.body import BodyModel, load_body_model
from hoirecon.cli.common import console, exit_with_error, writing
from hoirecon.cli.device_option import device_option
from hoirecon.cli.fit_cmd import FIT_RANGES, prior_fallbacks
from hoirecon.cli.options import ConfigArgs, ConfigOptions, choice_option
from hoirecon.detect import DetectorUnavailableError, PersonDetection, detect_person, write_detection
from hoirecon.detect.writers import KEYPOINTS_FILE, MASK_FILE
from hoirecon.device import device_scope
from hoirecon.fitting.batching import check_sample
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.image_prior import ImagePrior, PriorRequest, choose_prior
from hoirecon.fitting.optimize import PRESETS, FitConfig, LossWeights, get_preset
from hoirecon.fitting.phosa import attach_phosa
from hoirecon.fitting.pipeline import fit_samples, init_notes
from hoirecon.fitting.single import (
    OUTSIDE_MARGIN,
    ImageEvidence,
    ImageInputs,
    PreparedImage,
    initial_body,
    load_evidence,
    prepare_object,
    upright_image,
)
from hoirecon.io.fits import FitResults
from hoirecon.objects import CATEGORIES, ObjectTemplate, get_category_template, load_template
from hoirecon.viz.outputs import RECORD_FILE, ReconstructionOutputs, build_outputs

IMAGE_PRESETS = dict(PRESETS)
"""The presets one image takes (a contact term needs both silhouettes and a prior file with occlusion maps)."""
IMAGE_DEFAULT_PRESET = "prior"
IMAGE_FIELDS = ("object_steps", "joint_steps", "lr", "virtual_cameras",
                *(f"weights.{f.name}" for f in fields(LossWeights)))
"""The FitConfig and LossWeights fields one image's fit exposes (one image is one batch)."""
IMAGE_OPTIONS = ConfigOptions(
    get_preset(IMAGE_DEFAULT_PRESET), IMAGE_FIELDS, prefixes={"weights": "weight"}, variants=IMAGE_PRESETS,
    variants_title="--preset", ranges={path: FIT_RANGES[path] for path in IMAGE_FIELDS if path in FIT_RANGES},
)
log = logging.getLogger(__name__)
DETECTION_FOLDER = "detection"
"""Where the detector's keypoints and mask are saved in the output folder."""
_FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Request:
    """What ``reconstruct`` was asked to do."""

    image: Path
    category: str
    out: Path
    inputs: ImageInputs
    """The evidence files (the person keypoints and mask may still be None: the detector's)."""
    template: Path | None
    template_keypoints: Path | None
    preset: str
    prior: Path | None


@dataclass
class Run:
    """What a reconstruction found along the way, for the record (warnings: every one logged)."""

    evidence: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Files to save besides the outputs (the detection), by relative path."""


class _WarningLog(logging.Handler):
    """Keeps the text of every warning logged while a reconstruction runs."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def collect_warnings(messages: list[str]) -> Iterator[None]:
    """Append the warnings logged by ``hoirecon`` inside the block to ``messages``."""
    handler, logger = _WarningLog(messages), logging.getLogger("hoirecon")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


@contextmanager
def stage(name: str, summary: Callable[[], str]) -> Iterator[None]:
    """Print one line when the stage ``name`` ends: ``summary()`` and the seconds it took."""
    start = time.perf_counter()
    yield
    console.print(f"[bold]{name}[/bold]: {escape(summary())} ({time.perf_counter() - start:.1f} s)", highlight=False,
                  soft_wrap=True)


def object_template(category: str, template: Path | None, keypoints: Path | None) -> ObjectTemplate:
    """The built-in template of ``category``, or the mesh ``template`` (with its keypoint file)."""
    if template is None:
        if keypoints is not None:
            raise ValueError(f"--template-keypoints {keypoints}: only a --template mesh takes a keypoint file")
        if category not in CATEGORIES:
            raise ValueError(f"--category: unknown category {category!r}; choose from {', '.join(CATEGORIES)} "
                             "or give a --template mesh")
        return get_category_template(category)
    if not _FILE_NAME.fullmatch(category):
        raise ValueError(f"--category: {category!r} names the fits file; use letters, digits, '_', '-', '.'")
    return load_template(template, keypoints)


def _check_request(request: Request, template: ObjectTemplate) -> None:
    """Checks that need the template and the paths together, before anything runs."""
    if request.out.exists() and not request.out.is_dir():
        raise ValueError(f"--out {request.out}: exists and is not a folder")
    if request.inputs.person is not None and request.inputs.keypoints is None:
        raise ValueError("--person-index: needs --person-keypoints (the detector finds one person)")
    if request.inputs.object_keypoints is not None and template.num_keypoints == 0:
        source = request.template_keypoints or request.template
        raise ValueError(f"{source}: the template has no keypoints (no keypoint file), so --object-keypoints "
                         f"{request.inputs.object_keypoints} cannot be matched to it; give --template-keypoints, "
                         "or --correspondences or --object-mask instead")


def _inside(detection: PersonDetection) -> tuple[PersonDetection, int]:
    """The detection with confidence 0 on keypoints far outside the image (the pose model
    extrapolates unseen body parts), and how many were cleared."""
    width, height = detection.image_size
    margin = OUTSIDE_MARGIN * max(width, height)
    uv = detection.keypoints[:, :2]
    far = ((uv < -margin) | (uv > np.array([width, height]) + margin)).any(axis=1) & (detection.keypoints[:, 2] > 0)
    keypoints = detection.keypoints.copy()
    keypoints[far, 2] = 0.0
    return replace(detection, keypoints=keypoints), int(far.sum())


def detect(request: Request, scratch: Path, run: Run) -> ImageInputs:
    """Run the person detector; its files go to ``scratch`` and stand in for the missing inputs."""
    detection: PersonDetection | None = None

    def summary() -> str:
        box = ", ".join(f"{v:.0f}" for v in detection.box)
        return f"person found (score {detection.score:.2f}, box x, y, w, h = {box})"

    with stage("detect", summary):
        detection, cleared = _inside(detect_person(request.inputs.image))
        files = write_detection(detection, scratch / DETECTION_FOLDER, request.inputs.image.stem)
    if cleared:
        log.warning("detector: %d keypoint(s) far outside the image were given confidence 0", cleared)
    run.evidence["detector"] = {"used": True, "score": detection.score, "box": detection.box.tolist(),
                                "keypoints": f"{DETECTION_FOLDER}/{KEYPOINTS_FILE}",
                                "person_mask": None if request.inputs.human_mask else f"{DETECTION_FOLDER}/{MASK_FILE}"}
    run.extra = {f"{DETECTION_FOLDER}/{KEYPOINTS_FILE}": files.keypoints.read_bytes(),
                 f"{DETECTION_FOLDER}/{MASK_FILE}": files.mask.read_bytes()}
    return replace(request.inputs, keypoints=files.keypoints, human_mask=request.inputs.human_mask or files.mask)


def _evidence_record(request: Request, prepared: PreparedImage, run: Run) -> dict[str, Any]:
    """Which files (and the detector) the fit used."""
    given = request.inputs
    path = lambda p: None if p is None else str(p)  # noqa: E731
    record = {"image": str(request.image), "person_keypoints": path(given.keypoints) or "detector",
              "person_index": given.person, "person_mask": path(given.human_mask) or (
                  "detector" if "detector" in run.evidence else None),
              "object_mask": path(given.object_mask), "object_keypoints": path(given.object_keypoints),
              "correspondences": path(given.correspondences), "body_estimate": path(given.body_estimate),
              "template": path(request.template) or f"builtin:{request.category}",
              "template_keypoints": path(request.template_keypoints),
              "detector": {"used": False}, "body_init": prepared.body_source,
              "object_init": prepared.evidence.object_evidence}
    record.update(run.evidence)
    found = prepared.mask_search
    if found is not None:
        record["mask_search"] = {"iou": float(found.iou), "score": float(found.score), "scale": float(found.scale)}
    return record


def _config(request: Request, args: ConfigArgs[FitConfig], template: ObjectTemplate, body: BodyModel) -> ImagePrior:
    """The fit's configuration with its prior and occlusion maps (the ``--prior`` file, else the category's
    default prior; the documented fallback without any)."""
    config = args.build(get_preset(request.preset, batch_size=1))
    chosen = choose_prior(config, PriorRequest(request.category, request.prior, request.template is None,
                                               template.num_keypoints, body.num_vertices, len(template.vertices)))
    if chosen.config.weights.contact > 0 and (request.inputs.object_mask is None or (
            request.inputs.human_mask is None and request.inputs.keypoints is not None)):
        raise ValueError(f"--preset {chosen.config.name}: the contact term needs both silhouettes: give --object-mask, "
                         "and --person-mask with --person-keypoints (the detector supplies the person's)")
    console.print(f"[bold]prior[/bold]: {escape(chosen.label)}", highlight=False, soft_wrap=True)
    return chosen


def start(request: Request, template: ObjectTemplate, body: BodyModel, scratch: Path, run: Run
          ) -> PreparedImage:
    """Detect (without person keypoints), read and check the evidence, find the starting body and,
    with only an object mask, the object's pose. Files made on the way go to ``scratch``."""
    inputs = replace(request.inputs, image=upright_image(request.inputs.image, scratch))
    if inputs.keypoints is None:
        inputs = detect(replace(request, inputs=inputs), scratch, run)
    with stage("evidence", lambda: _describe(evidence, request)):
        evidence = load_evidence(inputs, template)
    with stage("body", lambda: "SMPLify fit to the keypoints" if source == "smplify"
               else f"from {request.inputs.body_estimate}"):
        body_init, source = initial_body(evidence, body)
    with stage("object", lambda: _describe_object(prepared)):
        prepared = prepare_object(evidence, request.category, template, body_init, source)
    check_sample(prepared.sample, template.num_keypoints)
    return prepared


def fit(request: Request, prepared: PreparedImage, ctx: FitContext) -> tuple[FitResults, dict[str, Any]]:
    """Optimise the body and object of the prepared image; returns its fits and ``fit.json``."""
    config = ctx.config
    with stage("fit", lambda: f"preset {config.name}, {config.object_steps} + {config.joint_steps} steps"):
        columns, init = fit_samples(ctx, [prepared.sample])
    notes = init_notes(init)
    for note in notes.get(prepared.sample.image_id, []):
        log.warning("initialisation: %s", note)
    info = {"image": str(request.image), "preset": config.name, "method": config.name, "config": asdict(config),
            "categories": {request.category: {"prior": None if request.prior is None else str(request.prior),
                                              "skipped": [], "notes": notes}}}
    return FitResults(request.category, columns), info


def fit_image(request: Request, args: ConfigArgs[FitConfig], run: Run) -> ReconstructionOutputs:
    """Every stage but the writing: detect, read and check, start, fit, render."""
    template = object_template(request.category, request.template, request.template_keypoints)
    _check_request(request, template)
    body = load_body_model()
    chosen = _config(request, args, template, body)
    run.evidence["prior"] = chosen.record
    ctx = attach_phosa(FitContext(request.category, template, body, chosen.config, chosen.prior, chosen.occlusion))
    with tempfile.TemporaryDirectory(prefix="hoirecon-") as scratch:
        prepared = start(request, template, body, Path(scratch), run)
        fits, fit_info = fit(request, prepared, ctx)
        fit_info["categories"][request.category]["prior"] = chosen.record["path"]
        with stage("render", lambda: "overlay, front / side / top views, scene"):
            outputs = build_outputs(prepared.sample, fits, body, template, prepared.evidence.camera, chosen.config,
                                    _evidence_record(request, prepared, run), run.warnings, fit_info)
    outputs.extra.update(run.extra)
    return outputs


def _describe(evidence: ImageEvidence, request: Request) -> str:
    """One line on the camera and the evidence."""
    camera = evidence.camera
    width, height = camera.image_size
    focal = f"focal {camera.focal:.0f} px" + (" (assumed: the longer image side; give --focal)"
                                              if camera.focal_assumed else "")
    person = "the detector" if request.inputs.keypoints is None else str(request.inputs.keypoints)
    return f"{width}x{height} image, {focal}; person from {person}"


def _describe_object(prepared: PreparedImage) -> str:
    """One line on what places the object at the start of the fit."""
    found = prepared.mask_search
    if found is None:
        return f"from its {prepared.evidence.object_evidence} (pose solved at the start of the fit)"
    return f"silhouette search over {found.num_hypotheses} hypotheses, IoU {found.iou:.2f}"


@IMAGE_OPTIONS.command
def reconstruct(
    args: ConfigArgs[FitConfig],
    image: Path = typer.Argument(None, help="The photo (JPEG, PNG, ...).", show_default=False),
    category: str = typer.Option(..., "--category", help="Object category: a built-in template, or the "
                                 "name of the --template mesh."),
    out: Path = typer.Option(..., "--out", help="Output folder: overlay.png, views.png, scene.glb, "
                             "reconstruction.json, fits/<category>.npz, fit.json."),
    person_keypoints: Path = typer.Option(None, "--person-keypoints", "--keypoints", help="Body keypoints of a "
                                          "2D pose detector (COCO results or annotations, mmpose, OpenPose, "
                                          "BEHAVE); default: run the person detector."),
    person_index: int = typer.Option(None, "--person-index", min=0, help="Which person of the keypoint file; default: "
                                     "the one overlapping the object evidence most."),
    person_mask: Path = typer.Option(None, "--person-mask", help="Person silhouette PNG/JPEG (above mid-grey is "
                                     "inside); default with the detector: its mask."),
    object_mask: Path = typer.Option(None, "--object-mask", help="Object silhouette PNG/JPEG (above mid-grey is "
                                     "inside); alone, it places the object by a silhouette search."),
    object_keypoints: Path = typer.Option(None, help=escape('JSON {"keypoints": [[u, v, conf], ...]} in '
                                                             "template keypoint order.")),
    correspondences: Path = typer.Option(None, help='JSON {"points", "pixels", "weights"} or an EPro-PnP / '
                                         "StackFLOW .pkl {x3d, x2d, w2d}."),
    body_estimate: Path = typer.Option(None, help="Body estimate of a human mesh estimator (HMR 2.0, PHALP, "
                                       "ROMP, PARE, SMPLer-X, FrankMocap, .npz); default: a SMPLify fit."),
    template: Path = typer.Option(None, "--template", help="Object mesh (.ply/.obj, metres) instead of the "
                                  "built-in template."),
    template_keypoints: Path = typer.Option(None, "--template-keypoints", help="Keypoint JSON of --template "
                                            "(default: <mesh stem>.keypoints.json beside it)."),
    focal: float = typer.Option(None, min=1.0, help="Focal length in pixels (default: the longer image side, recorded "
                                "as assumed)."),
    preset: str = choice_option(IMAGE_DEFAULT_PRESET, IMAGE_PRESETS, "Named loss weights and schedule; a contact "
                                "term needs --object-mask, the person's mask and a prior file holding occlusion "
                                "maps (the default priors do).", "--preset"),
    prior: Path = typer.Option(None, help="Trained prior file of the category; default: the category's default "
                               "prior shipped with hoirecon (built-in templates only); without any, "
                               f"{prior_fallbacks(IMAGE_PRESETS)} (with a warning)."),
    image_option: Path = typer.Option(None, "--image", hidden=True, help="The photo (instead of IMAGE)."),
    device: str | None = device_option(),
) -> None:
    """Reconstruct the person and the object of ONE photo in 3D, with pictures and a JSON record."""
    if (image is None) == (image_option is None):
        exit_with_error("IMAGE: give the photo once (as IMAGE or --image)")
    photo = Path(image or image_option)
    inputs = ImageInputs(photo, person_keypoints, object_keypoints, correspondences, body_estimate,
                         person_mask, object_mask, focal, person_index)
    request = Request(photo, category, out, inputs, template, template_keypoints, preset, prior)
    run = Run()
    try:
        with device_scope(device), collect_warnings(run.warnings):
            outputs = fit_image(request, args, run)
    except (ValueError, OSError, DetectorUnavailableError) as err:
        exit_with_error(err)
    try:
        with writing(out, folder=True):  # one writer per output folder
            paths = outputs.write(out)
    except OSError as err:
        exit_with_error(f"--out {out}: cannot write the outputs ({err})")
    console.print(f"[bold]wrote[/bold] {escape(str(out))}: "
                  f"{escape(', '.join(str(p.relative_to(out)) for p in paths))}", highlight=False, soft_wrap=True)
    console.print(f"record: {escape(str(out / RECORD_FILE))} ({len(run.warnings)} warning(s))", highlight=False,
                  soft_wrap=True)
