"""Export fits to the RHOBIN 2023 submission layout (``results.pkl``).

``{seq: {frames, gender, poses (T, 72), betas (T, 10), trans (T, 3), obj_rots (T, 3, 3),
obj_trans (T, 3), obj_scales (T,)}}`` in the camera frame. The challenge tools place object points
as ``(v @ R.T + t) * s`` (scale after translation) while our fits use ``s * v @ R.T + t``, so the
exported translation is ``t / s``. Each category becomes one sequence named after it.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from hoirecon.io.atomic import atomic_write_bytes
from hoirecon.io.fits import FitResults, fitted_categories, load_fits


def rhobin_sequence(fits: FitResults, gender: str = "neutral") -> dict[str, object]:
    """One RHOBIN sequence from a category's fits (SMPL 72-d poses: hand joints zero)."""
    c = fits.columns
    n = len(c["image_id"])
    poses = np.concatenate([c["global_orient"], c["body_pose"], np.zeros((n, 6))], axis=1)
    scale = np.asarray(c["object_scale"], dtype=np.float64)
    return {"frames": [str(i) for i in c["image_id"]], "gender": gender, "poses": poses,
            "betas": np.asarray(c["betas"]), "trans": np.asarray(c["transl"]),
            "obj_rots": np.asarray(c["object_rotation_cam"]),
            "obj_trans": np.asarray(c["object_translation_cam"]) / scale[:, None], "obj_scales": scale}


def export_rhobin(out: str | Path, path: str | Path, gender: str = "neutral") -> Path:
    """Write every category fitted under ``out`` to one ``results.pkl`` at ``path`` (atomically)."""
    categories = fitted_categories(Path(out))
    if not categories:
        raise ValueError(f"{out}: no fits to export (expected fits/<category>.npz)")
    data = {c: rhobin_sequence(load_fits(Path(out), c), gender) for c in categories}
    atomic_write_bytes(Path(path), pickle.dumps(data, protocol=4))
    return Path(path)
