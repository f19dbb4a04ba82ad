from pathlib import Path

import numpy as np
import pytest

from hoirecon.io.fits import FIT_COLUMNS, FitResults, fitted_categories, load_fits, save_fits


def _columns(n: int) -> dict[str, np.ndarray]:
    shapes = {"betas": (10,), "body_pose": (63,), "global_orient": (3,), "transl": (3,), "joints_3d": (22, 3),
              "object_rotation": (3, 3), "object_translation": (3,), "object_scale": (),
              "object_rotation_cam": (3, 3), "object_translation_cam": (3,)}
    rng = np.random.default_rng(0)
    cols = {k: rng.normal(size=(n, *s)) for k, s in shapes.items()}
    cols["image_id"] = np.array([f"im{i}" for i in range(n)])
    cols["loss_prior"] = rng.random(n)
    return cols


def test_round_trip(tmp_path: Path) -> None:
    res = FitResults("baseball_bat", _columns(3))
    save_fits(tmp_path, res)
    back = load_fits(tmp_path, "baseball_bat")
    assert back.image_ids == ["im0", "im1", "im2"]
    assert back.loss_terms() == ["prior"]
    np.testing.assert_array_equal(back.row("im1")["betas"], res.columns["betas"][1])
    assert fitted_categories(tmp_path) == ["baseball_bat"]


def test_missing_column_is_named() -> None:
    cols = _columns(2)
    del cols["object_scale"]
    with pytest.raises(ValueError, match="object_scale"):
        FitResults("cello", cols)


def test_ragged_columns_are_named() -> None:
    cols = _columns(2)
    cols["transl"] = cols["transl"][:1]
    with pytest.raises(ValueError, match="transl"):
        FitResults("cello", cols)


def test_unknown_image_is_named() -> None:
    with pytest.raises(KeyError, match="nope"):
        FitResults("cello", _columns(2)).row("nope")
    assert len(FIT_COLUMNS) == 11
