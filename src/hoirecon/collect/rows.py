"""One collected image as a dataset row: the person, the body, the camera and the object rows.

As in the paper (Sec. 4.2), the human keypoint rows are the estimated body's 22 joints
reprojected into the image (with the detector's confidence where a COCO joint corresponds),
the object rows are the template keypoints reprojected by the object's pose, and the camera in
the human frame comes from the body's global pose. Nothing here reads ground truth: the row is
evidence only (the body estimate or SMPLify fit, the detector, the clicks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.body import BodyModel
from hoirecon.collect.object_pose import ObjectPoseResult
from hoirecon.data.readers.assemble import body_joints, camera_in_human_frame
from hoirecon.data.readers.placement import PlacedBody, body_layout
from hoirecon.data.readers.records import rotmat
from hoirecon.data.sample import Estimate, Sample
from hoirecon.fitting.body_init import BodyInit
from hoirecon.fitting.smplify import COCO_TO_SMPL

COCO_FLIP = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
"""COCO-17 joint order with left and right exchanged (the fix for a detector's left/right swap)."""
JOINT_CONF = 0.5
"""Confidence of the body joints that have no COCO counterpart (spine, neck, collars, feet, ...)."""


def swap_left_right(coco: np.ndarray) -> np.ndarray:
    """COCO-17 keypoints (17, 3) with the left and right labels exchanged."""
    return np.asarray(coco)[list(COCO_FLIP)].copy()


def detected_conf(coco: np.ndarray) -> np.ndarray:
    """(22,) the detector's confidence of each SMPL joint with a COCO counterpart, -1 elsewhere."""
    conf = np.full(22, -1.0)
    for src, dst in COCO_TO_SMPL:
        conf[dst] = coco[src, 2]
    return conf


@dataclass(frozen=True)
class BodyRows:
    """The body part of a row: the 22-joint layout and the camera in the human frame."""

    keypoints: np.ndarray
    """(22, 2) pixels."""
    conf: np.ndarray
    """(22,)."""
    cam_rotation: np.ndarray
    cam_center: np.ndarray


def body_rows(body: BodyInit, model: BodyModel, coco: np.ndarray, K: np.ndarray) -> BodyRows:
    """The body rows of a starting body (camera frame) and the person's COCO keypoints (17, 3)."""
    joints = body_joints(model, np.asarray(body.betas)[:10], np.asarray(body.body_pose)).joints
    rotation = rotmat(np.asarray(body.global_orient))
    placed = PlacedBody(rotation, np.asarray(body.pelvis_cam), np.asarray(body.transl), "collected")
    pixels, conf = body_layout(joints, placed, K, detected_conf(coco), JOINT_CONF)
    cam_rotation, cam_center = camera_in_human_frame(rotation, placed.pelvis_cam)
    return BodyRows(pixels, conf, cam_rotation, cam_center)


@dataclass(frozen=True)
class RowInputs:
    """What a row is made of, besides the body and the object pose."""

    image_id: str
    category: str
    split: str
    image_path: Path
    image_size: tuple[int, int]
    intrinsics: np.ndarray
    coco: np.ndarray
    """(17, 3) the paired person's COCO keypoints (left/right fixed)."""
    clicks: np.ndarray
    """(k, 3) u, v, state of the object keypoints placed by hand or by a keypoint file."""
    correspondences: tuple[np.ndarray, np.ndarray] | None
    template_keypoints: np.ndarray
    """(k, 3) template keypoints, template frame."""
    human_mask: Path | None = None
    object_mask: Path | None = None


def _estimate(inputs: RowInputs, body: BodyInit) -> Estimate:
    """The estimator columns: the starting body, the clicks as keypoints and as 2D-3D correspondences."""
    placed = inputs.clicks[:, 2] > 0
    points, pixels = inputs.template_keypoints[placed], inputs.clicks[placed, :2]
    if inputs.correspondences is not None:
        points = np.concatenate([points, inputs.correspondences[0]])
        pixels = np.concatenate([pixels, inputs.correspondences[1]])
    return Estimate(
        betas=np.asarray(body.betas)[:10], body_pose=np.asarray(body.body_pose),
        global_orient=np.asarray(body.global_orient), transl=np.asarray(body.transl),
        object_keypoints_2d=inputs.clicks[:, :2], object_keypoint_conf=placed.astype(np.float64),
        corr_points=points, corr_pixels=pixels, corr_weight=np.ones(len(points)))


def make_sample(inputs: RowInputs, body: BodyInit, rows: BodyRows, pose: ObjectPoseResult) -> Sample:
    """The dataset sample (no ground truth) of one human-object pair."""
    visible = np.where(inputs.clicks[:, 2] > 0, inputs.clicks[:, 2] == 2, pose.keypoint_conf > 0)
    return Sample(
        image_id=inputs.image_id, category=inputs.category, split=inputs.split, image_path=inputs.image_path,
        human_mask_path=inputs.human_mask, object_mask_path=inputs.object_mask, image_size=inputs.image_size,
        keypoints_2d=np.concatenate([rows.keypoints, pose.keypoints_2d]),
        keypoint_conf=np.concatenate([rows.conf, pose.keypoint_conf]),
        keypoint_visible=np.concatenate([rows.conf > 0, visible]), coco_keypoints=inputs.coco,
        intrinsics=inputs.intrinsics, cam_rotation=rows.cam_rotation, cam_center=rows.cam_center,
        gt=None, estimate=_estimate(inputs, body))


_PATHS = ("image_path", "human_mask_path", "object_mask_path")


def sample_to_json(sample: Sample) -> dict[str, Any]:
    """A sample (without ground truth) as plain JSON data, for the build's per-image cache."""
    if sample.gt is not None:
        raise ValueError(f"sample {sample.image_id!r}: a collected sample carries no ground truth")
    data = {k: v for k, v in sample.__dict__.items() if k not in ("gt", "estimate")}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _PATHS:
            out[key] = None if value is None else str(value)
        else:
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
    out["estimate"] = None if sample.estimate is None else {k: np.asarray(v).tolist()
                                                            for k, v in asdict(sample.estimate).items()}
    return out


def sample_from_json(data: dict[str, Any]) -> Sample:
    """The inverse of :func:`sample_to_json`."""
    fields = dict(data)
    estimate = fields.pop("estimate")
    for key in _PATHS:
        fields[key] = None if fields[key] is None else Path(fields[key])
    fields["image_size"] = tuple(int(v) for v in fields["image_size"])
    for key in ("keypoints_2d", "keypoint_conf", "coco_keypoints", "intrinsics", "cam_rotation", "cam_center"):
        fields[key] = np.asarray(fields[key], dtype=np.float64)
    fields["keypoint_visible"] = np.asarray(fields["keypoint_visible"], dtype=bool)
    if estimate is not None:
        shapes = {"corr_points": (-1, 3), "corr_pixels": (-1, 2)}
        estimate = Estimate(**{k: np.asarray(v, dtype=np.float64).reshape(shapes.get(k, np.shape(v)))
                               for k, v in estimate.items()})
    return Sample(**fields, gt=None, estimate=estimate)
