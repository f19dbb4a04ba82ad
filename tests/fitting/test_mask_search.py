"""Object pose from its mask alone: recovery of known poses, the pieces it is built from, bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.fitting.body_init import BodyInit
from hoirecon.fitting.mask_search import MaskSearchConfig, search_object_pose
from hoirecon.fitting.mask_search_loss import LossWeights, hypothesis_poses, refine, silhouette_losses
from hoirecon.fitting.mask_search_polish import (
    PosedSilhouette,
    polish_pose,
    render_iou,
    silhouette_iou,
    silhouette_target,
)
from hoirecon.fitting.mask_search_rotations import (
    diverse_order,
    hypothesis_rotations,
    super_fibonacci_rotations,
    symmetric_angle,
)
from hoirecon.fitting.mask_search_stages import initial_hypotheses, surface_points
from hoirecon.fitting.mask_search_target import build_target
from hoirecon.geometry import geodesic_angle
from hoirecon.objects import ObjectTemplate, get_category_template
from hoirecon.render import Camera, SceneMesh, render_scene

SIZE = 256
K = np.array([[300.0, 0.0, 127.5], [0.0, 300.0, 127.5], [0.0, 0.0, 1.0]])
CAMERA = Camera(K, SIZE, SIZE)
WEIGHTS = LossWeights(inside=1.0, contour=1.0, interior=0.5, depth=1.0)


def _mask(template: ObjectTemplate, rotation: np.ndarray, translation: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """(H, W) bool silhouette of the posed template."""
    vertices = template.transformed(rotation, translation, scale)
    return render_scene([SceneMesh(vertices, template.faces)], CAMERA, shading=False).instance > 0


def _scene(category: str, seed: int) -> tuple[ObjectTemplate, np.ndarray, np.ndarray, np.ndarray]:
    """A random pose 2-4 m away whose whole silhouette lies inside the image: template, R, t, mask."""
    template = get_category_template(category)
    rng = np.random.default_rng(seed)
    while True:
        rotation = Rotation.random(random_state=int(rng.integers(2**31))).as_matrix()
        depth = rng.uniform(2.0, 4.0)
        translation = np.append((rng.uniform(80.0, 176.0, 2) - 127.5) * depth / 300.0, depth)
        mask = _mask(template, rotation, translation)
        if mask.sum() > 100 and not (mask[[0, -1]].any() or mask[:, [0, -1]].any()):
            return template, rotation, translation, mask


def _error_deg(template: ObjectTemplate, estimate: np.ndarray, truth: np.ndarray) -> float:
    """Rotation error in degrees, minimised over the template's symmetries."""
    candidates = truth[None] @ template.symmetry_rotations  # (S, 3, 3)
    return float(np.degrees(geodesic_angle(np.broadcast_to(estimate, candidates.shape), candidates).min()))


# --- recovery --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("category", "seed"), [("skateboard", 1), ("skateboard", 2), ("cello", 1), ("cello", 2),
                                                ("barbell", 1), ("barbell", 2)])
def test_search_recovers_a_known_pose_from_its_mask(category: str, seed: int) -> None:
    template, rotation, translation, mask = _scene(category, seed)
    result = search_object_pose(mask, template, K)
    assert _error_deg(template, result.rotation, rotation) < 15.0
    assert result.iou > 0.8
    assert abs(result.translation[2] - translation[2]) < 0.1 * translation[2]
    assert result.scale == 1.0
    np.testing.assert_allclose(result.rotation @ result.rotation.T, np.eye(3), atol=1e-5)
    assert np.isfinite(result.score) and result.score == pytest.approx(sum(result.loss_terms.values()))
    # the reported IoU is the IoU of the returned pose
    assert silhouette_iou(_mask(template, result.rotation, result.translation), mask) == pytest.approx(result.iou)


@pytest.mark.slow
def test_a_ball_is_placed_from_one_rotation_hypothesis() -> None:
    """A sphere's rotation is any rotation: only its centre and depth can come from the mask."""
    template, _, translation, mask = _scene("yoga_ball", 3)
    result = search_object_pose(mask, template, K)
    assert result.num_hypotheses == len(MaskSearchConfig().scales)  # one rotation per scale
    assert result.iou > 0.9
    np.testing.assert_allclose(result.translation, translation, rtol=0.05, atol=0.02)


