import torch

from hoirecon.body import load_body_model
from hoirecon.fitting.posing import pose_body


def test_matches_full_forward_for_shared_and_per_image_subsets() -> None:
    torch.manual_seed(0)
    model = load_body_model()
    betas, pose = torch.randn(3, 10) * 0.5, torch.randn(3, 63) * 0.3
    full = model(betas=betas, body_pose=pose)
    pelvis = full.joints[:, :1]
    shared = torch.arange(0, model.num_vertices, 97)
    out = pose_body(model, betas, pose, shared)
    torch.testing.assert_close(out.joints, full.joints - pelvis)
    torch.testing.assert_close(out.vertices, full.vertices[:, shared] - pelvis, atol=1e-6, rtol=0)
    per_image = torch.randint(0, model.num_vertices, (3, 40))
    out = pose_body(model, betas, pose, per_image)
    expected = torch.stack([full.vertices[i, per_image[i]] for i in range(3)]) - pelvis
    torch.testing.assert_close(out.vertices, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.rest_pelvis, full.rest_joints[:, 0])


def test_gradients_reach_pose_and_shape() -> None:
    model = load_body_model()
    betas = torch.zeros(2, 10, requires_grad=True)
    pose = torch.full((2, 63), 0.1, requires_grad=True)
    out = pose_body(model, betas, pose, torch.randint(0, model.num_vertices, (2, 8)))
    (out.joints.square().sum() + out.vertices.square().sum()).backward()
    assert betas.grad.abs().sum() > 0 and pose.grad.abs().sum() > 0
