"""``hoirecon reconstruct`` and ``hoirecon detect`` on a real photo (a skier, COCO val 785).

The photo has no object of a built-in category, so the object is a baseball bat given by two
keypoints along the ski pole in the skier's right hand: the knob at the glove, the barrel tip
at the pole's lower end.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data.readers.person_keypoints import read_people
from hoirecon.fitting import single
from hoirecon.fitting.mask_search import MaskSearchConfig, search_object_pose
from hoirecon.io.fits import load_fits
from hoirecon.objects import get_category_template

REAL_DIR = Path(__file__).resolve().parents[1] / "data" / "real" / "coco_000000000785"
PHOTO, GT = REAL_DIR / "image.jpg", REAL_DIR / "keypoints_gt.json"
BAT = [[296.0, 192.0, 1.0], [329.0, 305.0, 1.0]]
"""Knob at the right glove, barrel tip at the pole's lower end (pixels)."""
SMPL_OF_COCO = {5: 16, 6: 17, 7: 18, 8: 19, 9: 20, 10: 21, 11: 1, 12: 2, 13: 4, 14: 5, 15: 7, 16: 8}
"""COCO keypoint (shoulders ... ankles) -> the SMPL joint at the same body point."""
FAST = ["--object-steps", "40", "--joint-steps", "30"]
OUTPUTS = ("overlay.png", "views.png", "scene.glb", "reconstruction.json", "fit.json", "fits/baseball_bat.npz")


def _reconstruct(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["reconstruct", *map(str, args)])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def bat_keypoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("evidence") / "bat.json"
    path.write_text(json.dumps({"keypoints": BAT}))
    return path


@pytest.fixture(scope="module")
def detected(tmp_path_factory: pytest.TempPathFactory, bat_keypoints: Path) -> Path:
    pytest.importorskip("mediapipe")
    out = tmp_path_factory.mktemp("detected") / "out"
    code, output = _reconstruct(PHOTO, "--category", "baseball_bat", "--object-keypoints", bat_keypoints,
                                "--out", out, "--preset", "none", *FAST)
    assert code == 0, output
    return out


@pytest.fixture(scope="module")
def from_gt(tmp_path_factory: pytest.TempPathFactory, bat_keypoints: Path) -> Path:
    out = tmp_path_factory.mktemp("gt") / "out"
    code, output = _reconstruct(PHOTO, "--category", "baseball_bat", "--object-keypoints", bat_keypoints,
                                "--person-keypoints", GT, "--out", out, "--preset", "none", *FAST)
    assert code == 0, output
    return out


def _gt_keypoints() -> tuple[np.ndarray, float]:
    """COCO-17 ground truth (17, 3) and the diagonal of its person box."""
    annotation = json.loads(GT.read_text())["annotations"][0]
    box = np.array(annotation["bbox"])
    return np.array(annotation["keypoints"], float).reshape(17, 3), float(np.hypot(box[2], box[3]))


def reprojection_error(record: dict) -> tuple[float, float]:
    """Median pixel distance of the body's shoulders ... ankles, projected with the stated camera,
    to the ground truth, and that median over the person box diagonal."""
    joints = np.array(record["body"]["joints_cam"])
    K = np.array(record["camera"]["intrinsics"])
    assert np.allclose(K[[0, 1], [0, 1]], record["camera"]["focal"])
    assert np.allclose(K[:2, 2], record["camera"]["principal_point"])
    uvw = joints[list(SMPL_OF_COCO.values())] @ K.T
    gt, diagonal = _gt_keypoints()
    errors = np.linalg.norm(uvw[:, :2] / uvw[:, 2:] - gt[list(SMPL_OF_COCO), :2], axis=1)
    return float(np.median(errors)), float(np.median(errors) / diagonal)


def test_reconstruct_with_the_detector_writes_every_output(detected: Path) -> None:
    written = {p.relative_to(detected).as_posix() for p in detected.rglob("*") if p.is_file()}
    assert written == {*OUTPUTS, "detection/keypoints.json", "detection/person_mask.png"}  # no temp or lock files
    assert Image.open(detected / "overlay.png").size == (640, 425)
    width, height = Image.open(detected / "views.png").size
    assert width == 3 * height
    scene = trimesh.load(detected / "scene.glb")
    assert len(scene.geometry) == 2
    assert len(read_people(detected / "detection" / "keypoints.json")) == 1
    assert load_fits(detected, "baseball_bat").image_ids == ["image"]


