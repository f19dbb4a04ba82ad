from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.transform import Rotation

from hoirecon.fitting.pnp import init_object_pnp
from hoirecon.fitting.single import (
    OUTSIDE_MARGIN,
    check_in_image,
    image_camera,
    pose_correspondences,
    upright_image,
)
from hoirecon.objects import get_category_template


def test_an_exif_rotated_photo_becomes_an_upright_copy(tmp_path: Path) -> None:
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:10, :10] = 255  # a bright corner, top left when upright
    sideways = Image.fromarray(pixels).transpose(Image.Transpose.ROTATE_90)  # stored turned left
    exif = Image.Exif()
    exif[0x0112] = 6  # viewers turn it right by 90 degrees
    sideways.save(tmp_path / "photo.jpg", exif=exif.tobytes(), quality=95)
    upright = upright_image(tmp_path / "photo.jpg", tmp_path)
    assert upright != tmp_path / "photo.jpg" and image_camera(upright).image_size == (60, 40)
    assert np.asarray(Image.open(upright))[:10, :10].mean() > 200
    Image.fromarray(pixels).save(tmp_path / "plain.png")
    assert upright_image(tmp_path / "plain.png", tmp_path) == tmp_path / "plain.png"


def test_a_file_that_is_not_an_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_text("not a picture")
    with pytest.raises(ValueError, match="photo.jpg: not a readable image"):
        upright_image(tmp_path / "photo.jpg", tmp_path)


def test_camera_defaults_to_the_longer_side_and_says_so(tmp_path: Path) -> None:
    Image.new("RGB", (80, 60)).save(tmp_path / "photo.png")
    assumed, given = image_camera(tmp_path / "photo.png"), image_camera(tmp_path / "photo.png", 100.0)
    assert (assumed.focal, assumed.focal_assumed, assumed.principal_point) == (80.0, True, (39.5, 29.5))
    assert (given.focal, given.focal_assumed) == (100.0, False)
    with pytest.raises(ValueError, match="focal"):
        image_camera(tmp_path / "photo.png", -1.0)


def test_pixels_may_leave_the_image_only_by_the_margin() -> None:
    margin = OUTSIDE_MARGIN * 200
    inside = np.array([[-margin + 1, 0.0], [200 + margin - 1, 100 + margin - 1]])
    check_in_image(inside, np.ones(2), (200, 100), "kp.json: keypoints")
    check_in_image(np.array([[1000.0, 0.0]]), np.zeros(1), (200, 100), "unused points are not checked")
    with pytest.raises(ValueError, match=r"kp.json: keypoints: point 1 .* outside the 200x100 image"):
        check_in_image(np.array([[5.0, 5.0], [5.0, 100 + margin + 1]]), np.ones(2), (200, 100), "kp.json: keypoints")


def test_correspondences_of_a_pose_give_that_pose_back_by_pnp() -> None:
    template = get_category_template("skateboard")
    K = np.array([[500.0, 0, 160], [0, 500.0, 120], [0, 0, 1]])
    rotation, translation = Rotation.from_rotvec([0.4, -0.8, 0.3]).as_matrix(), np.array([0.1, 0.2, 3.0])
    corr = pose_correspondences(template, rotation, translation, 1.0, K, count=64)
    assert len(corr.points) == 64 and np.all(corr.weights == 1)
    found = init_object_pnp(corr.points, corr.pixels, corr.weights, K)
    assert found.success
    np.testing.assert_allclose(found.pose.rotation, rotation, atol=1e-4)
    np.testing.assert_allclose(found.pose.translation, translation, atol=1e-3)
