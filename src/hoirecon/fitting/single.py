"""Fitting one image from explicit files (image, 2D keypoints, object evidence), not a dataset folder.

Inputs a user typically has: the image, body keypoints from a 2D pose detector (COCO results,
mmpose, OpenPose or BEHAVE JSON; with several people, the one overlapping the object evidence is
fitted), the object's 2D keypoints and/or 2D-3D correspondences, optionally a body estimate from
a human mesh estimator and the silhouettes. Without a focal length, the camera is a pinhole with
f = max(width, height) and the principal point at the centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hoirecon.body import BodyModel
from hoirecon.data.readers.body_estimates import read_body_estimate
from hoirecon.data.readers.object_evidence import read_correspondences, read_object_keypoints
from hoirecon.data.readers.person_keypoints import box_from_keypoints, choose_person, read_people, to_coco17
from hoirecon.data.sample import Estimate, Sample
from hoirecon.fitting.estimator_files import to_body_init
from hoirecon.fitting.smplify import coco_to_smpl, fit_smplify
from hoirecon.objects import ObjectTemplate


@dataclass(frozen=True)
class ImageInputs:
    """Paths describing one image to fit."""

    image: Path
    keypoints: Path
    """Body keypoints JSON of a 2D pose detector (COCO results, mmpose, OpenPose, BEHAVE)."""
    object_keypoints: Path | None = None
    """JSON ``{"keypoints": [[u, v, confidence], ...]}`` in template keypoint order."""
    correspondences: Path | None = None
    """JSON ``{"points": [[x, y, z], ...], "pixels": [[u, v], ...], "weights": [...]}`` (template
    frame), or an EPro-PnP / StackFLOW ``.pkl`` ``{"x3d", "x2d", "w2d"}``."""
    body_estimate: Path | None = None
    """SMPL parameters from a human mesh estimator (HMR 2.0, PHALP, ROMP, PARE, SMPLer-X, FrankMocap, ours)."""
    human_mask: Path | None = None
    object_mask: Path | None = None
    focal: float | None = None
    """Focal length in pixels."""
    person: int | None = None
    """Which detected person to fit; None = the one overlapping the object evidence most."""


def _object_evidence(inputs: ImageInputs, obj: np.ndarray, pixels: np.ndarray, weights: np.ndarray
                     ) -> np.ndarray | None:
    """The object's mask (H, W), else the box (4,) of its keypoints and correspondences, else None."""
    if inputs.object_mask is not None:
        with Image.open(inputs.object_mask) as im:
            return np.asarray(im.convert("L")) > 127
    seen = np.concatenate([obj, np.c_[pixels, weights]])
    return box_from_keypoints(seen) if np.any(seen[:, 2] > 0) else None


def image_sample(inputs: ImageInputs, category: str, template: ObjectTemplate, body: BodyModel) -> Sample:
    """A fit-ready sample (no ground truth) built from the files of one image."""
    with Image.open(inputs.image) as im:
        width, height = im.size
    focal = float(inputs.focal or max(width, height))
    K = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])
    obj = (np.zeros((template.num_keypoints, 3)) if inputs.object_keypoints is None
           else read_object_keypoints(inputs.object_keypoints, template.num_keypoints).keypoints)
    if inputs.correspondences is None:
        points, pixels, weights = np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0)
    else:
        corr = read_correspondences(inputs.correspondences)
        points, pixels, weights = corr.points, corr.pixels, corr.weights
    people = read_people(inputs.keypoints)
    if not people:
        raise ValueError(f"{inputs.keypoints}: no person detected")
    person = choose_person(people, _object_evidence(inputs, obj, pixels, weights), inputs.person)
    coco = to_coco17(person).keypoints
    body_kp, body_conf = (a[0] for a in coco_to_smpl(coco[None]))
    if inputs.body_estimate is not None:
        b = to_body_init(read_body_estimate(inputs.body_estimate), body, K=K, image_size=(width, height),
                         keypoints=coco)
    else:  # no estimator output: a SMPLify-style fit to the 2D keypoints stands in for it
        b = fit_smplify(body_kp[None], body_conf[None], K[None], body).body(0)
    estimate = Estimate(
        betas=np.asarray(b.betas)[:10], body_pose=np.asarray(b.body_pose), global_orient=np.asarray(b.global_orient),
        transl=np.asarray(b.transl), object_keypoints_2d=obj[:, :2], object_keypoint_conf=obj[:, 2],
        corr_points=points, corr_pixels=pixels, corr_weight=weights)
    return Sample(
        image_id=Path(inputs.image).stem, category=category, split="test", image_path=Path(inputs.image),
        human_mask_path=inputs.human_mask, object_mask_path=inputs.object_mask, image_size=(width, height),
        keypoints_2d=np.concatenate([body_kp, obj[:, :2]]), keypoint_conf=np.concatenate([body_conf, obj[:, 2]]),
        keypoint_visible=np.concatenate([body_conf, obj[:, 2]]) > 0, coco_keypoints=coco, intrinsics=K,
        cam_rotation=np.eye(3), cam_center=np.zeros(3), gt=None, estimate=estimate)
