"""Grouping and training on multi-view clip data: adjacent-frame rejection changes the groups,
the true groups are other views of the same instance, and the scores are printed."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hoirecon.cli.app import app
from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.eval.grouping import score_category, score_samples
from hoirecon.prior import EncoderConfig, FlowConfig, GroupingConfig, TrainConfig, load_prior
from hoirecon.prior.ablations import ground_truth_groups
from hoirecon.prior.category import group_category, train_category
from hoirecon.prior.grouping import Grouping
from hoirecon.prior.training_data import observed_x25d, sample_videos

CATEGORY = "basketball"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=(CATEGORY,), train=24, test=6, seed=3, image_size=64, views_per_instance=2,
                         frames_per_clip=3, clip_motion=0.01, appearance_cue=1.0, observation="clean")
    return generate(tmp_path_factory.mktemp("clips") / "ds", config)


def _adjacent_links(grouping, video: torch.Tensor, frame: torch.Tensor, gap: int) -> int:
    idx = grouping.neighbours.clamp_min(0)
    close = (video[idx] == video[:, None]) & ((frame[idx] - frame[:, None]).abs() <= gap)
    return int((close & grouping.valid).sum())


def test_adjacent_frame_rejection_changes_the_groups(clips: Path) -> None:
    config = GroupingConfig(k=4, max_distance=None, min_frame_gap=1)
    kept, _ = group_category(clips, CATEGORY, config, reject_adjacent=False)
    rejected, _ = group_category(clips, CATEGORY, config, reject_adjacent=True)
    video, frame = sample_videos(list(load_dataset(clips).samples(CATEGORY, "train")))
    assert _adjacent_links(kept, video, frame, 1) > 0      # near-duplicates are the nearest images of a clip
    assert _adjacent_links(rejected, video, frame, 1) == 0
    assert rejected.stats["adjacent_frame_rejection"] and not kept.stats["adjacent_frame_rejection"]
    before, after = score_category(clips, CATEGORY, kept), score_category(clips, CATEGORY, rejected)
    assert after.other_view_share > before.other_view_share


def test_true_groups_are_the_other_images_of_each_instance(clips: Path) -> None:
    samples = list(load_dataset(clips).samples(CATEGORY, "train"))
    groups = ground_truth_groups(samples, k=2, x25d=observed_x25d(samples))
    assert groups.neighbours.shape == (24, 5) and bool(groups.valid.all())
    ids = np.array([s.gt.instance_id for s in samples])
    for i, row in enumerate(groups.neighbours.tolist()):
        assert sorted(row) == [j for j in range(24) if ids[j] == ids[i] and j != i]
    assert torch.isfinite(groups.distances).all() and bool((groups.weights == 1).all())
    score = score_category(clips, CATEGORY, groups)
    assert score.recall_at_k == 1.0 and score.precision == 1.0
    assert score_samples(samples, groups) == score
    assert score.other_view_share == pytest.approx(3 / 5)  # of 5 others, 2 frames are from the image's own video


def test_group_prints_recall_and_precision_against_the_true_groups(clips: Path) -> None:
    result = CliRunner().invoke(app, ["group", "--data", str(clips), "--category", CATEGORY, "--k", "3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "against the true groups: recall@3" in text and "adjacent-frame rejection on" in text
    result = CliRunner().invoke(app, ["group", "--data", str(clips), "--category", CATEGORY, "--k", "3",
                                      "--keep-adjacent", "--chunk-size", "8"])
    assert result.exit_code == 0, result.output
    assert "adjacent-frame rejection off" in " ".join(result.output.split())


def test_chunked_grouping_rejects_adjacent_frames_alike(clips: Path) -> None:
    config = GroupingConfig(k=4, max_distance=None, method="exact")
    memory, _ = group_category(clips, CATEGORY, config)
    chunked, _ = group_category(clips, CATEGORY, config, chunk_size=8)
    assert torch.equal(memory.neighbours, chunked.neighbours)


def test_knn_training_rejects_adjacent_frames(clips: Path, tmp_path: Path) -> None:
    grouping = GroupingConfig(k=4, max_distance=None, min_frame_gap=2)
    config = TrainConfig(supervision="2d-knn", epochs=1, batch_size=8, encoder=EncoderConfig(name="none"),
                         val_fraction=0.2, flow=replace(FlowConfig(), depth=2, width=16), grouping=grouping)
    train_category(clips, CATEGORY, tmp_path / "p.pt", config)
    used = Grouping.load(tmp_path / "p.pt.work" / "grouping.npz")
    video, frame = sample_videos(list(load_dataset(clips).samples(CATEGORY, "train")))
    assert bool(used.valid.any()) and _adjacent_links(used, video, frame, 2) == 0


@pytest.mark.slow
def test_image_prior_trains_on_clip_data_with_true_groups(clips: Path, tmp_path: Path) -> None:
    encoder = EncoderConfig(name="efficientnet-lite0", width=16, features=8)
    config = TrainConfig(supervision="2d-gt-groups", epochs=1, batch_size=8, encoder=encoder, val_fraction=0.2,
                         flow=replace(FlowConfig(), depth=2, width=16))
    summary = train_category(clips, CATEGORY, tmp_path / "p.pt", config)
    assert summary.best_of_16_m is not None and np.isfinite(summary.best_of_16_m)
    assert load_prior(summary.prior_path).backbone == "efficientnet-lite0"