def test_the_record_states_camera_body_object_evidence_and_losses(detected: Path) -> None:
    record = json.loads((detected / "reconstruction.json").read_text())
    camera = record["camera"]
    assert camera["focal"] == 640 and camera["focal_assumed"] is True
    assert camera["principal_point"] == [319.5, 212.0]
    body = record["body"]
    assert len(body["betas"]) == 10 and len(body["body_pose"]) == 63 and len(body["global_orient"]) == 3
    assert np.array(body["joints_cam"]).shape == (24, 3)
    obj = record["object"]
    assert obj["category"] == "baseball_bat" and obj["scale"] > 0
    for key in ("rotation_cam", "rotation"):
        rotation = np.array(obj[key])
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-4)
    assert 1.0 < obj["translation_cam"][2] < 10.0  # in front of the camera, at a person's distance
    evidence = record["evidence"]
    assert evidence["person_keypoints"] == "detector" and evidence["detector"]["used"] is True
    assert evidence["person_mask"] == "detector" and evidence["object_keypoints"].endswith("bat.json")
    assert set(record["losses"]) >= {"body_keypoints", "object_reprojection"}
    assert not any("no trained prior" in w for w in record["warnings"])  # preset none needs no prior


def test_detected_body_reprojects_onto_the_ground_truth_keypoints(detected: Path) -> None:
    median, relative = reprojection_error(json.loads((detected / "reconstruction.json").read_text()))
    print(f"detector: median reprojection error {median:.1f} px = {100 * relative:.1f}% of the box diagonal")
    assert relative < 0.10


def test_ground_truth_keypoints_in_coco_annotation_layout(from_gt: Path) -> None:
    record = json.loads((from_gt / "reconstruction.json").read_text())
    assert record["evidence"]["person_keypoints"] == str(GT)
    assert record["evidence"]["detector"] == {"used": False} and record["evidence"]["person_mask"] is None
    assert not (from_gt / "detection").exists()
    median, relative = reprojection_error(record)
    print(f"ground truth: median reprojection error {median:.1f} px = {100 * relative:.1f}% of the box diagonal")
    assert relative < 0.05


def test_a_given_focal_is_used_and_not_marked_assumed(tmp_path: Path, bat_keypoints: Path) -> None:
    out = tmp_path / "out"
    code, output = _reconstruct(PHOTO, "--category", "baseball_bat", "--object-keypoints", bat_keypoints,
                                "--person-keypoints", GT, "--focal", "900", "--out", out, "--preset", "none",
                                "--object-steps", "5", "--joint-steps", "5")
    assert code == 0, output
    camera = json.loads((out / "reconstruction.json").read_text())["camera"]
    assert camera["focal"] == 900 and camera["focal_assumed"] is False


def test_fit_image_is_another_name_of_reconstruct(tmp_path: Path, bat_keypoints: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["fit-image", "--image", str(PHOTO), "--keypoints", str(GT), "--category",
                                      "baseball_bat", "--object-keypoints", str(bat_keypoints), "--out", str(out),
                                      "--preset", "none", "--object-steps", "5", "--joint-steps", "5"])
    assert result.exit_code == 0, result.output
    assert all((out / name).is_file() for name in OUTPUTS)


def test_a_mesh_without_keypoints_is_placed_by_correspondences(tmp_path: Path) -> None:
    trimesh.creation.box((0.03, 0.03, 0.8)).export(tmp_path / "stick.ply")
    ends = np.array(BAT)[:, :2]
    (tmp_path / "corr.json").write_text(json.dumps({
        "points": [[0, 0, -0.4], [0, 0, 0.4], [0, 0, 0], [0.015, 0, -0.4], [0.015, 0, 0.4]],
        "pixels": [*ends.tolist(), ends.mean(0).tolist(), *(ends + [1, 0]).tolist()]}))
    out = tmp_path / "out"
    code, output = _reconstruct(PHOTO, "--category", "stick", "--template", tmp_path / "stick.ply",
                                "--correspondences", tmp_path / "corr.json", "--person-keypoints", GT,
                                "--out", out, "--preset", "none", *FAST)
    assert code == 0, output
    record = json.loads((out / "reconstruction.json").read_text())
    obj, K = record["object"], np.array(record["camera"]["intrinsics"])
    tips = obj["scale"] * np.array([[0, 0, -0.4], [0, 0, 0.4]]) @ np.array(obj["rotation_cam"]).T
    uvw = (tips + obj["translation_cam"]) @ K.T
    np.testing.assert_allclose(uvw[:, :2] / uvw[:, 2:], ends, atol=5)
    assert record["evidence"]["template"].endswith("stick.ply") and load_fits(out, "stick").image_ids == ["image"]


# Bad input: one line naming the file and field, exit code 2, nothing written.


def _png(path: Path, size: tuple[int, int], value: int = 0) -> Path:
    Image.fromarray(np.full((size[1], size[0]), value, np.uint8)).save(path)
    return path