@pytest.mark.slow
def test_search_sees_through_a_person_in_front_of_the_object() -> None:
    template, rotation, translation, mask = _scene("barbell", 1)
    person = np.zeros_like(mask)
    person[:, int(np.median(np.nonzero(mask)[1])) :] = True  # the person hides the object's right half
    result = search_object_pose(mask & ~person, template, K, person_mask=person)
    assert _error_deg(template, result.rotation, rotation) < 15.0
    assert result.iou > 0.8
    assert silhouette_iou(_mask(template, result.rotation, result.translation), mask) > 0.8  # the whole object
    # without the person mask the visible half is taken for the whole object
    alone = search_object_pose(mask & ~person, template, K)
    assert silhouette_iou(_mask(template, alone.rotation, alone.translation), mask) < 0.7


@pytest.mark.slow
def test_the_body_depth_picks_the_scale_a_silhouette_cannot() -> None:
    template, _, translation, mask = _scene("skateboard", 1)
    config = MaskSearchConfig(person_scales=(0.5, 1.0, 2.0), depth_tolerance=0.3, num_rotations=1024)
    body = BodyInit(betas=np.zeros(10), body_pose=np.zeros(63), global_orient=np.zeros(3),
                    pelvis_cam=translation + [0.3, -0.2, 0.1], transl=translation)
    threads = torch.get_num_threads()
    result = search_object_pose(mask, template, K, body_init=body, config=config)
    assert torch.get_num_threads() == threads  # the search's single thread is given back
    assert result.scale == 1.0
    assert abs(result.translation[2] - translation[2]) < 0.1 * translation[2]
    assert result.loss_terms["depth"] == pytest.approx(0.0)


@pytest.mark.slow
def test_a_large_image_is_verified_on_a_downscaled_render() -> None:
    template, rotation, translation, _ = _scene("barbell", 1)
    big_K = np.diag([2.0, 2.0, 1.0]) @ K + np.array([[0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]])  # 512 x 512, same view
    big = Camera(big_K, 2 * SIZE, 2 * SIZE)
    mask = render_scene([SceneMesh(template.transformed(rotation, translation), template.faces)], big,
                        shading=False).instance > 0
    result = search_object_pose(mask, template, big_K, config=MaskSearchConfig(iou_max_side=100))
    assert _error_deg(template, result.rotation, rotation) < 15.0
    full = render_scene([SceneMesh(template.transformed(result.rotation, result.translation), template.faces)], big,
                        shading=False).instance > 0
    assert silhouette_iou(full, mask) > 0.8
    assert abs(silhouette_iou(full, mask) - result.iou) < 0.05


# --- pieces ----------------------------------------------------------------------------------


def test_super_fibonacci_rotations_are_rotations_that_cover_so3() -> None:
    grid = super_fibonacci_rotations(4096)
    np.testing.assert_allclose(grid @ grid.transpose(0, 2, 1), np.broadcast_to(np.eye(3), grid.shape), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(grid), 1.0, atol=1e-9)
    probes = Rotation.random(500, random_state=0).as_matrix()
    nearest = np.degrees(symmetric_angle(probes, grid, np.eye(3)[None]).min(axis=1))
    assert nearest.max() < 20.0  # a random set of this size leaves gaps of ~28 degrees
    np.testing.assert_array_equal(super_fibonacci_rotations(64), super_fibonacci_rotations(64))


def test_symmetric_templates_get_fewer_hypotheses() -> None:
    violin, skateboard = get_category_template("violin"), get_category_template("skateboard")
    assert len(hypothesis_rotations(violin, 4096, 128)) == 4096
    assert len(hypothesis_rotations(skateboard, 4096, 128)) == 4096 // skateboard.num_symmetries
    assert len(hypothesis_rotations(get_category_template("basketball"), 4096, 128)) == 1  # a sphere: every rotation is a symmetry


def test_symmetric_angle_is_the_geodesic_angle_minimised_over_symmetries() -> None:
    template = get_category_template("barbell")
    a, b = Rotation.random(4, random_state=1).as_matrix(), Rotation.random(5, random_state=2).as_matrix()
    plain = symmetric_angle(a, b, np.eye(3)[None])
    np.testing.assert_allclose(plain, geodesic_angle(a[:, None], b[None]), atol=1e-6)
    sym = template.symmetry_rotations
    # a pose composed with a symmetry is the same pose
    np.testing.assert_allclose(symmetric_angle(b, b[:, None][:, 0] @ sym[7], sym).diagonal(), 0.0, atol=1e-6)
    assert np.all(symmetric_angle(a, b, sym) <= plain + 1e-12)


