import copy
import functools
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import torch

import hoirecon.fitting.init as init_module
from hoirecon.body import load_body_model
from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.body_parts import body_part_vertices
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.init import init_batch
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.phosa import (
    PhosaConfig,
    PhosaTerms,
    PhosaWeights,
    attach_phosa,
    boxes_overlap,
    centroid_pull,
    interaction_flags,
    mask_box,
    object_points,
    part_points,
    part_pull,
)
from hoirecon.fitting.phosa_depth import (
    ImageMasks,
    ImagePixels,
    empty_pixels,
    find_ordinal_pixels,
    interpolate_depth,
    ordinal_depth_loss,
    reduce_masks,
    stack_pixels,
)
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.fitting.pnp import init_object_pnp
from hoirecon.fitting.posing import pose_body
from hoirecon.fitting.prepare import build_batch
from hoirecon.fitting.state import FitBatch, FitState
from hoirecon.io.fits import load_fits
from hoirecon.objects import get_category_template

CATEGORY = "baseball_bat"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=(CATEGORY,), train=0, test=4, seed=7, image_size=96)
    return generate(tmp_path_factory.mktemp("phosa") / "ds", config)


@pytest.fixture(scope="module")
def setup(tiny: Path) -> tuple:
    samples = list(load_dataset(tiny).samples(CATEGORY, "test"))[:2]
    template, body = get_category_template(CATEGORY), load_body_model()
    ctx = FitContext(CATEGORY, template, body, get_preset("phosa", object_steps=3, joint_steps=2))
    batch = build_batch(ctx, samples, init_batch(samples, template, body))
    return ctx, batch, body_part_vertices(body)


def _terms(setup: tuple, active: list[float], config: PhosaConfig = PhosaConfig()) -> tuple[PhosaTerms, FitState]:
    ctx, batch, parts = setup
    state = FitState(batch, torch.zeros(batch.size, 1, 3))
    points = part_points(ctx.body, ctx.template, parts, config)
    terms = PhosaTerms(ctx.body, ctx.template, points, torch.tensor(active), [None] * batch.size, config, ctx.config)
    return terms, state


def _body_centroid(ctx: FitContext, state: FitState) -> torch.Tensor:
    every = torch.arange(ctx.body.v_template.shape[0])
    return pose_body(ctx.body, state.betas, state.body_pose, every).vertices.mean(1)


def test_boxes_from_masks_decide_the_interaction() -> None:
    human, near, far = (np.zeros((40, 60), bool) for _ in range(3))
    human[5:35, 5:20] = True
    near[10:20, 22:30] = True  # a 2-pixel gap: overlaps once the boxes grow
    far[10:20, 50:58] = True
    np.testing.assert_allclose(mask_box(human), [4.5, 4.5, 19.5, 34.5])
    assert mask_box(np.zeros((4, 4), bool)) is None
    boxes = [(mask_box(human), mask_box(near)), (mask_box(human), mask_box(far)), (mask_box(human), None)]
    np.testing.assert_array_equal(interaction_flags(boxes, 0.0), [False, False, False])
    np.testing.assert_array_equal(interaction_flags(boxes, 0.3), [True, False, False])
    assert boxes_overlap(np.array([0.0, 0, 1, 1]), np.array([1.0, 1, 2, 2]))


def test_coarse_term_is_zero_without_overlap_and_pulls_the_centroids_together(setup: tuple) -> None:
    weights = PhosaWeights(coarse_interaction=1.0, fine_interaction=0.0, ordinal_depth=0.0)
    terms, state = _terms(setup, [0.0, 1.0], PhosaConfig(weights=weights))
    coarse = terms(state)["coarse_interaction"]
    assert coarse[0] == 0 and coarse[1] > 0
    coarse.sum().backward()
    assert state.obj_translation.grad[0].abs().sum() == 0
    assert state.obj_translation.grad[1].abs().sum() > 0
    with torch.no_grad():
        target = _body_centroid(setup[0], state)
        centroid = lambda: object_points(state, terms.template_centroid)[:, 0]  # noqa: E731
        start, values = centroid(), []
        for fraction in (0.0, 0.5, 0.9):
            state.obj_translation += start + fraction * (target - start) - centroid()
            values.append(float(terms(state)["coarse_interaction"][1]))
    assert values[0] > values[1] > values[2] > 0
    assert values[2] == pytest.approx(values[0] * 0.01, rel=0.2)  # squared distance, 2.5 mm centroid sampling error


def test_part_pull_by_hand() -> None:
    body = torch.tensor([[[0.0, 0, 0], [1, 0, 0]]])
    obj = torch.tensor([[[0.0, 0, 0.3], [1, 0.4, 0]]])
    expected = (0.3**2 / 3 + 0.4**2 / 3) / 2
    assert float(part_pull(body, obj, torch.ones(1))) == pytest.approx(expected)
    assert float(part_pull(body, obj, torch.zeros(1))) == 0
    assert float(centroid_pull(body[:, 0], obj[:, 1], torch.ones(1))) == pytest.approx((1 + 0.16) / 3)


