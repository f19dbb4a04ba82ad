from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hoirecon.body.landmarks import COCO_FROM_JOINTS
from hoirecon.data import check_dataset, load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, chunk_plan, generate
from hoirecon.geometry import pixels_to_rays, points_to_rays

from .conftest import body_camera


def test_folder_is_valid_and_split(small_synth: Path) -> None:
    assert check_dataset(small_synth) == []
    ds = load_dataset(small_synth)
    assert ds.categories == ["baseball_bat", "skateboard"]
    assert len(list(ds.samples("skateboard", "train"))) == 6
    assert len(list(ds.samples("skateboard", "test"))) == 3


def test_coco_detections_lie_on_the_true_body(tmp_path: Path, body) -> None:
    # the clean preset's detector: visible limb keypoints within a few noise stds of the true joints
    config = SynthConfig(categories=("baseball_bat",), train=4, test=0, seed=3, image_size=96, observation="clean")
    cols = load_dataset(generate(tmp_path / "c", config)).columns("baseball_bat")
    rot, center = body_camera(body, cols["gt_betas"], cols["gt_global_orient"], cols["gt_transl"])
    for i in range(len(rot)):
        cam = (cols["gt_joints_3d"][i][list(COCO_FROM_JOINTS)] - center[i]) @ rot[i]
        uv = cam @ cols["intrinsics"][i].T
        truth = uv[:, :2] / uv[:, 2:3]
        det, conf = cols["coco_keypoints"][i, 5:, :2], cols["coco_keypoints"][i, 5:, 2]
        err = np.linalg.norm(det - truth, axis=1)[conf > 0.7]   # visible: confidence drawn from (0.75, 1)
        assert len(err) and err.max() < 4.0, err


def test_rays_from_pixels_match_rays_from_points_without_noise(clean_synth: Path) -> None:
    # noiseless evidence: the estimated body is the true one, so its camera and layout are exact
    for s in load_dataset(clean_synth).samples("basketball"):
        pts = np.concatenate([s.gt.joints_3d, s.gt.object_keypoints_3d])
        seen = s.keypoint_conf > 0
        a = points_to_rays(torch.as_tensor(pts), torch.as_tensor(s.cam_center))
        b = pixels_to_rays(torch.as_tensor(s.keypoints_2d), torch.as_tensor(s.focal),
                           torch.as_tensor(s.principal_point), torch.as_tensor(s.cam_rotation))
        assert seen[:22].all() and seen.sum() > 22
        np.testing.assert_allclose(a.numpy()[seen], b.numpy()[seen], atol=1e-5)


def test_ground_truth_body_parameters_reproduce_the_joints(small_synth: Path, body) -> None:
    samples = list(load_dataset(small_synth).samples("skateboard"))
    g = [s.gt for s in samples]
    t = lambda name: torch.as_tensor(np.stack([getattr(x, name) for x in g]), dtype=torch.float32)  # noqa: E731
    with torch.no_grad():
        out = body(betas=t("betas"), body_pose=t("body_pose"), global_orient=t("global_orient"), transl=t("transl"))
    rot, center = body_camera(body, *(t(n).double().numpy() for n in ("betas", "global_orient", "transl")))
    for i, (s, joints_cam) in enumerate(zip(samples, out.joints[:, :22].double().numpy())):
        np.testing.assert_allclose(joints_cam, (s.gt.joints_3d - center[i]) @ rot[i], atol=2e-4)


def test_object_keypoints_follow_the_stored_pose(small_synth: Path, body) -> None:
    from hoirecon.objects import get_category_template

    template = get_category_template("skateboard")
    samples = list(load_dataset(small_synth).samples("skateboard"))
    rot, center = body_camera(body, *(np.stack([getattr(s.gt, n) for s in samples])
                                      for n in ("betas", "global_orient", "transl")))
    for i, s in enumerate(samples):
        posed = s.gt.object_scale * template.keypoints @ s.gt.object_rotation.T + s.gt.object_translation
        np.testing.assert_allclose(posed, s.gt.object_keypoints_3d, atol=1e-4)
        assert np.all(((posed - center[i]) @ rot[i])[:, 2] > 0)


def test_masks_and_images_are_written(small_synth: Path) -> None:
    s = next(load_dataset(small_synth).samples("baseball_bat"))
    rgb = np.asarray(Image.open(s.image_path))
    human = np.asarray(Image.open(s.human_mask_path))
    assert rgb.shape == (96, 96, 3) and human.shape == (96, 96)
    assert human.astype(bool).sum() > 50


def test_estimates_are_noisy_but_close(small_synth: Path) -> None:
    for s in load_dataset(small_synth).samples("baseball_bat"):
        est, gt = s.estimate, s.gt
        assert not np.allclose(est.body_pose, gt.body_pose)
        assert np.abs(est.body_pose - gt.body_pose).std() < 0.3
        depth_ratio = np.linalg.norm(est.transl) / np.linalg.norm(gt.transl)
        assert 0.4 < depth_ratio < 1.8


def test_deterministic_and_resumable(tmp_path: Path, small_synth: Path) -> None:
    config = SynthConfig(categories=("baseball_bat",), train=6, test=3, seed=3, image_size=96, chunk=4)
    first = generate(tmp_path / "a", config)
    part_dir = first / "annotations" / ".parts"
    parts = sorted(part_dir.glob("*.npz"))
    assert len(parts) == len(chunk_plan(config)) == 3
    parts[-1].unlink()
    (first / "annotations" / "baseball_bat.npz").unlink()
    generate(first, config)
    again = load_dataset(first).columns("baseball_bat")
    reference = load_dataset(small_synth).columns("baseball_bat")
    for name in ("keypoints_2d", "gt_object_translation", "est_corr_pixels", "cam_center"):
        np.testing.assert_array_equal(again[name], reference[name])


def test_unknown_category_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hockey"):
        generate(tmp_path, SynthConfig(categories=("hockey",)))


def test_worker_processes_give_the_same_output(tmp_path: Path, small_synth: Path) -> None:
    config = SynthConfig(categories=("baseball_bat",), train=6, test=3, seed=3, image_size=96, chunk=4, workers=2)
    parallel = load_dataset(generate(tmp_path / "p", config)).columns("baseball_bat")
    reference = load_dataset(small_synth).columns("baseball_bat")
    for name in ("keypoints_2d", "gt_object_translation", "est_corr_pixels", "image_id"):
        np.testing.assert_array_equal(parallel[name], reference[name])
