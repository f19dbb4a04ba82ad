"""Fitting one image from explicit files (image, 2D keypoints, object evidence), not a dataset folder.

Inputs a user typically has: the image, COCO-17 body keypoints from a detector (mmpose/ViTPose
JSON), the object's 2D keypoints and/or 2D-3D correspondences as JSON, optionally an HMR-style
body estimate and the silhouettes. Without a focal length, the camera is a pinhole with
f = max(width, height) and the principal point at the centre.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hoirecon.body import BodyModel
from hoirecon.data.sample import Estimate, Sample
from hoirecon.fitting.estimator_files import read_body_estimate, read_coco_keypoints
from hoirecon.fitting.smplify import coco_to_smpl, fit_smplify
from hoirecon.objects import ObjectTemplate


@dataclass(frozen=True)
class ImageInputs:
    """Paths describing one image to fit."""

    image: Path
    keypoints: Path
    """COCO-17 body keypoints JSON (mmpose / ViTPose / COCO results)."""
    object_keypoints: Path | None = None
    """JSON ``{"keypoints": [[u, v, confidence], ...]}`` in template keypoint order."""
    correspondences: Path | None = None
    """JSON ``{"points": [[x, y, z], ...], "pixels": [[u, v], ...], "weights": [...]}`` (template frame)."""
    body_estimate: Path | None = None
    """SMPL parameters (.npz / .pkl) from an HMR-style estimator, in the camera frame."""
    human_mask: Path | None = None
    object_mask: Path | None = None
    focal: float | None = None
    """Focal length in pixels."""


def _json(path: Path, what: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read the {what} JSON ({err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object for the {what}")
    return data


def _array(data: dict, key: str, path: Path, cols: int) -> np.ndarray:
    if key not in data:
        raise ValueError(f"{path}: missing key {key!r}")
    arr = np.asarray(data[key], dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != cols or not np.isfinite(arr).all():
        raise ValueError(f"{path}: {key!r} must be finite rows of {cols} numbers, got shape {arr.shape}")
    return arr


def _object_keypoints(path: Path | None, k: int) -> np.ndarray:
    if path is None:
        return np.zeros((k, 3))
    rows = _array(_json(path, "object keypoints"), "keypoints", path, 3)
    if len(rows) != k:
        raise ValueError(f"{path}: {len(rows)} object keypoints, the template has {k}")
    return rows


def _correspondences(path: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if path is None:
        return np.zeros((0, 3)), np.zeros((0, 2)), np.zeros(0)
    data = _json(path, "correspondences")
    points, pixels = _array(data, "points", path, 3), _array(data, "pixels", path, 2)
    weights = np.asarray(data.get("weights", np.ones(len(points))), dtype=np.float64)
    if not len(points) == len(pixels) == len(weights):
        raise ValueError(f"{path}: points, pixels and weights must have the same length")
    return points, pixels, weights


def image_sample(inputs: ImageInputs, category: str, template: ObjectTemplate, body: BodyModel) -> Sample:
    """A fit-ready sample (no ground truth) built from the files of one image."""
    with Image.open(inputs.image) as im:
        width, height = im.size
    focal = float(inputs.focal or max(width, height))
    K = np.array([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])
    coco = read_coco_keypoints(inputs.keypoints)
    body_kp, body_conf = (a[0] for a in coco_to_smpl(coco[None]))
    obj = _object_keypoints(inputs.object_keypoints, template.num_keypoints)
    points, pixels, weights = _correspondences(inputs.correspondences)
    if inputs.body_estimate is not None:
        b = read_body_estimate(inputs.body_estimate, body)
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
