import numpy as np
import pytest
import roma
import torch

from hoirecon.geometry import (
    DEPTH_EPS,
    RigidTransform,
    check_in_front,
    focal_xy,
    intrinsics_matrix,
    project_points,
)

F64 = torch.float64
POLICIES = ("raise", "clamp", "inf")


def test_intrinsics_matrix_shared_and_per_axis_focal() -> None:
    pp = torch.tensor([[320.0, 240.0], [100.0, 50.0]], dtype=F64)
    K = intrinsics_matrix(torch.tensor([500.0, 600.0], dtype=F64), pp)
    expected = torch.tensor([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]], dtype=F64)
    assert K.shape == (2, 3, 3)
    assert torch.equal(K[0], expected)
    per_axis = intrinsics_matrix(torch.tensor([[500.0, 510.0], [600.0, 610.0]], dtype=F64), pp)
    assert per_axis[1, 0, 0] == 600.0 and per_axis[1, 1, 1] == 610.0 and per_axis[1, 1, 2] == 50.0
    assert torch.equal(intrinsics_matrix(500.0, pp[0]), expected)


def test_focal_xy_reads_shared_and_per_axis_focal() -> None:
    assert torch.equal(focal_xy(torch.tensor(2.0), torch.zeros(3, 2)), torch.tensor([2.0, 2.0]))
    shared = torch.tensor([1.0, 2.0, 3.0])
    assert torch.equal(focal_xy(shared, torch.zeros(3, 2)), torch.stack((shared, shared), dim=-1))
    assert torch.equal(focal_xy(torch.tensor([[1.0, 2.0]]), torch.zeros(1, 2)), torch.tensor([[1.0, 2.0]]))
    assert torch.equal(focal_xy(torch.tensor([[3.0]]), torch.zeros(1, 2)), torch.tensor([[3.0, 3.0]]))
    assert torch.equal(focal_xy(4.0, torch.zeros(2)), torch.tensor([4.0, 4.0]))


def test_project_known_points() -> None:
    K = intrinsics_matrix(100.0, torch.tensor([50.0, 40.0], dtype=F64))
    points = torch.tensor([[0.0, 0.0, 2.0], [1.0, 0.0, 2.0], [0.0, -1.0, 4.0], [2.0, 3.0, 1.0]], dtype=F64)
    expected = torch.tensor([[50.0, 40.0], [100.0, 40.0], [50.0, 15.0], [250.0, 340.0]], dtype=F64)
    assert torch.allclose(project_points(points, K), expected, atol=1e-12)


def test_project_points_batched_matches_loop() -> None:
    points = torch.randn(3, 7, 3, dtype=F64) + torch.tensor([0.0, 0.0, 5.0], dtype=F64)
    K = intrinsics_matrix(torch.rand(3, 2, dtype=F64) * 500 + 300, torch.rand(3, 2, dtype=F64) * 100)
    uv = project_points(points, K)
    for b in range(3):
        homog = points[b] @ K[b].T
        assert torch.allclose(uv[b], homog[:, :2] / homog[:, 2:], atol=1e-10)


def test_extrinsics_then_project() -> None:
    extrinsics = RigidTransform(roma.random_rotmat(2, dtype=F64),
                                torch.tensor([[0.0, 0.0, 10.0], [1.0, -1.0, 8.0]], dtype=F64))
    world = torch.randn(2, 5, 3, dtype=F64)
    cam = extrinsics.apply(world)
    expected = torch.einsum("bij,bpj->bpi", extrinsics.rotation, world) + extrinsics.translation[:, None]
    assert torch.allclose(cam, expected, atol=1e-12)
    assert project_points(cam, intrinsics_matrix(1.0, torch.zeros(2, dtype=F64))).shape == (2, 5, 2)


def _mixed_depths() -> tuple[torch.Tensor, torch.Tensor]:
    """Points in front, exactly at eps, at zero and behind the camera, and intrinsics."""
    points = torch.tensor([[0.5, -0.5, 2.0], [0.5, 0.5, DEPTH_EPS], [0.5, 0.5, 0.0],
                           [0.5, 0.5, -2.0], [-1.0, 2.0, 4.0]], dtype=F64)
    return points, intrinsics_matrix(torch.tensor([100.0, 120.0], dtype=F64), torch.tensor([5.0, 7.0], dtype=F64))


@pytest.mark.parametrize("behind", POLICIES)
def test_policies_agree_on_points_in_front(behind) -> None:
    points, K = _mixed_depths()
    front = points[[0, 4]]
    expected = torch.tensor([[30.0, -23.0], [-20.0, 67.0]], dtype=F64)
    assert torch.allclose(project_points(front, K, behind=behind), expected, atol=1e-12)


