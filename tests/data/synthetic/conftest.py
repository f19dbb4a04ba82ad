from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hoirecon.body import BodyModel, load_body_model
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.data.synthetic.observation import noiseless

SMALL = SynthConfig(categories=("baseball_bat", "skateboard"), train=6, test=3, seed=3, image_size=96, chunk=4)


@pytest.fixture(scope="session")
def small_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "ds", SMALL)


@pytest.fixture(scope="session")
def clean_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = SynthConfig(categories=("basketball",), train=4, test=0, seed=5, image_size=96, observation=noiseless())
    return generate(tmp_path_factory.mktemp("clean") / "ds", config)


@pytest.fixture(scope="session")
def body() -> BodyModel:
    return load_body_model()


def body_camera(body: BodyModel, betas: np.ndarray, global_orient: np.ndarray,
                transl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera (rotation (B, 3, 3), centre (B, 3)) in the human frame of bodies given by columns.

    Written independently of the generator: the pelvis in the camera is the rest pelvis of the
    betas plus ``transl``, and the human frame is the body frame at the pelvis.
    """
    with torch.no_grad():
        rest_pelvis = body(betas=torch.as_tensor(betas, dtype=torch.float32)).joints[:, 0].double().numpy()
    rot = Rotation.from_rotvec(global_orient).as_matrix()
    pelvis_cam = rest_pelvis + transl
    cam_rotation = np.swapaxes(rot, 1, 2)
    return cam_rotation, -np.einsum("bij,bj->bi", cam_rotation, pelvis_cam)
