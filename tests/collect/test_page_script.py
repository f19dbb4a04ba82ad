"""The page script's own pose solver, run in headless Chromium against known poses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hoirecon.collect.server import write_page_file
from hoirecon.objects import load_template


@pytest.mark.slow
def test_in_page_pnp_recovers_known_poses(photo_folder, chromium_page, tmp_path: Path) -> None:
    folder, _ = photo_folder
    page = write_page_file(folder, "skateboard", tmp_path / "a.json", tmp_path / "page.html")
    chromium_page.open(page.as_uri())
    points = np.asarray(load_template("skateboard").keypoints)
    K = np.array([[300.0, 0, 128], [0, 300, 128], [0, 0, 1]])
    rng = np.random.default_rng(0)
    for _ in range(4):
        rotvec = Rotation.random(random_state=rng).as_rotvec()
        R, t = Rotation.from_rotvec(rotvec).as_matrix(), np.array([*rng.uniform(-0.2, 0.2, 2), rng.uniform(1.5, 3)])
        cam = points @ R.T + t
        pixels = cam[:, :2] / cam[:, 2:] * 300 + 128
        js_R = chromium_page.evaluate(f"rodrigues({json.dumps(rotvec.tolist())})")
        assert np.allclose(js_R, R, atol=1e-9)
        out = chromium_page.evaluate(f"solvePnP({json.dumps(points.tolist())}, {json.dumps(pixels.tolist())}, "
                                     f"{json.dumps(K.tolist())})")
        found = np.asarray(out["x"])
        assert out["cost"] < 1e-4
        assert np.allclose(found[3:], t, atol=1e-3)
        error = np.degrees((Rotation.from_rotvec(found[:3]) * Rotation.from_rotvec(rotvec).inv()).magnitude())
        assert error < 0.1  # labelled keypoints fix the pose: no symmetry ambiguity
