"""Body models for the protocols: one per gender, poses in the RHOBIN layouts, batched posing.

RHOBIN files carry SMPL poses (T, 72: global + 23 joints) or SMPL-H poses (T, 156: global + 21
body joints + 2 x 15 hand joints). Either layout is mapped onto the model in use:

- SMPL model: a 156 pose keeps its first hand joint per hand in SMPL's hand slots (22, 23);
- SMPL-H / SMPL-X model: a 72 pose puts SMPL's hand rotations on the first joint of each hand,
  the rest of the hand stays flat (the official evaluator's ``smpl2smplh_pose``).

The 24 "SMPL joints" scored by the human track are the model's joints 0..22 plus the first
joint of the right hand for SMPL-H/X (0..21 + the two first hand joints for SMPL-X), i.e. the
joints that sit where SMPL's 24 do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hoirecon.body import BodyModel, load_body_model
from hoirecon.eval.protocols.result import EvalInputError

log = logging.getLogger(__name__)

POSE_SIZES = (72, 156)
"""Accepted widths of a RHOBIN ``poses`` array."""
CHUNK_FRAMES = 256
"""Frames posed per body-model call; bounds memory to ~CHUNK x V x 3 floats."""
_HAND_START = {"smplh": 22, "smplx": 25}
"""First left-hand joint of the models with hands; the right hand starts 15 later."""


class BodyModels:
    """Body models by gender, loaded once each.

    ``source`` is a folder of official model files (``SMPL_MALE.pkl``, ``SMPLH_FEMALE.npz``,
    ...; the gender picks the file), one model file, or None for the embedded body. With one
    file or the embedded body every gender gets the same model; with ``note_genders`` (files
    that carry a gender per sequence) that is logged once and kept in :attr:`notes`.
    """

    def __init__(self, source: str | Path | None = None, note_genders: bool = True) -> None:
        self.source = None if source is None else Path(source)
        if self.source is not None and not self.source.exists():
            raise EvalInputError(f"{self.source}: body model file or folder not found")
        self._models: dict[str, BodyModel] = {}
        self._note_genders = note_genders
        self.notes: list[str] = []

    @property
    def per_gender(self) -> bool:
        """Whether the gender selects the model file (a model folder was given)."""
        return self.source is not None and self.source.is_dir()

    def get(self, gender: str = "neutral") -> BodyModel:
        """The model for ``gender`` ("male", "female", "neutral")."""
        key = str(gender).lower() if self.per_gender else "any"
        if key not in self._models:
            self._models[key] = self._load(key)
        return self._models[key]

    def _load(self, key: str) -> BodyModel:
        if not self.per_gender and self._note_genders:
            what = "the embedded body" if self.source is None else str(self.source)
            note = (f"one body model ({what}) is used for every gender; "
                    "the files' genders are ignored")
            log.info(note)
            self.notes.append(note)
        try:
            with torch.no_grad():
                return load_body_model(self.source, gender=key if self.per_gender else "neutral")
        except (FileNotFoundError, ValueError, OSError) as error:
            raise EvalInputError(f"body model: {error}") from error


def pose_inputs(model: BodyModel, poses: np.ndarray) -> dict[str, np.ndarray]:
    """Split RHOBIN poses (T, 72) or (T, 156) into the model's axis-angle arguments.

    Returns:
        ``global_orient`` (T, 3), ``body_pose`` (T, 69) for SMPL or (T, 63) with
        ``left_hand_pose`` / ``right_hand_pose`` (T, 45) for SMPL-H/X.
    """
    width = poses.shape[1]
    if width not in POSE_SIZES:
        raise EvalInputError(f"poses: expected (T, 72) or (T, 156), got {poses.shape}")
    out = {"global_orient": poses[:, :3]}
    if model.model_type == "smpl":
        hands = poses[:, 66:72] if width == 72 else np.concatenate(
            [poses[:, 66:69], poses[:, 111:114]], axis=1)
        out["body_pose"] = np.concatenate([poses[:, 3:66], hands], axis=1)
        return out
    out["body_pose"] = poses[:, 3:66]
    if width == 156:
        out["left_hand_pose"], out["right_hand_pose"] = poses[:, 66:111], poses[:, 111:156]
        return out
    for side, start in (("left", 66), ("right", 69)):
        hand = np.zeros((len(poses), 45))
        hand[:, :3] = poses[:, start:start + 3]
        out[f"{side}_hand_pose"] = hand
    return out


def smpl_joint_indices(model: BodyModel) -> np.ndarray:
    """(24,) indices of the model's joints that stand for SMPL's 24 joints."""
    if model.model_type == "smpl":
        return np.arange(24)
    first = _HAND_START[model.model_type]
    return np.array([*range(22), first, first + 15])


@dataclass
class PosedBodies:
    """A batch of posed bodies, float64 numpy, metres."""

    vertices: np.ndarray
    """(B, V, 3) mesh vertices."""
    joints: np.ndarray
    """(B, 24, 3) the SMPL joints (see :func:`smpl_joint_indices`)."""
    rotations: np.ndarray
    """(B, 24, 3, 3) their global rotations."""


def pose_bodies(model: BodyModel, params: dict[str, np.ndarray]) -> PosedBodies:
    """Pose one batch; ``params`` holds (B, D) arrays named like the model's arguments.

    ``betas`` wider than the model's shape space are cut to it (the extra components would be
    ignored by the model anyway).
    """
    args = {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
    if "betas" in args:
        args["betas"] = args["betas"][:, : model.num_betas]
    with torch.no_grad():
        out = model(**args)
    picked = torch.as_tensor(smpl_joint_indices(model))
    return PosedBodies(
        vertices=out.vertices.double().numpy(),
        joints=out.joints[:, picked].double().numpy(),
        rotations=out.joint_rotations[:, picked].double().numpy(),
    )


def chunks(n: int, size: int = CHUNK_FRAMES) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))
