"""Bad inputs raise ValueError naming the offending argument."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hoirecon.eval.metrics import (
    BEHAVE_K,
    auc,
    average_recall,
    chamfer_distance,
    mpjae,
    mpjae_pa,
    mpjpe,
    mpjpe_pa,
    mspd,
    mssd,
    object_diameter,
    pck,
    procrustes_align,
    rotation_error,
)
from hoirecon.eval.sampling import behave_object_vertices, sample_surface, wildhoi_object_vertices

I3, T3 = np.eye(3), np.array([0.0, 0.0, 2.0])
PTS = np.random.default_rng(0).normal(size=(8, 3))
NAN_PTS = PTS.copy()
NAN_PTS[3, 1] = np.nan
REFLECTION = np.diag([1.0, 1.0, -1.0])
JOINTS = np.zeros((2, 5, 3))
ROTS = np.tile(I3, (2, 4, 1, 1))
TRI_V = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
TRI_F = np.array([[0, 1, 2]])

CASES: list[tuple[str, Callable[[], Any]]] = [
    ("a", lambda: chamfer_distance(PTS[:, :2], PTS)),
    ("a", lambda: chamfer_distance(NAN_PTS, PTS)),
    ("b", lambda: chamfer_distance(PTS, np.zeros((0, 3)))),
    ("target", lambda: procrustes_align(PTS, PTS[:5])),
    ("source", lambda: procrustes_align("not points", PTS)),
    ("R_est", lambda: mssd(2.0 * I3, T3, I3, T3, PTS)),
    ("R_est", lambda: mssd(REFLECTION, T3, I3, T3, PTS)),
    ("t_gt", lambda: mssd(I3, T3, I3, T3[:2], PTS)),
    ("points", lambda: mssd(I3, T3, I3, T3, np.zeros((0, 3)))),
    ("symmetries", lambda: mssd(I3, T3, I3, T3, PTS, [I3])),
    ("symmetries", lambda: mssd(I3, T3, I3, T3, PTS, [(REFLECTION, T3)])),
    ("K", lambda: mspd(I3, T3, I3, T3, PTS, BEHAVE_K[:2])),
    ("R_gt", lambda: rotation_error(I3, np.full((3, 3), np.nan))),
    ("points", lambda: object_diameter(NAN_PTS)),
    ("errors", lambda: average_recall([1.0, np.nan], 10.0)),
    ("errors", lambda: average_recall(np.ones((2, 2)), 10.0)),
    ("errors", lambda: average_recall([], 10.0)),
    ("max_error", lambda: average_recall([1.0], 0.0)),
    ("pred", lambda: mpjpe(JOINTS[..., :2], JOINTS)),
    ("gt", lambda: mpjpe(JOINTS, JOINTS[:1])),
    ("root", lambda: mpjpe(JOINTS, JOINTS, root=5)),
    ("root", lambda: mpjpe(JOINTS, JOINTS, root=1.5)),
    ("gt", lambda: mpjpe_pa(JOINTS, np.full_like(JOINTS, np.nan))),
    ("threshold", lambda: pck(JOINTS, JOINTS, -1.0)),
    ("max_threshold", lambda: auc(JOINTS, JOINTS, 0.0)),
    ("pred_rots", lambda: mpjae(2.0 * ROTS, ROTS)),
    ("gt_rots", lambda: mpjae(ROTS, ROTS[:1])),
    ("pred_joints", lambda: mpjae_pa(ROTS, ROTS, JOINTS[:1], JOINTS[:1])),
    ("gt_joints", lambda: mpjae_pa(ROTS, ROTS, JOINTS, JOINTS[:, :3])),
    ("vertices", lambda: sample_surface(NAN_PTS, TRI_F, 10, seed=0)),
    ("faces", lambda: sample_surface(TRI_V, TRI_F.astype(float), 10, seed=0)),
    ("faces", lambda: sample_surface(TRI_V, TRI_F + 1, 10, seed=0)),
    ("faces", lambda: sample_surface(TRI_V, np.array([[0, 0, 1]]), 10, seed=0)),
    ("n", lambda: sample_surface(TRI_V, TRI_F, 0, seed=0)),
    ("seed", lambda: sample_surface(TRI_V, TRI_F, 10, seed=-1)),
    ("s", lambda: behave_object_vertices(PTS, I3, T3, 0.0)),
    ("R", lambda: wildhoi_object_vertices(PTS, REFLECTION, T3, 1.0)),
]


@pytest.mark.parametrize(("name", "call"), CASES)
def test_bad_input_names_argument(name: str, call: Callable[[], Any]) -> None:
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
