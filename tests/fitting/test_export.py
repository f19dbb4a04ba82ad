from pathlib import Path

import numpy as np

from hoirecon.eval.protocols.submission import load_rhobin_file
from hoirecon.eval.sampling import behave_object_vertices, wildhoi_object_vertices
from hoirecon.fitting.export import export_rhobin
from hoirecon.io.fits import FitResults, save_fits


def _fits(n: int) -> FitResults:
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    rot = q * np.sign(np.linalg.det(q))[:, None, None]
    cols = {"image_id": np.array([f"im{i}" for i in range(n)]), "betas": rng.normal(size=(n, 10)),
            "body_pose": rng.normal(size=(n, 63)) * 0.1, "global_orient": rng.normal(size=(n, 3)),
            "transl": rng.normal(size=(n, 3)), "joints_3d": rng.normal(size=(n, 22, 3)),
            "object_rotation": rot, "object_translation": rng.normal(size=(n, 3)),
            "object_scale": rng.uniform(0.8, 1.2, n), "object_rotation_cam": rot,
            "object_translation_cam": rng.normal(size=(n, 3)) + [0, 0, 3]}
    return FitResults("cello", cols)


def test_export_reads_back_and_keeps_the_object_placement(tmp_path: Path) -> None:
    fits = _fits(4)
    save_fits(tmp_path, fits)
    path = export_rhobin(tmp_path, tmp_path / "results.pkl")
    seq = load_rhobin_file(path, need_body=True, need_object=True).sequences["cello"]
    assert seq.frames == ["im0", "im1", "im2", "im3"] and seq.poses.shape == (4, 72)
    v = np.random.default_rng(2).normal(size=(50, 3))
    c = fits.columns
    for i in range(4):
        ours = wildhoi_object_vertices(v, c["object_rotation_cam"][i], c["object_translation_cam"][i],
                                       c["object_scale"][i])
        theirs = behave_object_vertices(v, seq.obj_rots[i], seq.obj_trans[i], seq.obj_scales[i])
        np.testing.assert_allclose(theirs, ours, atol=1e-9)


def test_export_without_fits_names_the_folder(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="no fits"):
        export_rhobin(tmp_path, tmp_path / "r.pkl")
