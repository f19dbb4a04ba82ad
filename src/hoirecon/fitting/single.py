"""Fitting one image from explicit files (image, 2D keypoints, object evidence), not a dataset folder.

Inputs a user typically has: the image, body keypoints from a 2D pose detector (COCO results or
annotations, mmpose, OpenPose or BEHAVE JSON; with several people, the one overlapping the
object evidence is fitted), the object's 2D keypoints and/or 2D-3D correspondences or only its
silhouette, optionally a body estimate from a human mesh estimator and the person's silhouette.
Without a focal length, the camera is a pinhole with f = max(width, height) and the principal
point at the centre.

Every file is read and checked by :func:`load_evidence` before anything is fitted: a problem
raises a ``ValueError`` naming the file and the field. Pixels with positive confidence must lie
in the image, give or take :data:`OUTSIDE_MARGIN` of its longer side, which catches keypoints
written for another image size.

With only an object mask, the object's pose comes from the silhouette search of
:mod:`hoirecon.fitting.mask_search`; the found pose is handed to the fit as correspondences
between template vertices and their pixels under that pose, so the PnP initialisation starts at
it and the reprojection term keeps the object on the silhouette.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hoirecon.body import BodyModel
from hoirecon.data.readers.body_estimates import BodyEstimate, read_body_estimate
from hoirecon.data.readers.object_evidence import Correspondences, read_correspondences, read_object_keypoints
from hoirecon.data.readers.person_keypoints import (
    PersonKeypoints,
    box_from_keypoints,
    choose_person,
    read_people,
    to_coco17,
)
from hoirecon.data.sample import Estimate, Sample
from hoirecon.fitting.body_init import BodyInit
from hoirecon.fitting.estimator_files import to_body_init
from hoirecon.fitting.mask_search import MaskSearchResult, search_object_pose
from hoirecon.fitting.smplify import coco_to_smpl, fit_smplify
from hoirecon.geometry import project_points
from hoirecon.io.masks import MASK_THRESHOLD, load_mask
from hoirecon.objects import ObjectTemplate

OUTSIDE_MARGIN = 0.1
"""How far (a fraction of the image's longer side) a detected pixel may lie outside the image."""
MASK_CORRESPONDENCES = 128
"""Template vertices handed to the fit as correspondences of a pose found from the mask."""
EXIF_ORIENTATION = 0x0112
"""The EXIF tag of the image's orientation (1 = stored upright)."""


@dataclass(frozen=True)
class ImageInputs:
    """Paths describing one image to fit."""

    image: Path
    keypoints: Path | None = None
    """Body keypoints JSON of a 2D pose detector (COCO results / annotations, mmpose, OpenPose, BEHAVE)."""
    object_keypoints: Path | None = None
    """JSON ``{"keypoints": [[u, v, confidence], ...]}`` in template keypoint order."""
    correspondences: Path | None = None
    """JSON ``{"points": [[x, y, z], ...], "pixels": [[u, v], ...], "weights": [...]}`` (template
    frame), or an EPro-PnP / StackFLOW ``.pkl`` ``{"x3d", "x2d", "w2d"}``."""
    body_estimate: Path | None = None
    """SMPL parameters from a human mesh estimator (HMR 2.0, PHALP, ROMP, PARE, SMPLer-X, FrankMocap, ours)."""
    human_mask: Path | None = None
    """The person's silhouette (PNG/JPEG, the image's size; above mid-grey is inside)."""
    object_mask: Path | None = None
    """The object's silhouette (PNG/JPEG, the image's size; above mid-grey is inside)."""
    focal: float | None = None
    """Focal length in pixels; None = the longer image side."""
    person: int | None = None
    """Which detected person to fit; None = the one overlapping the object evidence most."""


@dataclass(frozen=True)
class ImageCamera:
    """The pinhole camera of one image."""

    intrinsics: np.ndarray
    """(3, 3) K, principal point at the image centre."""
    image_size: tuple[int, int]
    """(width, height) in pixels."""
    focal_assumed: bool
    """True when no focal length was given and the longer image side stands in for it."""

    @property
    def focal(self) -> float:
        """Focal length in pixels."""
        return float(self.intrinsics[0, 0])

    @property
    def principal_point(self) -> tuple[float, float]:
        """(cx, cy) in pixels."""
        return float(self.intrinsics[0, 2]), float(self.intrinsics[1, 2])


@dataclass(frozen=True)
class ImageEvidence:
    """Everything read from the files of one image, checked against each other."""

    inputs: ImageInputs
    camera: ImageCamera
    person: PersonKeypoints
    """The chosen person, in COCO-17 order."""
    object_keypoints: np.ndarray
    """(K, 3) u, v, confidence in template order (zeros when not given)."""
    correspondences: Correspondences | None
    human_mask: np.ndarray | None
    """(H, W) bool."""
    object_mask: np.ndarray | None
    """(H, W) bool."""
    body_estimate: BodyEstimate | None

    @property
    def object_evidence(self) -> str:
        """What places the object: ``keypoints``, ``correspondences``, both joined by ``+``, or ``mask``."""
        kinds = [name for name, used in (("keypoints", np.any(self.object_keypoints[:, 2] > 0)),
                                         ("correspondences", self.correspondences is not None)) if used]
        return "+".join(kinds) or "mask"


@dataclass(frozen=True)
class PreparedImage:
    """A fit-ready sample and how its starting body and object were found."""

    sample: Sample
    evidence: ImageEvidence
    body_source: str
    """``estimate`` (the body estimate file) or ``smplify`` (a fit to the 2D keypoints)."""
    mask_search: MaskSearchResult | None = None
    """The silhouette search of the mask-only object path, else None."""


def upright_image(path: str | Path, folder: str | Path) -> Path:
    """``path``, or an upright PNG copy in ``folder`` when the file carries an EXIF rotation.

    Detectors (OpenCV) apply the EXIF orientation and PIL does not, so every later reader gets
    the upright pixels. Raises ValueError naming the file when it is missing or not an image.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such image file")
    try:
        with Image.open(path) as im:
            im.load()  # decode now: a truncated file fails here, named, not while drawing the overlay
            if im.getexif().get(EXIF_ORIENTATION, 1) == 1:
                return path
            copy = Path(folder) / f"{path.stem}.png"
            ImageOps.exif_transpose(im).convert("RGB").save(copy, format="PNG")
            return copy
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{path}: not a readable image ({err})") from err


def image_camera(image: str | Path, focal: float | None = None) -> ImageCamera:
    """The camera of an image file: f = ``focal`` or max(width, height), centred principal point."""
    try:
        with Image.open(image) as im:
            width, height = im.size
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"{image}: not a readable image ({err})") from err
    if focal is not None and not (np.isfinite(focal) and focal > 0):
        raise ValueError(f"focal: expected a positive focal length in pixels, got {focal}")
    f = float(focal or max(width, height))
    K = np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])
    return ImageCamera(K, (width, height), focal is None)


def check_in_image(pixels: np.ndarray, weight: np.ndarray, image_size: tuple[int, int], where: str) -> None:
    """ValueError naming ``where`` when a pixel (P, 2) of positive weight (P,) lies outside the
    image (width, height) by more than :data:`OUTSIDE_MARGIN` of its longer side."""
    width, height = image_size
    margin = OUTSIDE_MARGIN * max(width, height)
    pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    used = np.asarray(weight).reshape(-1) > 0
    outside = used & ((pixels[:, 0] < -margin) | (pixels[:, 0] > width + margin)
                      | (pixels[:, 1] < -margin) | (pixels[:, 1] > height + margin))
    if np.any(outside):
        i = int(np.flatnonzero(outside)[0])
        u, v = pixels[i]
        raise ValueError(f"{where}: point {i} at ({u:.1f}, {v:.1f}) lies outside the {width}x{height} image "
                         f"by more than {margin:.0f} px ({np.count_nonzero(outside)} such points; "
                         "written for another image size?)")


def _mask(path: Path | None, image_size: tuple[int, int], what: str) -> np.ndarray | None:
    """A silhouette (H, W) of the image's size with at least one pixel, or None without a path."""
    if path is None:
        return None
    mask = load_mask(path, image_size, what)
    if not mask.any():
        raise ValueError(f"{path}: {what} mask is empty (no pixel above grey level {MASK_THRESHOLD})")
    return mask


def _object_keypoints(inputs: ImageInputs, template: ObjectTemplate, image_size: tuple[int, int]) -> np.ndarray:
    """(K, 3) object keypoints from their file, checked against the template and the image."""
    if inputs.object_keypoints is None:
        return np.zeros((template.num_keypoints, 3))
    if template.num_keypoints == 0:
        raise ValueError(f"{inputs.object_keypoints}: the object template has no keypoints, so object "
                         "keypoints cannot be matched to it (give its keypoint file, correspondences or a mask)")
    keypoints = read_object_keypoints(inputs.object_keypoints, template.num_keypoints).keypoints
    check_in_image(keypoints[:, :2], keypoints[:, 2], image_size, f"{inputs.object_keypoints}: key 'keypoints'")
    return keypoints


def _correspondences(path: Path | None, image_size: tuple[int, int]) -> Correspondences | None:
    """Correspondences from their file (None without one, or when every weight is 0)."""
    if path is None:
        return None
    corr = read_correspondences(path)
    check_in_image(corr.pixels, corr.weights, image_size, f"{path}: pixels")
    return corr if np.any(corr.weights > 0) else None


def _object_box(keypoints: np.ndarray, corr: Correspondences | None, mask: np.ndarray | None) -> np.ndarray | None:
    """The object's mask (H, W), else the box (4,) of its keypoints and correspondences, else None."""
    if mask is not None:
        return mask
    seen = keypoints if corr is None else np.concatenate([keypoints, np.c_[corr.pixels, corr.weights]])
    return box_from_keypoints(seen) if np.any(seen[:, 2] > 0) else None


def _person(inputs: ImageInputs, image_size: tuple[int, int], evidence: np.ndarray | None) -> PersonKeypoints:
    """The person to fit, in COCO-17 order, from the keypoint file."""
    if inputs.keypoints is None:
        raise ValueError("keypoints: a body keypoint file is needed (or run the person detector)")
    people = read_people(inputs.keypoints)
    if not people:
        raise ValueError(f"{inputs.keypoints}: no person in the file (no record, or every keypoint "
                         "confidence is 0)")
    try:
        person = to_coco17(choose_person(people, evidence, inputs.person))
    except ValueError as err:
        raise ValueError(f"{inputs.keypoints}: {err}") from err
    check_in_image(person.keypoints[:, :2], person.keypoints[:, 2], image_size, f"{inputs.keypoints}: keypoints")
    return person


def load_evidence(inputs: ImageInputs, template: ObjectTemplate) -> ImageEvidence:
    """Read and check every file of one image (see the module docstring); ValueError naming the file.

    At least one kind of object evidence is needed: keypoints, correspondences or a mask.
    """
    camera = image_camera(inputs.image, inputs.focal)
    size = camera.image_size
    human_mask, object_mask = _mask(inputs.human_mask, size, "person"), _mask(inputs.object_mask, size, "object")
    keypoints = _object_keypoints(inputs, template, size)
    corr = _correspondences(inputs.correspondences, size)
    if object_mask is None and corr is None and not np.any(keypoints[:, 2] > 0):
        raise ValueError("object: no object evidence; give object keypoints, correspondences or an object mask")
    person = _person(inputs, size, _object_box(keypoints, corr, object_mask))
    estimate = None if inputs.body_estimate is None else read_body_estimate(inputs.body_estimate)
    return ImageEvidence(inputs, camera, person, keypoints, corr, human_mask, object_mask, estimate)


def initial_body(evidence: ImageEvidence, body: BodyModel) -> tuple[BodyInit, str]:
    """The starting body in the camera, from the body estimate file, else SMPLify on the keypoints;
    returns it and its source (``estimate`` or ``smplify``)."""
    K, coco = evidence.camera.intrinsics, evidence.person.keypoints
    if evidence.body_estimate is not None:
        try:
            return to_body_init(evidence.body_estimate, body, K=K, image_size=evidence.camera.image_size,
                                keypoints=coco), "estimate"
        except ValueError as err:
            raise ValueError(f"{evidence.inputs.body_estimate}: {err}") from err
    body_kp, body_conf = (a[0] for a in coco_to_smpl(coco[None]))
    return fit_smplify(body_kp[None], body_conf[None], K[None], body).body(0), "smplify"


def pose_correspondences(template: ObjectTemplate, rotation: np.ndarray, translation: np.ndarray, scale: float,
                         intrinsics: np.ndarray, count: int = MASK_CORRESPONDENCES) -> Correspondences:
    """Correspondences (P <= ``count``) of evenly spread template vertices and their pixels under a
    pose ``p = s R X + t`` (R (3, 3) template -> camera, t (3,)); weight 1 each."""
    vertices = np.asarray(template.vertices, dtype=np.float64)
    keep = np.unique(np.linspace(0, len(vertices) - 1, min(count, len(vertices))).round().astype(int))
    points = vertices[keep]
    cam = scale * points @ np.asarray(rotation, dtype=np.float64).T + np.asarray(translation, dtype=np.float64)
    pixels = project_points(cam, intrinsics, behind="clamp")
    return Correspondences(points, pixels, np.ones(len(points)), source="mask-search")


def _sample(evidence: ImageEvidence, category: str, b: BodyInit, corr: Correspondences | None) -> Sample:
    """The fit-ready sample (no ground truth) of checked evidence and a starting body."""
    inputs, camera, obj = evidence.inputs, evidence.camera, evidence.object_keypoints
    coco = evidence.person.keypoints
    body_kp, body_conf = (a[0] for a in coco_to_smpl(coco[None]))
    points, pixels, weights = ((np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0)) if corr is None
                               else (corr.points, corr.pixels, corr.weights))
    estimate = Estimate(
        betas=np.asarray(b.betas)[:10], body_pose=np.asarray(b.body_pose), global_orient=np.asarray(b.global_orient),
        transl=np.asarray(b.transl), object_keypoints_2d=obj[:, :2], object_keypoint_conf=obj[:, 2],
        corr_points=points, corr_pixels=pixels, corr_weight=weights)
    return Sample(
        image_id=Path(inputs.image).stem, category=category, split="test", image_path=Path(inputs.image),
        human_mask_path=inputs.human_mask, object_mask_path=inputs.object_mask, image_size=camera.image_size,
        keypoints_2d=np.concatenate([body_kp, obj[:, :2]]), keypoint_conf=np.concatenate([body_conf, obj[:, 2]]),
        keypoint_visible=np.concatenate([body_conf, obj[:, 2]]) > 0, coco_keypoints=coco,
        intrinsics=camera.intrinsics, cam_rotation=np.eye(3), cam_center=np.zeros(3), gt=None, estimate=estimate)


def prepare_object(evidence: ImageEvidence, category: str, template: ObjectTemplate, body_init: BodyInit,
                   body_source: str) -> PreparedImage:
    """The fit-ready sample from the evidence and a starting body (:func:`initial_body`); with only
    an object mask, the object's pose comes from the silhouette search first."""
    found, corr = None, evidence.correspondences
    if evidence.object_evidence == "mask":
        found = search_object_pose(evidence.object_mask, template, evidence.camera.intrinsics, evidence.human_mask,
                                   body_init)
        corr = pose_correspondences(template, found.rotation, found.translation, found.scale,
                                    evidence.camera.intrinsics)
    return PreparedImage(_sample(evidence, category, body_init, corr), evidence, body_source, found)


def prepare_image(evidence: ImageEvidence, category: str, template: ObjectTemplate, body: BodyModel
                  ) -> PreparedImage:
    """:func:`initial_body` then :func:`prepare_object`."""
    return prepare_object(evidence, category, template, *initial_body(evidence, body))


def image_sample(inputs: ImageInputs, category: str, template: ObjectTemplate, body: BodyModel) -> Sample:
    """A fit-ready sample (no ground truth) built from the files of one image."""
    return prepare_image(load_evidence(inputs, template), category, template, body).sample
