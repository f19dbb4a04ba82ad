"""BEHAVE templates for the RHOBIN files: centred, symmetries found on the mesh only where it has them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from hoirecon.tracks.templates import detect_symmetries, load_rhobin_template


def test_a_box_has_its_three_half_turns_a_chair_none(behave_tree: Path) -> None:
    box = load_rhobin_template(behave_tree, "boxmedium")
    chair = load_rhobin_template(behave_tree, "chairwood")
    assert len(box.symmetries) == 4 and len(chair.symmetries) == 1
    np.testing.assert_allclose(box.vertices.mean(axis=0), 0.0, atol=1e-9)
    for rotation in box.symmetries:
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)


def test_symmetries_follow_the_mesh_whatever_its_orientation() -> None:
    rotation = Rotation.from_euler("xyz", [0.3, -0.7, 1.1]).as_matrix()
    cylinder = trimesh.creation.cylinder(radius=0.2, height=0.6, sections=12)
    vertices = np.asarray(cylinder.vertices) @ rotation.T
    vertices -= vertices.mean(axis=0)
    found = detect_symmetries("trashbin", vertices)
    assert np.allclose(found[0], np.eye(3)) and len(found) >= 12
    assert len(detect_symmetries("basketball", np.asarray(trimesh.creation.icosphere(2).vertices))) == 60


def test_unknown_object_is_refused(behave_tree: Path) -> None:
    with pytest.raises(ValueError, match="unknown BEHAVE object"):
        load_rhobin_template(behave_tree, "sofa")
    with pytest.raises(FileNotFoundError):
        load_rhobin_template(behave_tree, "keyboard")
