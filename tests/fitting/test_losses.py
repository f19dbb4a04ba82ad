import torch

from hoirecon.fitting.losses import gmof, prior_nll, reprojection, symmetric_keypoint_reprojection, weighted_chamfer


def test_gmof_saturates() -> None:
    sq = torch.tensor([0.0, 1e-6, 1e6])
    out = gmof(sq, sigma=0.1)
    assert out[0] == 0 and abs(out[1] - 1e-6) < 1e-8 and abs(out[2] - 0.01) < 1e-6


def test_weighted_chamfer_hand_value_and_padding() -> None:
    a = torch.tensor([[[0.0, 0, 0], [5.0, 5, 5]]])
    b = torch.tensor([[[1.0, 0, 0], [0.0, 2, 0]]])
    wa, wb = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    # a -> b: 1 ; b -> a: (1 + 2) / 2 ; the padded a point is ignored
    assert torch.allclose(weighted_chamfer(a, wa, b, wb), torch.tensor([2.5]))
    assert weighted_chamfer(a, torch.zeros(1, 2), b, wb).item() == 0.0


def _camera_points() -> tuple[torch.Tensor, torch.Tensor]:
    K = torch.tensor([[[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]]])
    pts = torch.tensor([[[0.1, 0.0, 2.0], [-0.1, 0.05, 2.5]]])
    return K, pts


def test_reprojection_zero_at_truth_and_positive_elsewhere() -> None:
    K, pts = _camera_points()
    uv = (pts @ K[0].T)[..., :2] / pts[..., 2:]
    w, size = torch.ones(1, 2), torch.tensor([100.0])
    assert reprojection(pts, uv, w, K, size).item() < 1e-12
    assert reprojection(pts, uv + 3.0, w, K, size).item() > 0


def test_symmetric_keypoints_take_the_best_permutation() -> None:
    K, pts = _camera_points()
    uv = (pts @ K[0].T)[..., :2] / pts[..., 2:]
    swapped = uv[:, [1, 0]]
    perms = torch.tensor([[0, 1], [1, 0]])
    w, size = torch.ones(1, 2), torch.tensor([100.0])
    assert symmetric_keypoint_reprojection(pts, swapped, w, K, size, perms).item() < 1e-12
    assert symmetric_keypoint_reprojection(pts, swapped, w, K, size, perms[:1]).item() > 0


def test_prior_nll_builds_unit_rays_and_reaches_the_cameras() -> None:
    points = torch.randn(2, 5, 3)
    cams = torch.randn(2, 4, 3).mul(3).requires_grad_()
    seen = {}

    def log_prob(x25d: torch.Tensor) -> torch.Tensor:
        seen["x"] = x25d
        return -x25d.square().sum(dim=(-1, -2))

    nll = prior_nll(points, cams, log_prob)
    assert nll.shape == (2,)
    rays = seen["x"][:, :, :5]
    assert torch.allclose(rays.norm(dim=-1), torch.ones(2, 4, 5))
    assert torch.equal(seen["x"][:, :, 5], cams)
    nll.sum().backward()
    assert torch.isfinite(cams.grad).all() and cams.grad.abs().sum() > 0
