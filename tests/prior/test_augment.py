"""Flip and symmetry augmentations agree with mirrored 3D geometry; layouts validate."""

from __future__ import annotations

import pytest
import torch

from hoirecon.prior.augment import augment_group, flip_observations, flip_x25d
from hoirecon.prior.layout import SMPL_FLIP, KeypointLayout
from hoirecon.prior.synthetic import SMPL_REST_JOINTS, synthetic_interactions

MIRROR = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))


def test_rest_skeleton_is_mirror_symmetric_under_the_flip_permutation() -> None:
    mirrored = SMPL_REST_JOINTS[list(SMPL_FLIP)] @ MIRROR
    torch.testing.assert_close(mirrored, SMPL_REST_JOINTS)


def test_flip_matches_the_mirrored_scene() -> None:
    data = synthetic_interactions(5, object_keypoints=3)
    layout = KeypointLayout.for_object(3, object_flip=(2, 1, 0))
    perm = layout.flip_permutation()
    # Mirror the world through the human frame's x = 0 plane; a mirrored camera has
    # rotation M R M (it stays right-handed), and the flipped image has u -> -u.
    x3d = data.x3d[:, perm] @ MIRROR
    center = data.cam_center @ MIRROR
    rotation = MIRROR @ data.cam_rotation @ MIRROR
    rays = torch.nn.functional.normalize(x3d - center[:, None], dim=-1)
    torch.testing.assert_close(flip_x25d(data.x25d, perm), torch.cat([rays, center[:, None]], 1),
                               atol=1e-5, rtol=0)
    camera = torch.einsum("nji,nkj->nki", rotation, x3d - center[:, None])
    torch.testing.assert_close(flip_observations(data.observations, perm)[..., :2],
                               camera[..., :2] / camera[..., 2:], atol=1e-5, rtol=0)
    torch.testing.assert_close(flip_x25d(flip_x25d(data.x25d, perm), perm), data.x25d)


def test_augment_group_transforms_an_image_and_its_targets_together() -> None:
    data = synthetic_interactions(8, object_keypoints=4)
    layout = KeypointLayout.for_object(4, object_symmetries=[(3, 2, 1, 0)])
    flip, symmetries = layout.flip_permutation(), layout.symmetry_permutations()
    targets = torch.stack([data.x25d, data.x25d.roll(1, 0)], dim=1)
    g = torch.Generator().manual_seed(0)
    obs, own, out = augment_group(data.observations, data.x25d, targets, flip, symmetries, 1.0, g)
    torch.testing.assert_close(out[:, 0], own)
    used = []
    for i in range(8):  # every image is flipped, after one of the two object labellings
        options = [s for s in symmetries
                   if torch.equal(own[i], flip_x25d(data.x25d[i, torch.cat([s, torch.tensor([26])])], flip))]
        assert len(options) == 1
        s = options[0]
        torch.testing.assert_close(obs[i], flip_observations(data.observations[i, s], flip))
        torch.testing.assert_close(out[i, 1], flip_x25d(targets[i, 1, torch.cat([s, torch.tensor([26])])], flip))
        used.append(int(s[22] == 25))
    assert 0 < sum(used) < 8  # both labellings occur
    untouched = augment_group(data.observations, data.x25d, targets, flip, symmetries[:1], 0.0, g)
    torch.testing.assert_close(untouched[2], targets)


def test_layout_validation_and_round_trip() -> None:
    layout = KeypointLayout(("a", "b"), object_flip=(1, 0), object_symmetries=[(1, 0)])
    assert KeypointLayout.from_dict(layout.to_dict()) == layout
    assert layout.n_keypoints == 24 and layout.names[-1] == "b"
    with pytest.raises(ValueError, match="object_flip"):
        KeypointLayout(("a", "b"), object_flip=(0, 0))
