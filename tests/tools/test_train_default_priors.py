"""tools/train_default_priors.py on a tiny run: the shipped file, its maps and the manifest."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
from pathlib import Path

import pytest
import torch

from hoirecon.prior.prior import load_prior
from tests.tools.scripts import load_tool

tdp = load_tool("train_default_priors")


def test_the_training_configuration_is_the_documented_small_flow() -> None:
    config = tdp.train_config(60, 0)
    assert (config.flow.depth, config.flow.width, config.encoder.features) == (4, 64, 64)
    assert config.supervision == "2d-knn" and config.seed == 0 and config.epochs == 60


@pytest.mark.slow
def test_a_tiny_build_ships_a_compressed_half_precision_prior_with_its_maps(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "defaults"
    out.mkdir()
    monkeypatch.setattr(sys, "argv", ["train_default_priors.py", "--train", "6", "--test", "4", "--image-size", "64",
                                      "--epochs", "1", "--categories", "basketball", "--work", str(tmp_path / "work"),
                                      "--out", str(out)])
    tdp.main()
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["categories"]["basketball"]
    data = (out / "basketball.pt.gz").read_bytes()
    assert entry["bytes"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["data"]["train_images_per_category"] == 6 and manifest["train"]["epochs"] == 1
    raw = torch.load(io.BytesIO(gzip.decompress(data)), weights_only=True)
    assert all(v.dtype == torch.float16 for v in raw["state_dict"].values() if v.is_floating_point())
    prior = load_prior(out / "basketball.pt.gz")
    assert prior.occlusion is not None and prior.occlusion.num_images == 6
    assert str(tmp_path) not in json.dumps(prior.metadata) + json.dumps(prior.occlusion.provenance)
    assert entry["float16_log_p_change_max_nats"] >= 0
