"""Find and load a body model: the embedded open body, a model file, or a model folder.

Folders are searched for the official file names (``SMPL_NEUTRAL.pkl``,
``SMPLH_MALE.pkl``/``.npz``, ``SMPLX_FEMALE.npz``/``.pkl``, ...), either directly or in
the ``smpl/``, ``smplh/``, ``smplx/`` sub-folders the ``smplx`` package uses.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from hoirecon.body.model import GENDERS, BodyModel, normalize_model_type
from hoirecon.body.model_file import read_model_file

logger = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
"""Folder of the embedded body model files ``embedded_{gender}.npz``."""

_SEARCH_ORDER = ("smpl", "smplh", "smplx")
_FILE_PREFIX = {"smpl": "SMPL", "smplh": "SMPLH", "smplx": "SMPLX"}
_EXTENSIONS = {"smpl": ("pkl", "npz"), "smplh": ("pkl", "npz"), "smplx": ("npz", "pkl")}


def check_gender(gender: str) -> str:
    """Lower-cased `gender`, or a ValueError listing the valid ones."""
    key = str(gender).lower()
    if key not in GENDERS:
        raise ValueError(f"gender: unknown {gender!r}; expected one of {', '.join(GENDERS)}")
    return key


def embedded_model_path(gender: str = "neutral") -> Path:
    """Path of the embedded body file for `gender`, falling back to the neutral body
    (with a warning) when only that one is shipped."""
    gender = check_gender(gender)
    wanted = ASSETS_DIR / f"embedded_{gender}.npz"
    if wanted.is_file():
        return wanted
    neutral = ASSETS_DIR / "embedded_neutral.npz"
    if gender != "neutral" and neutral.is_file():
        logger.warning("no embedded %s body model (%s); using the neutral one", gender, wanted)
        return neutral
    raise FileNotFoundError(f"embedded body model not found: {wanted} (the package was "
                            "installed without its body assets; pass a model file path)")


def model_file_candidates(folder: Path, gender: str, model_type: str | None = None
                          ) -> list[Path]:
    """File paths searched in `folder` for `gender` and `model_type` (all types, SMPL
    first, when None), in search order."""
    types = _SEARCH_ORDER if model_type is None else (normalize_model_type(model_type),)
    out = []
    for kind in types:
        for sub in ("", kind):
            for ext in _EXTENSIONS[kind]:
                out.append(folder / sub / f"{_FILE_PREFIX[kind]}_{gender.upper()}.{ext}")
    return out


def find_model_file(folder: str | Path, gender: str = "neutral",
                    model_type: str | None = None) -> Path:
    """The first existing model file of `model_file_candidates` in `folder`."""
    gender = check_gender(gender)
    candidates = model_file_candidates(Path(folder), gender, model_type)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    names = ", ".join(str(c.relative_to(folder)) for c in candidates)
    raise FileNotFoundError(f"no {gender} body model file in {folder} (looked for {names})")


def load_body_model(path: str | Path | None = None, gender: str = "neutral",
                    model_type: str | None = None, num_betas: int = 10,
                    dtype: torch.dtype = torch.float32) -> BodyModel:
    """Load a body model: the embedded open body when `path` is None, else a model file
    (``.pkl`` or ``.npz``) or a folder of official files chosen by `gender`
    ("neutral", "male", "female"). `model_type` ("smpl", "smplh", "smplx") is inferred
    from the joint count when None; `num_betas` shape components are kept."""
    gender = check_gender(gender)
    if path is None:
        file = embedded_model_path(gender)
        gender = file.stem.removeprefix("embedded_")
    elif Path(path).is_dir():
        file = find_model_file(path, gender, model_type)
    else:
        file = Path(path)
    arrays = read_model_file(file)
    logger.debug("loaded body model %s", file)
    return BodyModel(arrays, model_type=model_type, gender=gender, num_betas=num_betas,
                     dtype=dtype, source=str(file))
