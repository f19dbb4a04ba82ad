"""SMPLify-style keypoint fit: joint posing matches the body model, and a known body's
orientation and depth are recovered from its own projected joints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import load_body_model
from hoirecon.fitting.body_init import BodyInit, init_body_from_estimate
from hoirecon.fitting.smplify import (
    COCO_TO_SMPL,
    JointPoser,
    SmplifyConfig,
    _problem,
    candidate_rotations,
    coco_to_smpl,
    fit_smplify,
    geman_mcclure,
    initial_depth,
)

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def body():
    return load_body_model()


class _Est:
    def __init__(self, betas, body_pose, global_orient, transl):
        self.betas, self.body_pose, self.global_orient, self.transl = betas, body_pose, global_orient, transl


def _known_bodies(body, count: int = 3, seed: int = 0) -> list[BodyInit]:
    """Bodies with zero shape, a mild random pose, seen from varied sides at 3-5 m."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        facing = Rotation.from_matrix(np.diag([1.0, -1.0, -1.0]))
        turn = Rotation.from_euler("yx", [rng.uniform(-150, 150), rng.uniform(-15, 15)], degrees=True)
        orient = (turn * facing).as_rotvec()
        pose = rng.normal(0.0, 0.15, 63)
        pelvis = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), rng.uniform(3.0, 5.0)])
        est = _Est(np.zeros(10), pose, orient, np.zeros(3))
        rest = init_body_from_estimate(est, body).pelvis_cam
        out.append(init_body_from_estimate(_Est(np.zeros(10), pose, orient, pelvis - rest), body))
    return out


def _project_joints(body, bodies: list[BodyInit]) -> np.ndarray:
    as_t = lambda name: torch.tensor(np.stack([getattr(b, name) for b in bodies]), dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        joints = body(betas=as_t("betas"), body_pose=as_t("body_pose"), global_orient=as_t("global_orient"),
                      transl=as_t("transl")).joints[:, :22].double().numpy()
    uv = joints @ K.T
    return uv[..., :2] / uv[..., 2:]


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees((Rotation.from_rotvec(a).inv() * Rotation.from_rotvec(b)).magnitude()))


def test_joint_poser_matches_the_body_model(body) -> None:
    torch.manual_seed(0)
    betas = torch.randn(2, 10, dtype=torch.float64)
    pose = 0.3 * torch.randn(2, 22, 3, dtype=torch.float64)
    poser = JointPoser(body)
    import roma

    ours = poser.pelvis_relative(betas, roma.rotvec_to_rotmat(pose))
    with torch.no_grad():
        out = body(betas=betas.float(), global_orient=pose[:, 0].float(), body_pose=pose[:, 1:].flatten(1).float())
    ref = (out.joints[:, :22] - out.rest_joints[:, :1]).double()
    assert torch.allclose(ours, ref, atol=2e-5)


def test_recovers_orientation_and_depth_from_a_perturbed_start(body) -> None:
    truth = _known_bodies(body)
    kp = _project_joints(body, truth)
    start = []
    for b in truth:
        turned = (Rotation.from_rotvec([0.0, 0.3, 0.25]) * Rotation.from_rotvec(b.global_orient)).as_rotvec()
        start.append(BodyInit(np.zeros(10), np.zeros(63), turned, b.pelvis_cam * 1.25, b.transl))
    assert min(_angle_deg(s.global_orient, b.global_orient) for s, b in zip(start, truth)) > 20
    fit = fit_smplify(kp, np.ones((len(truth), 22)), K, body, init=start)
    for i, b in enumerate(truth):
        assert abs(fit.pelvis_cam[i, 2] / b.pelvis_cam[2] - 1) < 0.10
        assert _angle_deg(fit.global_orient[i], b.global_orient) < 20
        assert fit.reprojection_px[i] < 3.0
    assert (fit.candidate == -1).all()


def test_recovers_orientation_and_depth_from_the_mean_body(body) -> None:
    truth = _known_bodies(body, seed=1)
    kp = _project_joints(body, truth)
    fit = fit_smplify(kp, np.ones((len(truth), 22)), np.broadcast_to(K, (len(truth), 3, 3)), body)
    for i, b in enumerate(truth):
        assert abs(fit.pelvis_cam[i, 2] / b.pelvis_cam[2] - 1) < 0.10
        assert _angle_deg(fit.global_orient[i], b.global_orient) < 20
    np.testing.assert_allclose(fit.transl + fit.pelvis_cam - fit.transl, fit.pelvis_cam)
    one = fit.body(0)
    assert one.body_pose.shape == (63,) and one.betas.shape == (10,)


