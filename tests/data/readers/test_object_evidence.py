"""Object correspondence and keypoint files, written in each layout and read back."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.data.readers.object_evidence import read_correspondence_json, read_correspondences, read_epro_pnp, read_object_keypoints


def _stackflow(rng: np.random.Generator, n: int = 64) -> dict[str, np.ndarray]:
    """The dict StackFLOW's EPro-PnP inference pickles per image (float32 arrays)."""
    return {"x3d": rng.normal(0, 0.2, (n, 3)).astype(np.float32),
            "x2d": rng.uniform(0, 640, (n, 2)).astype(np.float32),
            "w2d": rng.uniform(0, 1, (n, 2)).astype(np.float32)}


def _pickle(path: Path, data: object) -> Path:
    with open(path, "wb") as fh:
        pickle.dump(data, fh)
    return path


def test_epro_pnp_pickle_reads_points_pixels_and_weights(tmp_path: Path) -> None:
    data = _stackflow(np.random.default_rng(0))
    corr = read_correspondences(_pickle(tmp_path / "k1.object_coor.chairwood.pkl", data))
    np.testing.assert_array_equal(corr.points, data["x3d"])
    np.testing.assert_array_equal(corr.pixels, data["x2d"])
    np.testing.assert_array_equal(corr.axis_weights, data["w2d"])
    np.testing.assert_allclose(corr.weights, (data["w2d"][:, 0].astype(float) + data["w2d"][:, 1]) / 2)
    assert corr.rotation is None and corr.source == "epro-pnp"


def test_epro_pnp_pose_is_translation_then_quaternion_wxyz(tmp_path: Path) -> None:
    data = _stackflow(np.random.default_rng(1))
    rotation = Rotation.from_rotvec([0.3, -1.2, 0.5])
    x, y, z, w = rotation.as_quat()
    data["pose_opt"] = np.array([0.1, -0.2, 2.5, w, x, y, z], np.float32)
    corr = read_epro_pnp(_pickle(tmp_path / "pose.pkl", data))
    np.testing.assert_allclose(corr.rotation, rotation.as_matrix(), atol=1e-6)
    np.testing.assert_allclose(corr.translation, [0.1, -0.2, 2.5], atol=1e-6)


def test_json_correspondences_default_to_unit_weights(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    points, pixels = rng.normal(size=(5, 3)), rng.uniform(0, 100, (5, 2))
    path = tmp_path / "corr.json"
    path.write_text(json.dumps({"points": points.tolist(), "pixels": pixels.tolist()}))
    corr = read_correspondences(path)
    np.testing.assert_array_equal(corr.points, points)
    np.testing.assert_array_equal(corr.pixels, pixels)
    np.testing.assert_array_equal(corr.weights, np.ones(5))
    path.write_text(json.dumps({"points": points.tolist(), "pixels": pixels.tolist(), "weights": [0, 1, 2, 3, 4]}))
    np.testing.assert_array_equal(read_correspondence_json(path).weights, [0, 1, 2, 3, 4])


def test_object_keypoints_in_template_order(tmp_path: Path) -> None:
    rows = [[10.0, 20.0, 0.9], [0.0, 0.0, 0.0], [30.5, 40.5, 0.2]]
    path = tmp_path / "obj.json"
    path.write_text(json.dumps({"keypoints": rows}))
    kp = read_object_keypoints(path, num_keypoints=3)
    np.testing.assert_array_equal(kp.keypoints, rows)
    np.testing.assert_array_equal(kp.pixels, [[10, 20], [0, 0], [30.5, 40.5]])
    np.testing.assert_array_equal(kp.confidence, [0.9, 0.0, 0.2])
    path.write_text(json.dumps(rows))  # the bare list
    np.testing.assert_array_equal(read_object_keypoints(path).keypoints, rows)
    with pytest.raises(ValueError, match=r"obj\.json.*3 object keypoints, the template has 8"):
        read_object_keypoints(path, num_keypoints=8)


@pytest.mark.parametrize("change, match", [
    (lambda d: d.pop("x2d"), "missing key 'x2d'"),
    (lambda d: d.update(x2d=d["x2d"][:10]), "same length"),
    (lambda d: d["x3d"].__setitem__((3, 1), np.nan), "'x3d'.*NaN"),
    (lambda d: d["w2d"].__setitem__((0, 0), -1.0), "'w2d'.*non-negative"),
    (lambda d: d.update(x3d=d["x3d"][:, :2]), "'x3d'"),
    (lambda d: d.update(pose_opt=np.zeros(6)), "'pose_opt'"),
])
def test_malformed_epro_pnp_files_name_the_file_and_key(tmp_path: Path, change, match: str) -> None:
    data = _stackflow(np.random.default_rng(3), n=60)
    change(data)
    with pytest.raises(ValueError, match=match) as info:
        read_epro_pnp(_pickle(tmp_path / "bad_coor.pkl", data))
    assert "bad_coor.pkl" in str(info.value)


class _Foreign:
    def __reduce__(self):
        return (os.getcwd, ())


def test_unreadable_and_foreign_pickles_are_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(ValueError, match=r"junk\.pkl.*unreadable"):
        read_epro_pnp(tmp_path / "junk.pkl")
    with pytest.raises(ValueError, match=r"foreign\.pkl.*refusing"):
        read_epro_pnp(_pickle(tmp_path / "foreign.pkl", {"x3d": _Foreign()}))
    with pytest.raises(ValueError, match=r"list\.pkl.*mapping"):
        read_epro_pnp(_pickle(tmp_path / "list.pkl", [1, 2]))


@pytest.mark.parametrize("content, match", [
    ("{oops", "not valid JSON"),
    (json.dumps({"points": [[0, 0, 0]]}), "missing key 'pixels'"),
    (json.dumps({"points": [[0, 0]], "pixels": [[0, 0]]}), "'points'.*rows of 3"),
    (json.dumps({"points": [[0, 0, 0]] * 2, "pixels": [[0, 0]] * 3}), "same length"),
    (json.dumps({"points": [[0, 0, 0]], "pixels": [[0, 0]], "weights": [-1]}), "non-negative"),
    (json.dumps([[0, 0, 0]]), "JSON object"),
])
def test_malformed_correspondence_json_names_the_file_and_key(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad_corr.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        read_correspondences(path)
    assert "bad_corr.json" in str(info.value)


@pytest.mark.parametrize("content, match", [
    (json.dumps({"keypoints": [[1, 2]]}), "rows of 3"),
    (json.dumps({"keypoints": [[1, 2, float("nan")]]}), "NaN"),
    (json.dumps({"keypoints": [[1, 2, -0.1]]}), "non-negative"),
    (json.dumps({"points": []}), "missing key 'keypoints'"),
])
def test_malformed_object_keypoints_name_the_file_and_key(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "bad_obj.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        read_object_keypoints(path)
    assert "bad_obj.json" in str(info.value)


def test_unknown_correspondence_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"corr\.txt.*\.pkl.*\.json"):
        read_correspondences(tmp_path / "corr.txt")
