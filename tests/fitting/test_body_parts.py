"""Body-part vertex sets: disjoint, non-empty, and where the part's joints are."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hoirecon.body import SMPLH_JOINT_NAMES, SMPLX_JOINT_NAMES, load_body_model
from hoirecon.fitting.body_parts import body_part_vertices, dominant_joints, part_of_joint
from hoirecon.objects import BODY_PARTS


@pytest.fixture(scope="module")
def body():
    return load_body_model()


@pytest.fixture(scope="module")
def parts(body):
    return body_part_vertices(body)


@pytest.fixture(scope="module")
def rest(body):
    with torch.no_grad():
        out = body()
    return out.vertices[0].double().numpy(), out.joints[0].double().numpy()


def test_every_part_is_nonempty_and_disjoint(parts, body) -> None:
    assert set(parts) == set(BODY_PARTS)
    ids = np.concatenate(list(parts.values()))
    assert all(len(v) > 50 for v in parts.values())
    assert len(np.unique(ids)) == len(ids)
    assert ids.min() >= 0 and ids.max() < body.num_vertices
    assert all(np.all(np.diff(v) > 0) for v in parts.values())


@pytest.mark.parametrize("side", ["left", "right"])
def test_hands_and_feet_sit_at_their_joints(parts, rest, body, side) -> None:
    verts, joints = rest
    names = body.joint_names
    other = "right" if side == "left" else "left"
    at = lambda s, pair: joints[[names.index(f"{s}_{j}") for j in pair]].mean(0)  # noqa: E731
    for part, pair in ((f"{side}_hand", ("wrist", "hand")), (f"{side}_foot", ("ankle", "foot"))):
        centre = verts[parts[part]].mean(0)
        own = np.linalg.norm(centre - at(side, pair))
        far = np.linalg.norm(centre - at(other, pair))
        assert own < 0.08, (part, own)
        assert far > 3 * own


def test_head_is_above_the_torso_and_the_pelvis_below(parts, rest) -> None:
    verts, joints = rest
    height = {p: verts[ids, 1].mean() for p, ids in parts.items()}
    assert height["head"] > height["torso"] > height["pelvis"] > height["left_foot"]
    assert abs(height["pelvis"] - joints[0, 1]) < 0.1


def test_pelvis_does_not_run_down_the_thighs(parts, rest, body) -> None:
    verts, joints = rest
    hips_y = joints[[1, 2], 1].mean()
    assert verts[parts["pelvis"], 1].min() > hips_y - 0.12


@pytest.mark.parametrize("names", [SMPLH_JOINT_NAMES, SMPLX_JOINT_NAMES])
def test_joint_names_of_smplh_and_smplx_map_to_parts(names) -> None:
    mapped = {n: part_of_joint(n) for n in names}
    fingers = [n for n in names[22:] if n.startswith(("left_", "right_")) and n[-1].isdigit()]
    assert len(fingers) == 30
    assert all(mapped[n] == n.split("_")[0] + "_hand" for n in fingers)
    assert set(BODY_PARTS) <= set(mapped.values())
    assert mapped["left_knee"] is None and mapped["right_elbow"] is None
    if "jaw" in names:
        assert mapped["jaw"] == "head" and mapped["left_eye"] == "head"


def test_dominant_joints_rejects_bad_weights() -> None:
    assert dominant_joints(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist() == [1, 0]
    with pytest.raises(ValueError, match="weights"):
        dominant_joints(np.zeros(4))
