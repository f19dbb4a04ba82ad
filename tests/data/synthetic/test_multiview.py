"""Multi-view clip data: instances filmed by several cameras, each a short clip, with video/frame
evidence and true instance ids; stills keep their old output."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hoirecon.data import check_dataset, load_dataset
from hoirecon.data.synthetic.families import Draw
from hoirecon.data.synthetic.generator import SynthConfig, chunk_plan, generate
from hoirecon.data.synthetic.multiview import ChunkLayout, widen

CLIPS = SynthConfig(categories=("tennis_racket",), train=12, test=6, seed=2, image_size=64, chunk=5,
                    views_per_instance=3, frames_per_clip=2, appearance_cue=1.0, observation="clean")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("clips") / "ds", CLIPS)


def test_clip_dataset_is_valid_and_split_by_instance(clips: Path) -> None:
    assert check_dataset(clips) == []
    samples = list(load_dataset(clips).samples("tennis_racket"))
    per_instance = Counter(s.gt.instance_id for s in samples)
    assert len(per_instance) == 3 and set(per_instance.values()) == {6}
    splits = {(s.gt.instance_id, s.split) for s in samples}
    assert len(splits) == 3  # no instance straddles train and test


def test_each_camera_is_one_video_of_consecutive_frames(clips: Path) -> None:
    samples = list(load_dataset(clips).samples("tennis_racket"))
    videos: dict[str, list] = {}
    for s in samples:
        videos.setdefault(s.video_id, []).append(s)
    assert len(videos) == 9  # 3 instances x 3 cameras
    for frames in videos.values():
        assert len({s.gt.instance_id for s in frames}) == 1
        assert sorted(s.frame_index for s in frames) == list(range(frames[0].frame_index, frames[0].frame_index + 2))
        np.testing.assert_allclose(frames[0].gt.cam_center, frames[1].gt.cam_center)  # a static camera


def test_views_of_one_frame_show_the_same_3d_interaction(clips: Path) -> None:
    samples = list(load_dataset(clips).samples("tennis_racket", "train"))[:6]   # one instance: 3 views x 2 frames
    first = [s for s in samples if s.frame_index == min(t.frame_index for t in samples if t.video_id == s.video_id)]
    assert len(first) == 3
    for other in first[1:]:
        np.testing.assert_allclose(other.gt.joints_3d, first[0].gt.joints_3d, atol=1e-6)
        np.testing.assert_allclose(other.gt.object_keypoints_3d, first[0].gt.object_keypoints_3d, atol=1e-6)
        assert np.linalg.norm(other.gt.cam_center - first[0].gt.cam_center) > 0.1   # another camera


def test_the_clip_moves_and_the_object_follows_the_hand(clips: Path) -> None:
    samples = list(load_dataset(clips).samples("tennis_racket", "train"))[:2]   # two frames of one video
    moved = np.linalg.norm(samples[0].gt.joints_3d - samples[1].gt.joints_3d, axis=1)
    assert 1e-4 < moved.max() < 0.2
    wrist = [s.gt.joints_3d[21] for s in samples]
    handle = [s.gt.object_keypoints_3d.mean(axis=0) for s in samples]
    grip = [np.linalg.norm(h - w) for h, w in zip(handle, wrist)]
    assert abs(grip[0] - grip[1]) < 0.05


def test_chunks_hold_whole_instances() -> None:
    plan = chunk_plan(CLIPS)
    assert [c[1] for c in plan] == [6, 6, 6] and [c[0] for c in plan] == [0, 6, 12]
    layout = ChunkLayout.of(12, 3, 2)
    assert layout.instance.tolist() == [0] * 6 + [1] * 6
    assert layout.camera.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert layout.frame.tolist() == [0, 1] * 6


@pytest.mark.parametrize("change, message", [
    ({"train": 10}, "train: 10 images do not split into instances of 6"),
    ({"views_per_instance": 0}, "views_per_instance: expected an integer >= 1"),
    ({"appearance_cue": 1.5}, "appearance_cue: expected a value in"),
    ({"clip_motion": -1.0}, "clip_motion: expected a value >= 0"),
])
def test_impossible_multiview_settings_are_refused(change: dict, message: str, tmp_path: Path) -> None:
    settings = {"train": 12, "test": 6, "views_per_instance": 3, "frames_per_clip": 2, **change}
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "x", SynthConfig(**settings))


def test_stills_keep_their_fingerprint_and_clips_get_their_own() -> None:
    stills = SynthConfig()
    assert SynthConfig(clip_motion=0.5).fingerprint() == stills.fingerprint()  # no clips: the field changes nothing
    assert SynthConfig(views_per_instance=2).fingerprint() != stills.fingerprint()
    assert SynthConfig(appearance_cue=0.5).fingerprint() != stills.fingerprint()


def test_stills_have_no_video_or_instance_columns(small_synth: Path) -> None:
    cols = load_dataset(small_synth).columns("skateboard")
    assert not {"video_id", "frame_index", "gt_instance_id"} & set(cols)
    assert next(load_dataset(small_synth).samples("skateboard")).video_id is None


def test_pose_spread_widens_the_family_and_nothing_else() -> None:
    draw = Draw(np.zeros((400, 63)), np.zeros(400, int), {})
    assert widen(draw, np.random.default_rng(0), 0.0) is draw
    wide = widen(draw, np.random.default_rng(0), 0.2)
    assert abs(wide.body_pose.std() - 0.2) < 0.01 and wide.mode is draw.mode
