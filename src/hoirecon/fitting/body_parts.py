"""Body-part vertex sets of an SMPL-family mesh, from the skinning weights.

Each vertex belongs to the part of the joint that dominates its skinning weights, so the sets
are disjoint and follow the mesh whatever its topology (the embedded body, SMPL, SMPL-H or
SMPL-X). Joints are matched by name, which the three models share for their 22 body joints;
the finger joints of SMPL-H/X (``left_index1`` ...) and SMPL's ``left_hand`` count as the hand,
SMPL-X's jaw and eyes as the head. The pelvis part keeps the hip-dominated vertices only above
the hip joints (buttocks and groin), so it does not run down the thighs.
"""

from __future__ import annotations

import numpy as np
import torch

from hoirecon.body import BodyModel
from hoirecon.objects.template import BODY_PARTS

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")
_PART_JOINTS: dict[str, tuple[str, ...]] = {
    "left_hand": ("left_wrist", "left_hand"),
    "right_hand": ("right_wrist", "right_hand"),
    "left_foot": ("left_ankle", "left_foot"),
    "right_foot": ("right_ankle", "right_foot"),
    "pelvis": ("pelvis", "left_hip", "right_hip"),
    "torso": ("spine1", "spine2", "spine3", "left_collar", "right_collar"),
    "head": ("neck", "head", "jaw", "left_eye", "right_eye"),
}
_HIP_JOINTS = ("left_hip", "right_hip")


def part_of_joint(name: str) -> str | None:
    """The body part (one of ``BODY_PARTS``) a joint name belongs to, or None (limbs)."""
    for part, names in _PART_JOINTS.items():
        if name in names:
            return part
    for side in ("left", "right"):
        if name.startswith(f"{side}_") and name[len(side) + 1:].rstrip("123") in _FINGERS:
            return f"{side}_hand"
    return None


def dominant_joints(weights: np.ndarray) -> np.ndarray:
    """Index of the largest skinning weight of every vertex: weights (V, J) -> (V,) int64."""
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[0] == 0:
        raise ValueError(f"weights: expected a (V, J) array, got shape {weights.shape}")
    return np.argmax(weights, axis=1).astype(np.int64)


def body_part_vertices(body_model: BodyModel) -> dict[str, np.ndarray]:
    """Vertex-id sets of the body parts of ``BODY_PARTS`` (left/right hand and foot, pelvis,
    torso, head) for any SMPL-family model; each value is a sorted (N,) int64 array, the sets
    are disjoint and none is empty for an SMPL-format body."""
    dominant = dominant_joints(body_model.lbs_weights.detach().cpu().numpy())
    names = list(body_model.joint_names)
    joint_part = np.array([part_of_joint(n) or "" for n in names], dtype=object)
    vertex_part = joint_part[dominant]
    rest_y = _rest_heights(body_model)
    hip_ids = [names.index(n) for n in _HIP_JOINTS]
    below_hips = np.isin(dominant, hip_ids) & (rest_y < _hip_height(body_model, hip_ids))
    vertex_part[below_hips] = ""
    parts = {part: np.flatnonzero(vertex_part == part).astype(np.int64) for part in BODY_PARTS}
    empty = [part for part, ids in parts.items() if len(ids) == 0]
    if empty:
        raise ValueError(f"body_model: no vertex is dominated by the joints of {empty}; "
                         f"is it an SMPL-family model (joints {names[:4]}...)?")
    return parts


def _rest_heights(body_model: BodyModel) -> np.ndarray:
    """Height (SMPL y) of every rest-pose template vertex, (V,)."""
    return body_model.v_template[:, 1].detach().cpu().double().numpy()


def _hip_height(body_model: BodyModel, hip_ids: list[int]) -> float:
    """Mean rest height of the hip joints."""
    with torch.no_grad():
        joints = body_model.joint_template[hip_ids].double()
    return float(joints[:, 1].mean())