def test_inf_policy_marks_points_at_or_behind_the_camera() -> None:
    points, K = _mixed_depths()
    uv = project_points(points, K, behind="inf")
    assert torch.isinf(uv[1:4]).all() and (uv[1:4] > 0).all()
    assert torch.isfinite(uv[[0, 4]]).all()
    just_in_front = torch.tensor([[0.0, 0.0, 2 * DEPTH_EPS]], dtype=F64)
    assert torch.isfinite(project_points(just_in_front, K, behind="inf")).all()


def test_inf_policy_gradients_are_finite_and_zero_behind() -> None:
    points, K = _mixed_depths()
    points.requires_grad_()
    uv = project_points(points, K, behind="inf")
    uv[torch.isfinite(uv)].sum().backward()
    assert torch.isfinite(points.grad).all()
    assert (points.grad[1:4] == 0).all() and (points.grad[[0, 4]] != 0).any()


@pytest.mark.parametrize("behind", POLICIES)
def test_numpy_and_torch_agree(behind) -> None:
    points, K = _mixed_depths()
    if behind == "raise":
        points = points[[0, 4]]
    batched = points.expand(3, -1, -1) * torch.tensor([1.0, 2.0, 3.0], dtype=F64)[:, None, None]
    uv_torch = project_points(batched, K, behind=behind)
    uv_numpy = project_points(batched.numpy(), K.numpy(), behind=behind)
    assert isinstance(uv_numpy, np.ndarray) and uv_numpy.dtype == np.float64
    np.testing.assert_array_equal(uv_numpy, uv_torch.numpy())


def test_numpy_inputs_promote_like_numpy() -> None:
    points = np.array([[1.0, 2.0, 4.0]], dtype=np.float32)
    K = np.eye(3)
    K.setflags(write=False)
    uv = project_points(points, K)
    assert uv.dtype == np.float64 and np.allclose(uv, [[0.25, 0.5]])
    assert project_points(points, K.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="points"):
        project_points(-points, K)


def test_behind_camera_raises_by_default_and_names_argument() -> None:
    K = intrinsics_matrix(100.0, torch.zeros(2))
    points = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    with pytest.raises(ValueError, match="points"):
        project_points(points, K)
    with pytest.raises(ValueError, match="joints_cam"):
        check_in_front(points, "joints_cam")
    check_in_front(points[:1], "joints_cam")


def test_behind_camera_clamp_is_finite_with_finite_gradients() -> None:
    K = intrinsics_matrix(100.0, torch.zeros(2, dtype=F64))
    points = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, -2.0], [0.5, 0.5, 2.0]], dtype=F64, requires_grad=True)
    uv = project_points(points, K, behind="clamp")
    uv.sum().backward()
    assert torch.isfinite(uv).all() and torch.isfinite(points.grad).all()
    assert torch.allclose(uv[2], torch.tensor([25.0, 25.0], dtype=F64))


def test_project_points_gradcheck() -> None:
    points = (torch.randn(4, 3, dtype=F64) + torch.tensor([0.0, 0.0, 3.0], dtype=F64)).requires_grad_()
    K = intrinsics_matrix(torch.tensor([200.0, 220.0], dtype=F64), torch.tensor([30.0, 20.0], dtype=F64))
    assert torch.autograd.gradcheck(lambda p: project_points(p, K), (points,))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: project_points(torch.ones(4, 2), torch.eye(3)), "points"),
        (lambda: project_points(torch.ones(4, 3), torch.eye(4)), "K"),
        (lambda: project_points(torch.ones(4, 3), torch.eye(3), behind="ignore"), "behind"),
        (lambda: project_points(torch.ones(2, 4, 3), torch.eye(3).expand(3, 3, 3)), "points"),
        (lambda: project_points(np.ones((4, 2)), np.eye(3)), "points"),
        (lambda: intrinsics_matrix(torch.ones(3), torch.zeros(3)), "principal_point"),
        (lambda: intrinsics_matrix(torch.ones(4), torch.zeros(3, 2)), "focal"),
        (lambda: intrinsics_matrix(torch.ones(3, 3), torch.zeros(3, 2)), "focal"),
        (lambda: check_in_front(torch.ones(3), "verts"), "verts"),
    ],
)
def test_bad_input_names_the_argument(call, name) -> None:
    with pytest.raises(ValueError, match=name):
        call()
