from pathlib import Path

import pytest

from hoirecon.data.synthetic.estimators import EstimatorNoise
from hoirecon.data.synthetic.generator import SynthConfig, generate

SMALL = SynthConfig(categories=("baseball_bat", "skateboard"), train=6, test=3, seed=3, image_size=96, chunk=4)


@pytest.fixture(scope="session")
def small_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "ds", SMALL)


@pytest.fixture(scope="session")
def clean_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    noise = EstimatorNoise(keypoint_px=0.0, object_keypoint_px=0.0, corr_px=0.0, corr_outliers=0.0)
    config = SynthConfig(categories=("basketball",), train=4, test=0, seed=5, image_size=96, noise=noise)
    return generate(tmp_path_factory.mktemp("clean") / "ds", config)
