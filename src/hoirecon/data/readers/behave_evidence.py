"""The evidence files of one BEHAVE view (a frame folder and a camera k), and the body keypoints.

Files beside the frame's ``k<k>.color.jpg`` unless a path says otherwise; of each kind the
first existing one is read:

======================  ====================================================================
body keypoints          ``k<k>.color.json`` (BEHAVE's OpenPose ``body_joints``, BODY_25; all
                        zeros = no detection), then ``<root>/openpose/<seq>/<frame>/
                        k<k>.color_keypoints.json`` (OpenPose's own JSON, StackFLOW's layout);
                        any layout :func:`~hoirecon.data.readers.person_keypoints.read_people`
                        reads is accepted
body estimate           ``k<k>.body_estimate.{npz,pkl,json}`` (any layout
                        :func:`~hoirecon.data.readers.body_estimates.read_body_estimate`
                        reads), then ``k<k>.mocap.json`` (FrankMocap ``{pose 72, betas 10}``,
                        shipped with BEHAVE, no translation)
object correspondences  ``k<k>.obj_coor.pkl`` and ``<root>/epro_pnp/<seq>/<frame>/k<k>.obj_coor.pkl``
                        (StackFLOW's EPro-PnP inference output), ``k<k>.object_coor.<object>.pkl``
                        (its demo's naming), ``k<k>.obj_coor.json`` (ours)
object keypoints        ``k<k>.obj_keypoints.json``
object pose             ``k<k>.obj_pose.json``
======================  ====================================================================

Never read as evidence: ``person/fit02`` and ``<object>/fit01`` (the fits: ground truth) and
StackFLOW's ``<root>/object_coor_maps/`` (coordinate maps it renders from the object fits as
training targets). ``<root>`` is the folder holding ``sequences/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hoirecon.data.readers.evidence import EvidenceFiles
from hoirecon.data.readers.openpose import COCO_FROM_BODY25, NUM_BODY25, SMPL_FROM_BODY25, BodyKeypoints, empty_keypoints, from_body25
from hoirecon.data.readers.person_keypoints import PersonKeypoints, choose_person, read_people, to_coco17
from hoirecon.data.sample import NUM_BODY_JOINTS

BODY_ESTIMATE_SUFFIXES = ("npz", "pkl", "json")


def person_keypoint_files(root: Path, seq: str, frame: Path, k: int) -> list[Path]:
    """Candidate body keypoint files of a view, in order of preference."""
    return [frame / f"k{k}.color.json", root / "openpose" / seq / frame.name / f"k{k}.color_keypoints.json"]


def body_estimate_files(frame: Path, k: int) -> list[Path]:
    """Candidate body estimate files of a view, in order of preference."""
    return [frame / f"k{k}.body_estimate.{ext}" for ext in BODY_ESTIMATE_SUFFIXES] + [frame / f"k{k}.mocap.json"]


def object_evidence_files(root: Path, seq: str, frame: Path, k: int, object_name: str) -> EvidenceFiles:
    """Candidate object evidence files of a view (see the module docstring)."""
    return EvidenceFiles(
        correspondences=(frame / f"k{k}.obj_coor.pkl", root / "epro_pnp" / seq / frame.name / f"k{k}.obj_coor.pkl",
                         frame / f"k{k}.object_coor.{object_name}.pkl", frame / f"k{k}.obj_coor.json"),
        keypoints=(frame / f"k{k}.obj_keypoints.json",),
        pose=(frame / f"k{k}.obj_pose.json",),
    )


def as_body25(person: PersonKeypoints) -> np.ndarray:
    """A detection's joints in BODY_25 slots (25, 3); joints its set lacks (the neck and mid-hip
    of a COCO-17 detector) get confidence 0."""
    if person.joint_set == "body25":
        return np.asarray(person.keypoints, dtype=np.float64)
    joints = np.zeros((NUM_BODY25, 3))
    joints[list(COCO_FROM_BODY25)] = to_coco17(person).keypoints
    return joints


def read_body_keypoints(path: Path, min_conf: float) -> BodyKeypoints:
    """The body keypoints of the highest-scoring person of a detector file (confidences below
    ``min_conf`` become 0); no detection (an all-zero BEHAVE file) gives confidence 0 everywhere.
    Raises SampleError for a malformed file."""
    people = read_people(path)
    if not people:
        return empty_keypoints()
    return from_body25(as_body25(choose_person(people)), min_conf)


def detected_joint_conf(keypoints: BodyKeypoints) -> np.ndarray:
    """(22,) the detector's confidence of each SMPL joint row with a BODY_25 counterpart, -1 for
    the rows without one (see :func:`~hoirecon.data.readers.placement.body_layout`)."""
    conf = np.full(NUM_BODY_JOINTS, -1.0)
    rows = sorted(SMPL_FROM_BODY25)
    conf[rows] = keypoints.smpl_conf[rows]
    return conf