def test_pelvis_and_transl_agree_with_the_body_model(body) -> None:
    truth = _known_bodies(body, count=1, seed=2)
    fit = fit_smplify(_project_joints(body, truth), np.ones((1, 22)), K, body,
                      SmplifyConfig(search_steps=5, steps=5))
    est = _Est(fit.betas[0], fit.body_pose[0], fit.global_orient[0], fit.transl[0])
    np.testing.assert_allclose(init_body_from_estimate(est, body).pelvis_cam, fit.pelvis_cam[0], atol=1e-9)


def test_images_are_fitted_independently(body) -> None:
    truth = _known_bodies(body, count=2, seed=3)
    kp = _project_joints(body, truth)
    cfg = SmplifyConfig(search_steps=20, steps=30)
    both = fit_smplify(kp, np.ones((2, 22)), K, body, cfg)
    alone = fit_smplify(kp[1:], np.ones((1, 22)), K, body, cfg)
    np.testing.assert_allclose(both.pelvis_cam[1], alone.pelvis_cam[0], atol=1e-6)
    np.testing.assert_allclose(both.global_orient[1], alone.global_orient[0], atol=1e-6)


def test_initial_depth_from_the_torso_length(body) -> None:
    facing = np.diag([1.0, -1.0, -1.0])
    truth = [init_body_from_estimate(_Est(np.zeros(10), np.zeros(63), Rotation.from_matrix(facing).as_rotvec(),
                                          np.array([0.0, 0.0, 4.0])), body)]
    kp = _project_joints(body, truth)
    problem = _problem(kp, np.ones((1, 22)), K[None], 0.05)
    rest = JointPoser(body).rest_joints(torch.zeros(1, 10, dtype=torch.float64))[0]
    depth = initial_depth(problem, rest, 3.0)
    assert abs(float(depth[0]) / truth[0].pelvis_cam[2] - 1) < 0.03
    blind = _problem(kp, np.zeros((1, 22)), K[None], 0.05)
    assert float(initial_depth(blind, rest, 3.0)[0]) == pytest.approx(3.0)


def test_candidates_are_upright_turns_of_the_camera_facing_body() -> None:
    rots = candidate_rotations((0.0, 90.0, 180.0, 270.0)).numpy()
    up = rots @ np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(up, np.tile([0.0, -1.0, 0.0], (4, 1)), atol=1e-12)
    front = rots @ np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(front[0], [0.0, 0.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(front[2], [0.0, 0.0, 1.0], atol=1e-12)


def test_geman_mcclure_is_quadratic_near_zero_and_saturates() -> None:
    r = torch.tensor([1e-6, 1.0, 1e4], dtype=torch.float64)
    out = geman_mcclure(r, 0.1)
    assert out[0] == pytest.approx(1e-6 / 0.01, rel=1e-3)
    assert out[2] == pytest.approx(1.0, abs=1e-5)


def test_coco_to_smpl_moves_limbs_and_zeroes_the_rest() -> None:
    coco = np.zeros((1, 17, 3))
    coco[0, :, 0] = np.arange(17)
    coco[0, :, 2] = 0.9
    kp, conf = coco_to_smpl(coco)
    for src, dst in COCO_TO_SMPL:
        assert kp[0, dst, 0] == src and conf[0, dst] == 0.9
    assert conf[0, [0, 3, 6, 9, 12, 15]].sum() == 0
    with pytest.raises(ValueError, match="coco"):
        coco_to_smpl(np.zeros((17, 3)))


def test_bad_inputs_name_the_argument(body) -> None:
    with pytest.raises(ValueError, match="keypoints"):
        fit_smplify(np.zeros((1, 17, 2)), np.ones((1, 17)), K, body)
    with pytest.raises(ValueError, match="conf"):
        fit_smplify(np.zeros((1, 22, 2)), np.ones((1, 21)), K, body)
    with pytest.raises(ValueError, match="K"):
        fit_smplify(np.zeros((1, 22, 2)), np.ones((1, 22)), np.zeros((3, 3)), body)
    with pytest.raises(ValueError, match="init"):
        fit_smplify(np.zeros((1, 22, 2)), np.ones((1, 22)), K, body, init=[])
