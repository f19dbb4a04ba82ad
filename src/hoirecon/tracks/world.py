"""From one Kinect's colour frame to BEHAVE's world frame (camera k1), in the RHOBIN conventions.

A camera k maps its points into the world as ``p_w = R_k p_k + t_k`` (``calibs/<Date>/config``;
:class:`~hoirecon.data.readers.behave_files.KinectCamera`). Then:

- Body (SMPL family: the global rotation turns the shaped body about its rest pelvis ``J0(betas)``,
  ``transl`` is added after): ``R_w = R_k R_c``, pelvis ``P_w = R_k (transl_c + J0) + t_k``,
  ``transl_w = P_w - J0'``. ``J0`` is the rest pelvis of the model that made the fit, ``J0'``
  that of the model that will pose the written body (the evaluator's SMPL-H of the subject's
  gender when the user's model folder is given; else the same model).
- Object: our fits place ``s X R_c^T + t_c``; the RHOBIN tools place ``(X R^T + t) s`` (scale after
  the translation). In the world, ``R = R_k R_c`` and ``t = (R_k t_c + t_k) / s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel
from hoirecon.data.readers.behave_files import KinectCamera, SequenceInfo, read_info, read_kinect
from hoirecon.data.readers.common import LayoutError


@dataclass(frozen=True)
class WorldBody:
    """Bodies in the world frame, (N, ...) arrays."""

    global_orient: np.ndarray
    """(N, 3) axis-angle."""
    transl: np.ndarray
    """(N, 3) model translation."""


@dataclass(frozen=True)
class WorldObject:
    """Object poses in the world frame, in the RHOBIN placement ``(X R^T + t) s``."""

    rotation: np.ndarray
    """(N, 3, 3)."""
    translation: np.ndarray
    """(N, 3) the translation BEFORE the scale."""
    scale: np.ndarray
    """(N,)."""


def rest_pelvis(model: BodyModel, betas: np.ndarray) -> np.ndarray:
    """(N, 3) the model's rest pelvis ``J0(betas)`` for betas (N, B) (cut to the model's shape space)."""
    betas = torch.as_tensor(np.asarray(betas, dtype=np.float64)[:, : model.num_betas], dtype=torch.float32)
    with torch.no_grad():
        return model(betas=betas).joints[:, 0].double().numpy()


def body_to_world(global_orient: np.ndarray, transl: np.ndarray, pelvis_rest: np.ndarray,
                  camera: KinectCamera, scoring_pelvis: np.ndarray | None = None) -> WorldBody:
    """Camera-frame bodies (N, 3) each, with their rest pelvis (N, 3), in the world frame.

    ``scoring_pelvis`` (N, 3) is the rest pelvis of the model that will pose the written
    parameters (the evaluator's, when it differs from the fit's): the translation then keeps the
    fitted pelvis where the fit put it. Default: ``pelvis_rest``.
    """
    rotation = camera.rotation @ Rotation.from_rotvec(global_orient).as_matrix()
    pelvis = (transl + pelvis_rest) @ camera.rotation.T + camera.translation
    target = pelvis_rest if scoring_pelvis is None else scoring_pelvis
    return WorldBody(Rotation.from_matrix(rotation).as_rotvec(), pelvis - target)


def object_to_world(rotation: np.ndarray, translation: np.ndarray, scale: np.ndarray,
                    camera: KinectCamera) -> WorldObject:
    """Camera-frame object poses (ours: ``s X R^T + t``; (N, 3, 3), (N, 3), (N,)) in the world,
    in the RHOBIN placement."""
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    world_t = translation @ camera.rotation.T + camera.translation
    return WorldObject(np.einsum("ij,njk->nik", camera.rotation, rotation), world_t / scale[:, None], scale)


class BehaveCalibration:
    """Sequence info and Kinect calibrations of a BEHAVE tree, read once each."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.seq_root = self.root / "sequences" if (self.root / "sequences").is_dir() else self.root
        calibs = self.root / "calibs"
        self.calib_root = calibs if calibs.is_dir() else self.root.parent / "calibs"
        self._info: dict[str, SequenceInfo] = {}
        self._cameras: dict[tuple[str, int], KinectCamera] = {}

    @property
    def objects_root(self) -> Path:
        """The folder holding ``objects/`` (the root, or the parent of a folder of sequences)."""
        return self.root if (self.root / "objects").is_dir() or self.seq_root != self.root else self.root.parent

    def sequence_dir(self, sequence: str) -> Path:
        """The folder of ``sequence``; LayoutError when it is not in the tree."""
        folder = self.seq_root / sequence
        if not folder.is_dir():
            raise LayoutError(f"{folder}: sequence not found in the BEHAVE tree {self.root}")
        return folder

    def info(self, sequence: str) -> SequenceInfo:
        """``info.json`` of ``sequence`` (object, gender, kinects, calibration folders)."""
        if sequence not in self._info:
            self._info[sequence] = read_info(self.sequence_dir(sequence), self.calib_root)
        return self._info[sequence]

    def camera(self, sequence: str, kinect: int) -> KinectCamera:
        """Intrinsics and pose of Kinect ``kinect`` in ``sequence``'s capture."""
        key = (sequence, kinect)
        if key not in self._cameras:
            self._cameras[key] = read_kinect(self.info(sequence), kinect)
        return self._cameras[key]