def test_fine_term_equals_the_part_centroid_distance(setup: tuple) -> None:
    ctx, _, parts = setup
    weights = PhosaWeights(coarse_interaction=0.0, fine_interaction=2.0, ordinal_depth=0.0)
    terms, state = _terms(setup, [1.0, 1.0], PhosaConfig(weights=weights, part_points=100_000))
    got = terms(state)["fine_interaction"]
    expected = []
    with torch.no_grad():
        for body_part, object_part in ctx.template.interaction_pairs:
            ids = torch.as_tensor(parts[body_part])
            body = pose_body(ctx.body, state.betas, state.body_pose, ids).vertices.mean(1)
            centre = torch.tensor(ctx.template.vertices[ctx.template.parts[object_part]], dtype=torch.float32).mean(0)
            obj = object_points(state, centre[None])[:, 0]
            expected.append((body - obj).square().mean(-1))
    torch.testing.assert_close(got, 2.0 * torch.stack(expected).mean(0))


def _plane(z: float, half: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A square (4 vertices, 2 triangles) facing the camera at depth z."""
    verts = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    return verts, np.array([[0, 1, 2], [0, 2, 3]])


def _plane_masks(human_in_front: bool) -> ImageMasks:
    k = np.array([[32.0, 0, 15.5], [0, 32.0, 15.5], [0, 0, 1]])
    inside = np.zeros((32, 32), bool)
    inside[10:22, 10:22] = True
    empty = np.zeros_like(inside)
    return ImageMasks(inside, empty, k) if human_in_front else ImageMasks(empty, inside, k)


def test_ordinal_depth_penalises_the_wrong_order_and_pushes_the_depths_apart() -> None:
    (body, body_faces), (obj, obj_faces) = _plane(2.0), _plane(1.5)  # the object is rendered in front
    pixels = stack_pixels([find_ordinal_pixels(_plane_masks(True), body, body_faces, obj, obj_faces, 50)])
    assert pixels.valid.sum() == 50 and pixels.body_front.all()
    body_z = torch.tensor(body[:, 2], dtype=torch.float32)[None].requires_grad_()
    obj_z = torch.tensor(obj[:, 2], dtype=torch.float32)[None].requires_grad_()
    depth_body = interpolate_depth(body_z[:, pixels.body_ids[0]], pixels.body_corners, pixels.body_bary)
    depth_obj = interpolate_depth(obj_z, pixels.object_triangles, pixels.object_bary)
    loss = ordinal_depth_loss(depth_body, depth_obj, pixels.body_front, pixels.valid)
    assert float(loss.detach()) == pytest.approx(np.log1p(np.exp(0.5)), rel=1e-5)
    loss.sum().backward()
    assert body_z.grad.sum() > 0 > obj_z.grad.sum()  # descent moves the body nearer, the object away
    with torch.no_grad():
        moved = ordinal_depth_loss(depth_body - 0.1, depth_obj + 0.1, pixels.body_front, pixels.valid)
    assert float(moved) < float(loss.detach())


def test_ordinal_depth_is_zero_when_render_and_masks_agree() -> None:
    (body, body_faces), (obj, obj_faces) = _plane(2.0), _plane(1.5)
    agree = find_ordinal_pixels(_plane_masks(False), body, body_faces, obj, obj_faces, 50)
    assert len(agree.body_front) == 0
    pixels = stack_pixels([agree, agree])
    empty = torch.zeros(2, 0)
    assert ordinal_depth_loss(empty, empty, pixels.body_front, pixels.valid).tolist() == [0.0, 0.0]


def test_reduced_masks_keep_pixel_centres() -> None:
    k = np.array([[100.0, 0, 63.5], [0, 100.0, 31.5], [0, 0, 1]])
    human = np.zeros((64, 128), bool)
    human[16:32, 32:64] = True
    small = reduce_masks(human, ~human, k, 32)
    assert small.human.shape == (16, 32) and small.human.sum() == 4 * 8
    point = np.array([0.1, -0.05, 2.0])
    big_uv, small_uv = (k @ point)[:2] / point[2], (small.intrinsics @ point)[:2] / point[2]
    np.testing.assert_allclose(small_uv, (big_uv + 0.5) / 4 - 0.5)


def test_depth_term_waits_for_the_joint_phase(setup: tuple) -> None:
    ctx, batch, parts = setup
    terms, state = _terms(setup, [1.0, 1.0])
    terms.masks = [_plane_masks(True), None]
    for step in range(ctx.config.object_steps):
        assert terms(state)["ordinal_depth"].abs().sum() == 0 and terms.pixels is None
    terms(state)
    assert terms.pixels is not None and terms.pixels.valid.shape[0] == batch.size


def test_attach_only_for_the_phosa_preset(setup: tuple) -> None:
    ctx = setup[0]
    assert attach_phosa(replace(ctx, config=get_preset("none"))).extra_terms is None
    assert attach_phosa(ctx).extra_terms is not None


def test_fit_dataset_with_the_phosa_preset_records_its_terms(tiny: Path, tmp_path: Path) -> None:
    fit_dataset(tiny, CATEGORY, "test", get_preset("phosa", object_steps=10, joint_steps=10), tmp_path)
    fits = load_fits(tmp_path, CATEGORY)
    assert {"coarse_interaction", "fine_interaction", "ordinal_depth"} <= set(fits.loss_terms())
    assert len(fits.image_ids) == 4
    for name in ("coarse_interaction", "fine_interaction", "ordinal_depth"):
        values = fits.columns[f"loss_{name}"]
        assert np.isfinite(values).all() and (values >= 0).all()


# The terms of the 4 tiny images at the initial state, the object pushed 5 cm deeper before each
# step (object_steps=1: the ordinal term casts at step 1), as computed before the terms could
# follow the state's device; the CPU path must keep them. The object initialisation is pinned to
# the PnP of that time (RANSAC always, scored at the threshold) so the values test the terms only.
GOLDEN = {
    "coarse_interaction": [[5.70129e-05, 0.0, 4.143085e-04, 9.29284e-05], [5.38029e-05, 0.0, 4.229482e-04, 9.50351e-05],
                           [5.0843e-05, 0.0, 4.318379e-04, 9.73919e-05], [4.8133e-05, 0.0, 4.409776e-04, 9.99986e-05]],
    "fine_interaction": [[1.403754e-04, 0.0, 1.420626e-03, 5.706307e-04], [1.274786e-04, 0.0, 1.4503236e-03, 5.784752e-04],
                         [1.154151e-04, 0.0, 1.480855e-03, 5.871532e-04], [1.04185e-04, 0.0, 1.5122193e-03, 5.966645e-04]],
    "ordinal_depth": [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 3.190393e-04, 0.0], [0.0, 0.0, 3.190393e-04, 0.0],
                      [0.0, 0.0, 3.190392e-04, 0.0]],
}


def test_phosa_terms_keep_their_values_on_the_cpu(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(init_module, "init_object_pnp",
                        functools.partial(init_object_pnp, consensus=1.0, all_points_first=False))
    samples = list(load_dataset(tiny).samples(CATEGORY, "test"))
    template, body = get_category_template(CATEGORY), load_body_model()
    ctx = attach_phosa(FitContext(CATEGORY, template, body, get_preset("phosa", object_steps=1, joint_steps=2)))
    init = init_batch(samples, template, body)
    batch = build_batch(ctx, samples, init)
    state = FitState(batch, torch.zeros(batch.size, 1, 3))
    terms = ctx.extra_terms(ctx, samples, init, batch)
    got: dict[str, list] = {name: [] for name in GOLDEN}
    for _ in range(4):
        with torch.no_grad():
            state.obj_translation += torch.tensor([0.0, 0.0, 0.05])
        for name, value in terms(state).items():
            got[name].append(value.detach().tolist())
    assert terms.pixels is not None and terms.pixels.valid.sum() > 0
    for name, expected in GOLDEN.items():
        np.testing.assert_allclose(got[name], expected, rtol=1e-4, atol=1e-10, err_msg=name)


def _meta_terms(setup: tuple) -> tuple[PhosaTerms, FitState]:
    """Terms and state of the tiny batch on the meta device (shapes only: a CPU tensor met in a
    step raises there, as it would on a GPU)."""
    ctx, batch, parts = setup
    meta = torch.device("meta")
    moved = FitBatch(**{f.name: getattr(batch, f.name).to(meta) for f in fields(batch)})
    state = FitState(moved, torch.zeros(batch.size, 1, 3, device=meta))
    config = PhosaConfig()
    terms = PhosaTerms(copy.deepcopy(ctx.body).to(meta), ctx.template, part_points(ctx.body, ctx.template, parts, config),
                       torch.ones(batch.size), [None] * batch.size, config, ctx.config, meta)
    return terms, state


def test_phosa_steps_stay_on_the_state_device(setup: tuple) -> None:
    terms, state = _meta_terms(setup)
    hit = ImagePixels(np.array([True, False]), np.array([[0, 1, 2], [2, 3, 4]]), np.full((2, 3), 1 / 3),
                      np.array([[0, 1, 2], [1, 2, 3]]), np.full((2, 3), 1 / 3))
    casts = []

    def cast(_state: FitState):  # the ray casting needs real numbers: its result is stood in for
        casts.append(1)
        return stack_pixels([hit, empty_pixels()], device=torch.device("meta"))

    terms.cast = cast
    steps = terms.object_steps + 2
    for _ in range(steps):
        out = terms(state)
        assert set(out) == {"coarse_interaction", "fine_interaction", "ordinal_depth"}
        assert all(v.device.type == "meta" and v.shape == (state.betas.shape[0],) for v in out.values())
    assert len(casts) == 1 and terms.pixels.body_ids.device.type == "meta"


def test_phosa_terms_refuse_a_body_model_on_another_device(setup: tuple) -> None:
    ctx, batch, parts = setup
    points = part_points(ctx.body, ctx.template, parts, PhosaConfig())
    with pytest.raises(ValueError, match="body model is on meta"):
        PhosaTerms(copy.deepcopy(ctx.body).to("meta"), ctx.template, points, torch.ones(batch.size),
                   [None] * batch.size, PhosaConfig(), ctx.config)
