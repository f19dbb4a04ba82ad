"""Object evidence of one image: which file wins, what an estimated pose adds, labels on request."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.data.readers import SampleError
from hoirecon.data.readers.evidence import (
    EvidenceFiles,
    annotation_evidence,
    check_object_evidence,
    pose_correspondences,
    read_object_evidence,
    read_object_pose,
    strongest,
)
from hoirecon.data.readers.records import ObjectPose

K = np.array([[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]])
KEYPOINTS = np.array([[0.1, 0.0, 0.0], [-0.1, 0.05, 0.02]])
VERTICES = np.random.default_rng(0).normal(0.0, 0.1, (40, 3))
POSE = ObjectPose(Rotation.from_rotvec([0.2, -0.4, 0.1]).as_matrix(), np.array([0.1, -0.1, 2.0]))


def project(points: np.ndarray) -> np.ndarray:
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:3]


def files(folder: Path) -> EvidenceFiles:
    return EvidenceFiles((folder / "a.obj_coor.pkl", folder / "b.obj_coor.json"), (folder / "kp.json",),
                         (folder / "pose.json",))


def test_strongest_keeps_the_largest_positive_weights_in_order() -> None:
    weights = np.array([0.2, 0.0, 0.9, 0.5, 0.0])
    points, pixels, kept = strongest(np.arange(15.0).reshape(5, 3), np.arange(10.0).reshape(5, 2), weights, 2)
    np.testing.assert_array_equal(kept, [0.9, 0.5])
    np.testing.assert_array_equal(points[:, 0], [6.0, 9.0])
    assert len(strongest(points, pixels, np.zeros(2), 5)[2]) == 0


def test_pose_file_reads_matrices_and_axis_angles_and_names_bad_keys(tmp_path: Path) -> None:
    path = tmp_path / "pose.json"
    path.write_text(json.dumps({"rotation": [0.2, -0.4, 0.1], "translation": [0.1, -0.1, 2.0]}))
    pose = read_object_pose(path)
    np.testing.assert_allclose(pose.rotation, POSE.rotation, atol=1e-12)
    path.write_text(json.dumps({"rotation": POSE.rotation.tolist(), "translation": [0, 0, 1], "scale": 1.5}))
    assert read_object_pose(path).scale == 1.5
    path.write_text(json.dumps({"rotation": POSE.rotation.tolist()}))
    with pytest.raises(SampleError, match="'translation'") as err:
        read_object_pose(path)
    assert err.value.path == str(path)


def test_an_estimated_pose_gives_keypoint_rows_and_vertex_correspondences(tmp_path: Path) -> None:
    (tmp_path / "pose.json").write_text(json.dumps({"rotation": POSE.rotation.tolist(),
                                                    "translation": POSE.translation.tolist()}))
    evidence = read_object_evidence(files(tmp_path), 2, K, template_keypoints=KEYPOINTS, vertices=VERTICES,
                                    max_correspondences=10)
    assert evidence.found and evidence.files == (str(tmp_path / "pose.json"),)
    np.testing.assert_allclose(evidence.keypoints, np.c_[project(POSE.apply(KEYPOINTS)), np.ones(2)])
    np.testing.assert_allclose(evidence.corr_points, VERTICES[np.linspace(0, 39, 10).round().astype(int)])
    np.testing.assert_allclose(evidence.corr_pixels, project(POSE.apply(evidence.corr_points)))
    bare = read_object_evidence(files(tmp_path), 2, K)  # no template: a pose a sample cannot carry
    assert not bare.found and bare.pose is not None and "pass templates=" in bare.missing(files(tmp_path))


def test_files_win_over_the_pose_and_an_empty_folder_has_no_evidence(tmp_path: Path) -> None:
    empty = read_object_evidence(files(tmp_path), 2, K)
    assert not empty.found and "looked for a.obj_coor.pkl, b.obj_coor.json" in empty.missing(files(tmp_path))
    (tmp_path / "pose.json").write_text(json.dumps({"rotation": [0.0, 0.0, 0.0], "translation": [0, 0, 2]}))
    (tmp_path / "kp.json").write_text(json.dumps({"keypoints": [[1, 2, 0.5], [3, 4, 0.0]]}))
    data = {"x3d": VERTICES.astype(np.float32), "x2d": np.zeros((40, 2), np.float32),
            "w2d": np.full((40, 2), 0.5, np.float32)}
    (tmp_path / "a.obj_coor.pkl").write_bytes(pickle.dumps(data))
    evidence = read_object_evidence(files(tmp_path), 2, K, template_keypoints=KEYPOINTS, vertices=VERTICES)
    np.testing.assert_array_equal(evidence.keypoints, [[1, 2, 0.5], [3, 4, 0.0]])
    assert len(evidence.corr_weight) == 40 and len(evidence.files) == 3
    with pytest.raises(SampleError, match="template has 3"):
        read_object_evidence(files(tmp_path), 3, K)


def test_vertices_behind_the_camera_give_no_correspondence() -> None:
    near = ObjectPose(np.eye(3), np.array([0.0, 0.0, 0.05]))
    points, pixels, weights = pose_correspondences(near, VERTICES, K, 100)
    assert 0 < len(points) < len(VERTICES)
    assert (near.apply(points)[:, 2] > 0).all() and (weights == 1).all() and len(pixels) == len(points)


def test_annotation_evidence_is_labelled_and_the_option_is_checked() -> None:
    labelled = annotation_evidence(POSE, 2, K, template_keypoints=KEYPOINTS)
    assert labelled.files == ("annotation",) and labelled.pose is None
    np.testing.assert_allclose(labelled.keypoints[:, :2], project(POSE.apply(KEYPOINTS)))
    assert check_object_evidence("annotation") == "annotation"
    with pytest.raises(ValueError, match="estimate, annotation"):
        check_object_evidence("truth")