def test_diverse_order_keeps_the_best_of_each_cluster() -> None:
    base = Rotation.random(2, random_state=3).as_matrix()
    near = Rotation.from_rotvec([0.0, 0.05, 0.0]).as_matrix()
    rotations = np.stack([base[0], near @ base[0], base[1], near @ base[1]])
    assert diverse_order(rotations, np.eye(3)[None], np.radians(10.0), 10) == [0, 2]
    assert diverse_order(rotations, np.eye(3)[None], np.radians(1.0), 3) == [0, 1, 2]


def test_downscaled_target_keeps_the_view() -> None:
    template, rotation, translation, mask = _scene("violin", 2)
    small = silhouette_target(template, K, mask, None, max_side=20)
    extent = max(np.ptp(np.nonzero(mask)[0]), np.ptp(np.nonzero(mask)[1])) + 1
    assert small.camera.width == round(SIZE * 20 / extent) and small.object_mask.shape == (small.camera.height,) * 2
    assert render_iou(small, rotation, translation, 1.0) > 0.85  # the true pose still fits the coarse mask
    same = silhouette_target(template, K, mask, None, max_side=SIZE)
    assert same.object_mask is mask and render_iou(same, rotation, translation, 1.0) == 1.0


def test_silhouette_iou_ignores_person_pixels_outside_the_object() -> None:
    obj = np.zeros((4, 4), bool)
    obj[1:3, 1:3] = True
    guess = np.zeros((4, 4), bool)
    guess[1:3, 1:4] = True
    assert silhouette_iou(guess, obj) == pytest.approx(4 / 6)
    person = np.zeros((4, 4), bool)
    person[:, 3] = True
    assert silhouette_iou(guess, obj, person) == pytest.approx(1.0)
    assert silhouette_iou(np.zeros_like(obj), np.zeros_like(obj)) == 0.0


def test_target_distance_is_negative_on_the_mask_and_grows_off_it() -> None:
    mask = np.zeros((128, 128), bool)
    mask[50:70, 40:80] = True  # 40 x 20 px, centre (59.5, 59.5), in an 80 px crop
    target = build_target(mask, None, crop_factor=2.0, resolution=128, num_contour=64, num_interior=64, seed=0)
    np.testing.assert_allclose(target.bbox_center, 0.0, atol=1e-9)
    np.testing.assert_allclose(target.bbox_size, [1.0, 0.5], atol=1e-9)
    sample = torch.tensor([[0.0, 0.0], [0.0, 0.45], [0.0, 0.9]]).reshape(1, 3, 1, 2)
    values = torch.nn.functional.grid_sample(target.sdf, sample, align_corners=False).ravel()
    assert values[0] < -0.2  # 10 px inside: -0.25
    np.testing.assert_allclose(values[1:], [0.2, 0.65], atol=0.02)  # the edge lies at 0.25
    work_to_pixel = np.linalg.inv(target.pixel_to_work)
    for samples in (target.interior, target.contour):
        uv = samples.double().numpy() @ work_to_pixel[:2, :2].T + work_to_pixel[:2, 2]
        assert len(uv) == 64 and mask[np.round(uv[:, 1]).astype(int), np.round(uv[:, 0]).astype(int)].all()


def test_target_allows_person_pixels_and_pixels_off_the_image() -> None:
    mask = np.zeros((64, 64), bool)
    mask[20:44, 0:10] = True  # touches the left border
    person = np.zeros_like(mask)
    person[20:44, 10:20] = True
    target = build_target(mask, person, crop_factor=2.0, resolution=128, num_contour=64, num_interior=64, seed=0)
    pixels = np.array([[15.0, 31.5], [-5.0, 31.5], [15.0, 10.0]])  # on the person, off the image, on neither
    work = pixels @ target.pixel_to_work[:2, :2].T + target.pixel_to_work[:2, 2]
    grid = torch.from_numpy(work).float().reshape(1, 3, 1, 2)
    values = torch.nn.functional.grid_sample(target.sdf, grid, align_corners=False).ravel()
    assert values[0] < 0 and values[1] < 0 and values[2] > 0


def _true_hypotheses(template: ObjectTemplate, rotations: np.ndarray, translation: np.ndarray, mask: np.ndarray):
    target = build_target(mask, None, 2.0, 192, 192, 192, 0)
    K_work = torch.from_numpy(target.pixel_to_work @ K).float()
    points = surface_points(template, 384, 0)
    hyp = initial_hypotheses(points, rotations, (1.0,), target, K_work)
    return target, K_work, points, hyp


