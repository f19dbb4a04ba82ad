"""Initial estimates of a batch of images: the body from an estimate, the object by PnP.

The body comes from an HMR-style estimate (the dataset's estimator fields, or a file read by
:mod:`hoirecon.fitting.estimator_files`); images without one are fitted to their keypoints
(:mod:`hoirecon.fitting.smplify`). The object pose comes from :mod:`hoirecon.fitting.pnp`.

Frames: an object pose (a :class:`~hoirecon.geometry.RigidTransform`) maps the template, scaled
by ``s``, into its frame, ``p = R (s X) + t``; the human frame has the pelvis at the origin and
the body's global orientation removed, so a human-frame point ``p_h`` is ``R_go p_h + pelvis_cam``
in the camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel
from hoirecon.fitting.body_init import BodyInit, init_body_from_estimate
from hoirecon.fitting.pnp import (
    ObjectInit,
    init_object_from_keypoints,
    init_object_pnp,
    placement,
)
from hoirecon.fitting.smplify import SmplifyConfig, coco_to_smpl, fit_smplify
from hoirecon.geometry import RigidTransform
from hoirecon.objects import ObjectTemplate


def object_pose_in_human_frame(pose_cam: RigidTransform, body_init: BodyInit) -> RigidTransform:
    """Move an object pose (template -> camera, rotation (3, 3), translation (3,)) to the human
    frame (template -> human frame): the body maps the human frame into the camera by
    ``p_cam = R_go p_h + pelvis_cam``, so the result is that map's inverse after ``pose_cam``,
    ``R_h = R_go^T R_cam`` and ``t_h = R_go^T (t_cam - pelvis_cam)``. Valid at any object scale;
    float64 numpy arrays."""
    R_go = Rotation.from_rotvec(np.asarray(body_init.global_orient, dtype=np.float64)).as_matrix()
    body = RigidTransform(rotation=R_go, translation=np.asarray(body_init.pelvis_cam, dtype=np.float64))
    pose = RigidTransform(rotation=np.asarray(pose_cam.rotation, dtype=np.float64),
                          translation=np.asarray(pose_cam.translation, dtype=np.float64))
    return body.inverse().compose(pose)


@dataclass
class InitBatch:
    """Initial bodies and objects of B images, stacked, with what each needed to fall back on."""

    image_ids: list[str]
    betas: np.ndarray
    """(B, num_betas)."""
    body_pose: np.ndarray
    """(B, 63)."""
    global_orient: np.ndarray
    """(B, 3) body -> camera."""
    transl: np.ndarray
    """(B, 3) the body model's ``transl``."""
    pelvis_cam: np.ndarray
    """(B, 3) pelvis in the camera frame."""
    object_rotation_cam: np.ndarray
    """(B, 3, 3) template -> camera."""
    object_translation_cam: np.ndarray
    """(B, 3) camera frame."""
    object_rotation: np.ndarray
    """(B, 3, 3) template -> human frame."""
    object_translation: np.ndarray
    """(B, 3) human frame."""
    object_scale: np.ndarray
    """(B,) template scale."""
    object_success: np.ndarray
    """(B,) bool, False where the object was placed without a pose solution."""
    object_method: list[str] = field(default_factory=list)
    body_source: list[str] = field(default_factory=list)
    """"estimate" or "smplify" per image."""
    notes: list[list[str]] = field(default_factory=list)
    """Per image, the fallbacks used and why."""

    def __len__(self) -> int:
        return len(self.image_ids)

    def body(self, index: int) -> BodyInit:
        """The body of image ``index``."""
        return BodyInit(self.betas[index], self.body_pose[index], self.global_orient[index],
                        self.pelvis_cam[index], self.transl[index])


def _fit_missing_bodies(samples: list[Any], missing: list[int], body_model: BodyModel,
                        config: SmplifyConfig | None) -> dict[int, BodyInit]:
    """SMPLify bodies of the samples ``missing`` an estimate, from their SMPL-joint keypoints
    (their COCO keypoints when the former are all missing)."""
    kps, confs = [], []
    for i in missing:
        kp, conf = samples[i].keypoints_2d[:22], samples[i].keypoint_conf[:22]
        if not np.any(conf > 0):
            kp, conf = (a[0] for a in coco_to_smpl(samples[i].coco_keypoints[None]))
        kps.append(kp)
        confs.append(conf)
    K = np.stack([samples[i].intrinsics for i in missing])
    fit = fit_smplify(np.stack(kps), np.stack(confs), K, body_model, config)
    return {i: fit.body(j) for j, i in enumerate(missing)}


