"""Where the build finds each image's evidence files, and reading them.

For an image ``<stem>.<ext>`` the build looks in the evidence folder (default: the image's own
folder) for these optional files, in the same formats ``hoirecon reconstruct`` reads:

=============================================  ==================================================
``<stem>.keypoints.json``                      person keypoints (COCO results or annotations,
                                               mmpose, OpenPose, BEHAVE; several people allowed)
``<stem>.person_mask.png``                     the person's silhouette
``<stem>.body.npz`` / ``.pkl`` / ``.json``     a body estimate (HMR 2.0, PHALP, ROMP, PARE, SMPLer-X,
                                               FrankMocap, ours)
``<stem>.object_keypoints.json``               ``{"keypoints": [[u, v, confidence], ...]}``, template order
``<stem>.correspondences.json`` / ``.pkl``     2D-3D correspondences (ours, or EPro-PnP ``{x3d, x2d, w2d}``)
``<stem>.object_mask.png``                     the object's silhouette
``<stem>.object_box.json``                     ``{"box": [x0, y0, x1, y1]}``, the object's box
``<stem>.camera.json``                         ``{"focal": f}`` or ``{"intrinsics": 3x3}``
=============================================  ==================================================

Clicks from the annotation page (:mod:`hoirecon.collect.annotations`) count as object keypoints
(they win over an ``object_keypoints`` file of the same image).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hoirecon.data.readers.placement import check_intrinsics
from hoirecon.fitting.single import image_camera

SUFFIXES = {
    "person_keypoints": (".keypoints.json",),
    "person_mask": (".person_mask.png", ".person_mask.jpg"),
    "body_estimate": (".body.npz", ".body.pkl", ".body.json"),
    "object_keypoints": (".object_keypoints.json",),
    "correspondences": (".correspondences.json", ".correspondences.pkl"),
    "object_mask": (".object_mask.png", ".object_mask.jpg"),
    "object_box": (".object_box.json",),
    "camera": (".camera.json",),
}


@dataclass(frozen=True)
class EvidencePaths:
    """The evidence files found for one image (None = none)."""

    person_keypoints: Path | None = None
    person_mask: Path | None = None
    body_estimate: Path | None = None
    object_keypoints: Path | None = None
    correspondences: Path | None = None
    object_mask: Path | None = None
    object_box: Path | None = None
    camera: Path | None = None

    def present(self) -> list[Path]:
        """The files that exist, in field order."""
        return [p for p in self.__dict__.values() if p is not None]


def find_evidence(image_id: str, folder: Path) -> EvidencePaths:
    """The evidence files of image ``image_id`` in ``folder`` (see the module docstring)."""
    found = {}
    for name, suffixes in SUFFIXES.items():
        found[name] = next((folder / f"{image_id}{s}" for s in suffixes if (folder / f"{image_id}{s}").is_file()), None)
    return EvidencePaths(**found)


def fingerprint(paths: list[Path | None], settings: dict) -> str:
    """Hash of files (path, size, modification time) and settings: a cached result is reused
    only while none of them changed."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for p in paths:
        if p is not None and Path(p).is_file():
            st = Path(p).stat()
            h.update(f"{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def read_object_box(path: Path) -> np.ndarray:
    """The box (4,) x0, y0, x1, y1 of an ``object_box.json``; ValueError naming the file."""
    try:
        box = np.asarray(json.loads(path.read_text())["box"], dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: expected {{\"box\": [x0, y0, x1, y1]}} ({err})") from err
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError(f"{path}: key 'box': expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0")
    return box


def read_intrinsics(image: Path, camera: Path | None, focal: float | None) -> np.ndarray:
    """K (3, 3) of an image: its camera file, else ``focal`` (else the longer side) with the centred
    principal point. ValueError naming the file when the camera file is malformed."""
    if camera is None:
        return image_camera(image, focal).intrinsics
    try:
        data = json.loads(camera.read_text())
        if "intrinsics" in data:
            return check_intrinsics(np.asarray(data["intrinsics"], dtype=np.float64))
        return image_camera(image, float(data["focal"])).intrinsics
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{camera}: expected {{\"focal\": f}} or {{\"intrinsics\": [[fx, 0, cx], [0, fy, cy], "
                         f"[0, 0, 1]]}} ({err})") from err
