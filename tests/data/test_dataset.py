from pathlib import Path

import numpy as np
import pytest

from hoirecon.data import load_dataset
from hoirecon.data.format import DatasetFormatError


def test_samples_round_trip_and_project(tiny_dataset: Path) -> None:
    ds = load_dataset(tiny_dataset)
    assert ds.categories == ["baseball_bat"]
    train = list(ds.samples("baseball_bat", "train"))
    test = list(ds.samples("baseball_bat", "test"))
    assert len(train) == 3 and len(test) == 1
    s = train[0]
    assert s.keypoints_2d.shape == (24, 2) and s.num_object_keypoints == 2
    assert s.image_path is not None and s.image_path.is_file()
    pts = np.concatenate([s.gt.joints_3d, s.gt.object_keypoints_3d])
    np.testing.assert_allclose(s.project(pts), s.keypoints_2d, atol=1e-3)


def test_object_pose_camera_maps_origin_to_camera_frame(tiny_dataset: Path) -> None:
    s = next(load_dataset(tiny_dataset).samples("baseball_bat"))
    pose = s.object_pose_camera()
    rotation, translation = pose.rotation, pose.translation
    np.testing.assert_allclose(translation, s.human_to_camera(s.gt.object_translation))
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-6)


def test_sample_lookup_by_id(tiny_dataset: Path) -> None:
    ds = load_dataset(tiny_dataset)
    assert ds.sample("baseball_bat", "img0002").image_id == "img0002"
    with pytest.raises(KeyError, match="img9999"):
        ds.sample("baseball_bat", "img9999")


def test_unknown_category_is_named(tiny_dataset: Path) -> None:
    with pytest.raises(ValueError, match="'cello'"):
        list(load_dataset(tiny_dataset).samples("cello"))


def test_missing_manifest_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="dataset.json"):
        load_dataset(tmp_path)
