import torch

from hoirecon.fitting.losses import gmof, prior_nll, reprojection, symmetric_keypoint_reprojection, weighted_chamfer


def test_gmof_saturates() -> None:
    sq = torch.tensor([0.0, 1e-6, 1e6])
    out = gmof(sq, sigma=0.1)
    assert out[0] == 0 and abs(out[1] - 1e-6) < 1e-8 and abs(out[2] - 0.01) < 1e-6


def _eq14_case() -> tuple[torch.Tensor, ...]:
    a = torch.tensor([[[0.0, 0, 0], [5.0, 5, 5]]], dtype=torch.float64)
    b = torch.tensor([[[1.0, 0, 0], [0.0, 2, 0]]], dtype=torch.float64)
    return a, torch.tensor([[1.0, 0.5]], dtype=torch.float64), b, torch.tensor([[0.5, 1.0]], dtype=torch.float64)


def test_weighted_chamfer_is_eq14_by_hand() -> None:
    a, wa, b, wb = _eq14_case()
    # w_ij = wa_i wb_j inside the min: a1 takes b0 (0.25 * sqrt(66) < 0.5 * sqrt(59)) although
    # b1 is nearer; each direction is divided by the number of points (2), not the weight sum.
    a_side = (min(0.5 * 1, 1.0 * 2) + min(0.25 * 66 ** 0.5, 0.5 * 59 ** 0.5)) / 2
    b_side = (min(0.5 * 1, 0.25 * 66 ** 0.5) + min(1.0 * 2, 0.5 * 59 ** 0.5)) / 2
    assert torch.allclose(weighted_chamfer(a, wa, b, wb), torch.tensor([a_side + b_side], dtype=torch.float64))
    assert abs(a_side + b_side - 2.5155) < 1e-3


def test_weighted_chamfer_ignores_padding_and_scales_with_the_weights() -> None:
    a, wa, b, wb = _eq14_case()
    value = weighted_chamfer(a, wa, b, wb)
    pad_a = torch.cat([a, torch.zeros(1, 1, 3, dtype=a.dtype)], dim=1)
    pad_b = torch.cat([b, torch.full((1, 1, 3), 9.0, dtype=b.dtype)], dim=1)
    zero = torch.zeros(1, 1, dtype=a.dtype)
    padded = weighted_chamfer(pad_a, torch.cat([wa, zero], 1), pad_b, torch.cat([wb, zero], 1))
    assert torch.allclose(padded, value)
    # normalised by |C|, not by the weights: doubling every weight of one side doubles the loss
    assert torch.allclose(weighted_chamfer(a, 2 * wa, b, wb), 2 * value)
    assert weighted_chamfer(a, torch.zeros(1, 2, dtype=a.dtype), b, wb).item() == 0.0
    assert weighted_chamfer(a[:, :0], wa[:, :0], b, wb).item() == 0.0


def test_weighted_chamfer_gradients_reach_both_sets() -> None:
    a, wa, b, wb = _eq14_case()
    a, b = a.clone().requires_grad_(), b.clone().requires_grad_()
    weighted_chamfer(a, wa, b, wb).sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda x, y: weighted_chamfer(x, wa, y, wb), (a.detach().requires_grad_(),
                                                                                   b.detach().requires_grad_()))


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