def _init_bodies(samples: list[Any], body_model: BodyModel, config: SmplifyConfig | None,
                 notes: list[list[str]]) -> tuple[list[BodyInit], list[str]]:
    """Bodies from the samples' estimates, SMPLify where there is none (or it is malformed)."""
    bodies: dict[int, BodyInit] = {}
    for i, sample in enumerate(samples):
        if sample.estimate is None:
            continue
        try:
            bodies[i] = init_body_from_estimate(sample.estimate, body_model)
        except ValueError as err:
            notes[i].append(f"body estimate unusable ({err})")
    missing = [i for i in range(len(samples)) if i not in bodies]
    for i in missing:
        notes[i].append("no body estimate: SMPLify fit to the 2D keypoints")
    if missing:
        bodies.update(_fit_missing_bodies(samples, missing, body_model, config))
    sources = ["smplify" if i in missing else "estimate" for i in range(len(samples))]
    return [bodies[i] for i in range(len(samples))], sources


def _init_object(sample: Any, template: ObjectTemplate, body: BodyInit, scale: float,
                 notes: list[str]) -> ObjectInit:
    """Object pose of one sample: correspondences, else keypoints, else a placement."""
    est, K, center = sample.estimate, sample.intrinsics, body.pelvis_cam
    try:
        if est is not None and np.count_nonzero(np.asarray(est.corr_weight) > 0) >= 4:
            result = init_object_pnp(est.corr_points, est.corr_pixels, est.corr_weight, K,
                                     scale=scale, fallback_center=center)
            if result.success:
                return result
            notes.append(f"correspondences: {result.note}")
        kp, conf = ((est.object_keypoints_2d, est.object_keypoint_conf) if est is not None
                    else (sample.keypoints_2d[22:], sample.keypoint_conf[22:]))
        result = init_object_from_keypoints(kp, conf, template, K, scale=scale, fallback_center=center)
    except ValueError as err:
        # no pixels: the placement puts the object at `center` and never reads K
        result = placement(np.zeros((0, 2)), np.eye(3), center, f"object input unusable ({err})", 0)
    if result.note:
        notes.append(result.note)
    return result


def init_batch(samples: Sequence[Any], template: ObjectTemplate, body_model: BodyModel, *,
               scale: float = 1.0, smplify_config: SmplifyConfig | None = None) -> InitBatch:
    """Initialise the bodies and objects of B samples of one category (``Sample`` objects).

    Bodies come from each sample's estimate (SMPLify on its keypoints when it has none);
    objects from its correspondences by RANSAC PnP, else from its object keypoints, else they
    are placed at the body's depth. The template starts at ``scale`` (1 = its metric size, the
    paper's empirical category size). Nothing raises for one bad sample: its fallbacks are in
    ``notes`` and ``object_success``.
    """
    samples = list(samples)
    if not samples:
        raise ValueError("samples: expected at least one sample")
    notes: list[list[str]] = [[] for _ in samples]
    bodies, sources = _init_bodies(samples, body_model, smplify_config, notes)
    objects = [_init_object(s, template, b, scale, n) for s, b, n in zip(samples, bodies, notes)]
    human = [object_pose_in_human_frame(o.pose, b) for o, b in zip(objects, bodies)]
    stack = lambda items, name: np.stack([getattr(x, name) for x in items])  # noqa: E731
    cam = [o.pose for o in objects]
    return InitBatch(
        image_ids=[str(s.image_id) for s in samples], betas=stack(bodies, "betas"),
        body_pose=stack(bodies, "body_pose"), global_orient=stack(bodies, "global_orient"),
        transl=stack(bodies, "transl"), pelvis_cam=stack(bodies, "pelvis_cam"),
        object_rotation_cam=stack(cam, "rotation"), object_translation_cam=stack(cam, "translation"),
        object_rotation=stack(human, "rotation"), object_translation=stack(human, "translation"),
        object_scale=np.full(len(samples), float(scale)),
        object_success=np.array([o.success for o in objects]),
        object_method=[o.method for o in objects], body_source=sources, notes=notes)