def _bad_inputs(tmp: Path, bat: Path) -> dict[str, tuple[list[str | Path], list[str]]]:
    """Case -> (arguments, texts the error must contain)."""
    gt, _ = _gt_keypoints()
    (tmp / "photo.jpg").write_text("not a picture")
    (tmp / "big.json").write_text(json.dumps([{"image_id": 1, "keypoints": (gt * [2, 2, 1]).ravel().tolist()}]))
    (tmp / "nobody.json").write_text("[]")
    (tmp / "openpose.json").write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": [0] * 75}]}))
    trimesh.creation.box((0.1, 0.1, 0.8)).export(tmp / "stick.ply")
    base = ["--person-keypoints", GT, "--object-keypoints", bat]
    return {
        "not an image": ([tmp / "photo.jpg", *base], ["photo.jpg", "not a readable image"]),
        "another image size": ([PHOTO, "--person-keypoints", tmp / "big.json", "--object-keypoints", bat],
                               ["big.json", "keypoints", "outside the 640x425 image"]),
        "zero people": ([PHOTO, "--person-keypoints", tmp / "nobody.json", "--object-keypoints", bat],
                        ["nobody.json", "no person"]),
        "all-zero OpenPose": ([PHOTO, "--person-keypoints", tmp / "openpose.json", "--object-keypoints", bat],
                              ["openpose.json", "no person"]),
        "empty mask": ([PHOTO, *base, "--object-mask", _png(tmp / "empty.png", (640, 425))],
                       ["empty.png", "object mask is empty"]),
        "mask of another size": ([PHOTO, *base, "--person-mask", _png(tmp / "small.png", (320, 212), 255)],
                                 ["small.png", "person mask is 320x212", "640x425"]),
        "unknown category": ([PHOTO, *base, "--category", "surfboard"], ["--category", "surfboard"]),
        "template without keypoints": ([PHOTO, *base, "--template", tmp / "stick.ply", "--category", "stick"],
                                       ["stick.ply", "no keypoints", "--object-keypoints"]),
    }


CASES = ("not an image", "another image size", "zero people", "all-zero OpenPose", "empty mask",
         "mask of another size", "unknown category", "template without keypoints")


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_naming_file_and_field_and_writes_nothing(case: str, tmp_path: Path,
                                                                        bat_keypoints: Path) -> None:
    args, expected = _bad_inputs(tmp_path, bat_keypoints)[case]
    if "--category" not in args:
        args = [*args, "--category", "baseball_bat"]
    out = tmp_path / "out"
    code, output = _reconstruct(*args, "--out", out, "--preset", "none")
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert code == 2, output
    assert len(errors) == 1, output
    for text in expected:
        assert text in errors[0], errors[0]
    assert not out.exists()


def test_object_evidence_is_required(tmp_path: Path) -> None:
    code, output = _reconstruct(PHOTO, "--category", "baseball_bat", "--person-keypoints", GT,
                                "--out", tmp_path / "out")
    assert code == 2 and "no object evidence" in output
    assert not (tmp_path / "out").exists()


# The mask-only object path.


def _pole_mask(path: Path) -> Path:
    """A silhouette of the ski pole in the right hand: a 7 px wide band from the glove to its tip."""
    u, v = np.meshgrid(np.arange(640), np.arange(425))
    (a, b), d = BAT[0][:2], np.array(BAT[1][:2]) - np.array(BAT[0][:2])
    s = np.clip(((u - a) * d[0] + (v - b) * d[1]) / (d @ d), 0, 1)
    near = np.hypot(u - a - s * d[0], v - b - s * d[1]) <= 3.5
    Image.fromarray((near * 255).astype(np.uint8)).save(path)
    return path


