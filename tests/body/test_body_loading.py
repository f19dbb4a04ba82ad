"""load_body_model: files, official folder layouts, genders, the embedded body."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import torch

from hoirecon.body import SMPL_JOINT_NAMES, load_body_model, loading


def _write(path, arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def _template(model) -> np.ndarray:
    return model.v_template.double().numpy()


def test_folder_is_searched_by_gender(tmp_path, make_arrays) -> None:
    by_gender = {g: make_arrays("smpl", seed=20 + i, n_verts=50, n_faces=30)
                 for i, g in enumerate(("neutral", "male", "female"))}
    for gender, arrays in by_gender.items():
        _write(tmp_path / f"SMPL_{gender.upper()}.npz", arrays)
    for gender, arrays in by_gender.items():
        model = load_body_model(tmp_path, gender=gender.capitalize(), dtype=torch.float64)
        assert model.gender == gender
        assert np.array_equal(_template(model), arrays["v_template"])


def test_smplx_package_folder_layout(tmp_path, make_arrays) -> None:
    smpl = make_arrays("smpl", seed=30, n_verts=50, n_faces=30)
    smplx = make_arrays("smplx", seed=31, n_verts=50, n_faces=30)
    _write(tmp_path / "smpl" / "SMPL_FEMALE.npz", smpl)
    _write(tmp_path / "smplx" / "SMPLX_FEMALE.npz", smplx)
    assert load_body_model(tmp_path, gender="female").model_type == "smpl"
    model = load_body_model(tmp_path, gender="female", model_type="smplx")
    assert model.model_type == "smplx" and model.num_joints == 55
    with pytest.raises(FileNotFoundError, match=r"no male body model file .*SMPL_MALE.pkl"):
        load_body_model(tmp_path, gender="male")


def test_unknown_gender_lists_valid_ones(tmp_path) -> None:
    with pytest.raises(ValueError, match="expected one of neutral, male, female"):
        load_body_model(tmp_path, gender="other")


def test_single_file_path(model_files) -> None:
    model = load_body_model(model_files["smplh"], gender="male", num_betas=16)
    assert model.model_type == "smplh" and model.gender == "male" and model.num_betas == 16


def test_embedded_gender_falls_back_to_neutral(tmp_path, make_arrays, monkeypatch,
                                              caplog) -> None:
    monkeypatch.setattr(loading, "ASSETS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="embedded body model not found"):
        load_body_model()
    arrays = make_arrays("smpl", seed=40, n_verts=50, n_faces=30)
    del arrays["posedirs"]
    _write(tmp_path / "embedded_neutral.npz", arrays)
    with caplog.at_level(logging.WARNING, logger="hoirecon.body.loading"):
        model = load_body_model(gender="female")
    assert model.gender == "neutral" and model.posedirs is None
    assert "no embedded female body model" in caplog.text
    shutil.copy(tmp_path / "embedded_neutral.npz", tmp_path / "embedded_male.npz")
    assert load_body_model(gender="male").gender == "male"


EMBEDDED = loading.ASSETS_DIR / "embedded_neutral.npz"


def test_embedded_body_is_a_human_sized_t_pose() -> None:
    assert EMBEDDED.is_file(), f"the embedded body must ship with the package: {EMBEDDED}"
    model = load_body_model()
    assert model.model_type == "smpl" and model.joint_names == list(SMPL_JOINT_NAMES)
    out = model()
    verts, joints = out.vertices[0], out.joints[0]
    height = float(verts[:, 1].max() - verts[:, 1].min())
    assert 1.5 <= height <= 1.9
    names = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}
    for side in ("left", "right"):
        shoulder, wrist = joints[names[f"{side}_shoulder"]], joints[names[f"{side}_wrist"]]
        assert abs(float(wrist[1] - shoulder[1])) < 0.1  # arms out sideways: a T-pose
        assert abs(float(wrist[0] - shoulder[0])) > 0.35
    assert float(joints[names["left_wrist"], 0]) > 0 > float(joints[names["right_wrist"], 0])
    assert float(joints[names["head"], 1]) > float(joints[names["pelvis"], 1]) + 0.4