def test_loss_is_lowest_at_the_true_pose_and_the_box_start_finds_its_depth() -> None:
    template, rotation, translation, mask = _scene("skateboard", 3)
    wrong = Rotation.from_rotvec([0.0, 0.0, 0.3]).as_matrix() @ rotation  # 17 degrees in the image plane
    target, K_work, points, hyp = _true_hypotheses(template, np.stack([rotation, wrong]), translation, mask)
    _, start = hypothesis_poses(hyp, K_work)
    assert abs(float(start[0, 2]) - translation[2]) < 0.1 * translation[2]
    terms = silhouette_losses(points, hyp, target, K_work, WEIGHTS, None)
    total = sum(terms.values())
    assert total[0] < 0.5 * total[1]


def test_refinement_recovers_a_rotation_perturbed_by_15_degrees() -> None:
    template, rotation, translation, mask = _scene("cello", 3)
    axes = np.random.default_rng(0).normal(size=(4, 3))
    perturbed = Rotation.from_rotvec(np.radians(15.0) * axes / np.linalg.norm(axes, axis=1, keepdims=True))
    target, K_work, points, hyp = _true_hypotheses(template, perturbed.as_matrix() @ rotation, translation, mask)
    before = sum(silhouette_losses(points, hyp, target, K_work, WEIGHTS, None).values())
    refined, terms = refine(points, hyp, target, K_work, WEIGHTS, None, steps=80, lr=0.03)
    assert torch.all(sum(terms.values()) < before)
    errors = [_error_deg(template, r, rotation) for r in refined.rotation.double().numpy()]
    assert sorted(errors)[2] < 10.0  # three of four


def test_polish_never_lowers_the_iou_and_undoes_a_small_shift() -> None:
    template, rotation, translation, mask = _scene("violin", 1)
    target = PosedSilhouette(template, CAMERA, mask, None)
    shifted = translation + np.array([2.0, -1.5, 0.0]) * translation[2] / 300.0
    start = render_iou(target, rotation, shifted, 1.0)
    _, moved, iou = polish_pose(target, rotation, shifted, 1.0, start, sweeps=6, steps=(1.0, 0.5, 0.01))
    assert iou >= start and iou > 0.9 > start
    assert np.linalg.norm(moved - translation) < 0.5 * np.linalg.norm(shifted - translation)
    assert render_iou(target, rotation, moved, 1.0) == pytest.approx(iou)


# --- bad input -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def skateboard() -> ObjectTemplate:
    return get_category_template("skateboard")


def _good_mask() -> np.ndarray:
    mask = np.zeros((32, 32), bool)
    mask[10:20, 8:24] = True
    return mask


@pytest.mark.parametrize(("mask", "message"), [
    (np.zeros((32, 32), bool), "object_mask: the mask is empty"),
    (_good_mask().astype(np.uint8), "object_mask: expected an \\(H, W\\) bool array, got uint8"),
    (_good_mask()[None], "object_mask: expected an \\(H, W\\) bool array"),
    (_good_mask().tolist(), "object_mask: expected an \\(H, W\\) bool array, got list"),
])
def test_bad_object_masks_are_rejected_by_name(skateboard: ObjectTemplate, mask: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        search_object_pose(mask, skateboard, K)


def test_bad_person_masks_intrinsics_and_configs_are_rejected_by_name(skateboard: ObjectTemplate) -> None:
    mask = _good_mask()
    with pytest.raises(ValueError, match="person_mask: expected shape"):
        search_object_pose(mask, skateboard, K, person_mask=np.zeros((16, 16), bool))
    with pytest.raises(ValueError, match="person_mask: expected an \\(H, W\\) bool array"):
        search_object_pose(mask, skateboard, K, person_mask=np.zeros((32, 32)))
    nan_K = K.copy()
    nan_K[0, 0] = np.nan
    for bad in (nan_K, K[:2], np.diag([-300.0, 300.0, 1.0])):
        with pytest.raises(ValueError, match="intrinsics"):
            search_object_pose(mask, skateboard, bad)
    with pytest.raises(ValueError, match="template"):
        search_object_pose(mask, "skateboard", K)  # type: ignore[arg-type]
    body = BodyInit(np.zeros(10), np.zeros(63), np.zeros(3), np.array([0.0, 0.0, -1.0]), np.zeros(3))
    with pytest.raises(ValueError, match="body_init"):
        search_object_pose(mask, skateboard, K, body_init=body)
    with pytest.raises(ValueError, match="MaskSearchConfig.num_keep"):
        MaskSearchConfig(num_keep=0)
    with pytest.raises(ValueError, match="MaskSearchConfig.scales"):
        replace(MaskSearchConfig(), scales=())