def test_an_object_mask_alone_places_the_object_on_its_silhouette(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    quick = MaskSearchConfig(num_keep=12, refine_steps=40, num_verify=3)  # a lighter search than the default
    monkeypatch.setattr(single, "search_object_pose", functools.partial(search_object_pose, config=quick))
    out = tmp_path / "out"
    code, output = _reconstruct(PHOTO, "--category", "baseball_bat", "--person-keypoints", GT, "--object-mask",
                                _pole_mask(tmp_path / "pole.png"), "--out", out, "--preset", "none", *FAST)
    assert code == 0, output
    record = json.loads((out / "reconstruction.json").read_text())
    evidence, obj = record["evidence"], record["object"]
    assert evidence["object_init"] == "mask" and evidence["mask_search"]["iou"] > 0.5
    template = get_category_template("baseball_bat")
    points = obj["scale"] * np.asarray(template.keypoints) @ np.array(obj["rotation_cam"]).T + obj["translation_cam"]
    uvw = points @ np.array(record["camera"]["intrinsics"]).T
    ends = np.sort(uvw[:, :2] / uvw[:, 2:], axis=0)  # a uniform band cannot tell the knob from the tip
    np.testing.assert_allclose(ends, np.sort(np.array(BAT)[:, :2], axis=0), atol=15)


# hoirecon detect


def test_detect_writes_keypoints_and_mask_of_the_person(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    result = CliRunner().invoke(app, ["detect", str(PHOTO), "--out", str(tmp_path / "det")])
    assert result.exit_code == 0, result.output
    assert "keypoints.json" in result.output and "person_mask.png" in result.output
    people = read_people(tmp_path / "det" / "keypoints.json")
    assert len(people) == 1 and people[0].frame == "image"
    gt, diagonal = _gt_keypoints()
    errors = np.linalg.norm(people[0].keypoints[:, :2] - gt[:, :2], axis=1)
    assert np.mean(errors < 0.1 * diagonal) >= 0.8
    assert Image.open(tmp_path / "det" / "person_mask.png").size == (640, 425)


@pytest.mark.parametrize("case", ["not an image", "no person"])
def test_detect_bad_input_is_one_line_naming_the_file(case: str, tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    if case == "not an image":
        image = tmp_path / "photo.jpg"
        image.write_text("not a picture")
    else:
        image = _png(tmp_path / "snow.png", (320, 240), 230)
    result = CliRunner().invoke(app, ["detect", str(image), "--out", str(tmp_path / "det")])
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(errors) == 1 and image.name in errors[0], result.output
    assert not (tmp_path / "det").exists()


# Priors: the default prior without --prior, and prior+contact from the two masks.


def _person_mask(path: Path) -> Path:
    """The person's silhouette, roughly: the hull of the ground-truth keypoints grown by 25 px."""
    import cv2

    gt, _ = _gt_keypoints()
    mask = np.zeros((425, 640), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(gt[gt[:, 2] > 0, :2].astype(np.int32)), 255)
    Image.fromarray(cv2.dilate(mask, np.ones((51, 51), np.uint8))).save(path)
    return path


def test_without_prior_the_categorys_default_prior_is_used_and_recorded(tmp_path: Path, bat_keypoints: Path) -> None:
    out = tmp_path / "out"
    code, output = _reconstruct(PHOTO, "--category", "baseball_bat", "--object-keypoints", bat_keypoints,
                                "--person-keypoints", GT, "--out", out, "--object-steps", "5", "--joint-steps", "5")
    assert code == 0, output
    assert "default prior" in output and "baseball_bat.pt.gz" in output
    record = json.loads((out / "reconstruction.json").read_text())
    prior = record["evidence"]["prior"]
    assert prior["source"] == "default" and prior["path"].endswith("baseball_bat.pt.gz")
    assert prior["used_for"] == ["prior"] and prior["trained"]["data"]["observation"] == "realistic"
    assert record["fit"]["preset"] == "prior" and "prior" in record["losses"]
    assert not any("no trained prior" in w for w in record["warnings"])
    fit_info = json.loads((out / "fit.json").read_text())
    assert fit_info["categories"]["baseball_bat"]["prior"].endswith("baseball_bat.pt.gz")


def test_prior_and_contact_on_one_photo_from_the_two_masks(tmp_path: Path, bat_keypoints: Path) -> None:
    out = tmp_path / "out"
    code, output = _reconstruct(PHOTO, "--category", "baseball_bat", "--object-keypoints", bat_keypoints,
                                "--person-keypoints", GT, "--person-mask", _person_mask(tmp_path / "person.png"),
                                "--object-mask", _pole_mask(tmp_path / "pole.png"), "--preset", "prior+contact",
                                "--out", out, "--object-steps", "5", "--joint-steps", "5")
    assert code == 0, output
    record = json.loads((out / "reconstruction.json").read_text())
    prior = record["evidence"]["prior"]
    assert prior["used_for"] == ["prior", "contact"] and prior["occlusion_maps"]["images"] > 0
    assert {"prior", "contact"} <= set(record["losses"]) and record["fit"]["preset"] == "prior+contact"


def test_contact_needs_both_masks_and_a_prior_with_maps(tmp_path: Path, bat_keypoints: Path) -> None:
    from hoirecon.prior.builtin import default_prior_path
    from hoirecon.prior.prior import load_prior

    base = [PHOTO, "--category", "baseball_bat", "--object-keypoints", bat_keypoints, "--person-keypoints", GT,
            "--preset", "prior+contact", "--out", tmp_path / "out"]
    code, output = _reconstruct(*base)
    assert code == 2 and "needs both silhouettes" in output and "--object-mask" in output
    old = load_prior(default_prior_path("baseball_bat"))
    old.occlusion = None  # as a prior file written before they were stored
    old.save(tmp_path / "old.pt", old.metadata)
    masks = ["--person-mask", _person_mask(tmp_path / "person.png"), "--object-mask", _pole_mask(tmp_path / "pole.png")]
    code, output = _reconstruct(*base, *masks, "--prior", tmp_path / "old.pt")
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "old.pt" in errors[0] and "no occlusion maps" in errors[0], output
    assert not (tmp_path / "out").exists()
