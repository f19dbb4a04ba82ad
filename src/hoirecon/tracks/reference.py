"""Build a RHOBIN ``ref.pkl`` from a BEHAVE tree, in the official layout, so a lab can score its splits.

Layout (what the official evaluators of ``challenges/cvprw23`` read)::

    {"annotations": {seq: {"frames": [frame times], "gender": "male" | "female",
                           "poses": (T, 156) SMPL-H, "betas": (T, 10), "trans": (T, 3),
                           "obj_rots": (T, 3) axis-angle, "obj_trans": (T, 3),
                           "occ_ratios": (T,) visible fraction of the object}},
     "templates": {obj_name: {"verts": (V, 3), "faces": (F, 3),
                              "symmetries": [{"R": (3, 3), "t": (3, 1)}, ...]}}}

Values come from the fits (``person/fit02/person_fit.pkl``, ``<obj>/fit01/<obj>_fit.pkl``), in
the world frame (camera k1) as released, the gender from ``info.json``, the visible fraction
from Kinect ``kinect``'s masks (``|obj_rend_mask| / |obj_rend_full|``; the object and joint
tracks score frames with at least 0.3). Templates are the centred release meshes with their
detected symmetries (:mod:`hoirecon.tracks.templates`). A frame whose fits are missing or broken
is reported and left out; a frame without the masks gets the ratio 1 (counted, reported).
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hoirecon.data.readers.behave_files import object_visible_ratio, read_object_fit, read_person_fit
from hoirecon.data.readers.common import SampleError
from hoirecon.io.atomic import atomic_write_bytes
from hoirecon.tracks.keys import frame_folders, object_of
from hoirecon.tracks.templates import load_rhobin_template
from hoirecon.tracks.world import BehaveCalibration

log = logging.getLogger(__name__)

REFERENCE_KINECT = 1
"""The Kinect whose images RHOBIN's test set shows (its colour frame is BEHAVE's world)."""


@dataclass
class ReferenceReport:
    """What :func:`make_reference` wrote and left out."""

    path: Path
    frames: dict[str, int] = field(default_factory=dict)
    """Frames written per sequence."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(``<seq>/<frame>``, reason) of the frames left out."""
    no_masks: int = 0
    """Frames without the masks for the visible fraction (ratio 1)."""


def _frame_values(frame: Path, object_name: str) -> dict[str, np.ndarray]:
    person = read_person_fit(frame)
    _, obj = read_object_fit(frame, object_name)
    values = {"poses": person.pose, "betas": person.betas, "trans": person.trans,
              "obj_rots": Rotation.from_matrix(obj.rotation).as_rotvec(), "obj_trans": obj.translation}
    for key, value in values.items():
        if not np.isfinite(value).all():
            raise SampleError(frame, f"{key} of the fits is not finite")
    return values


def _sequence(calib: BehaveCalibration, seq: str, kinect: int, report: ReferenceReport) -> dict | None:
    info = calib.info(seq)
    rows: dict[str, list] = {k: [] for k in ("frames", "poses", "betas", "trans", "obj_rots", "obj_trans", "occ_ratios")}
    for frame in frame_folders(calib.sequence_dir(seq)):
        try:
            values = _frame_values(frame, info.object_name)
            ratio = object_visible_ratio(frame, kinect)
        except SampleError as error:
            report.skipped.append((f"{seq}/{frame.name}", str(error)))
            log.warning("left out %s/%s: %s", seq, frame.name, error)
            continue
        if ratio is None:
            report.no_masks += 1
            ratio = 1.0
        rows["frames"].append(frame.name)
        rows["occ_ratios"].append(ratio)
        for key, value in values.items():
            rows[key].append(value)
    if not rows["frames"]:
        return None
    report.frames[seq] = len(rows["frames"])
    entry: dict[str, object] = {"frames": rows["frames"], "gender": info.gender}
    entry.update({k: np.stack(rows[k]).astype(np.float64) for k in ("poses", "betas", "trans", "obj_rots", "obj_trans")})
    entry["occ_ratios"] = np.asarray(rows["occ_ratios"], dtype=np.float64)
    return entry


def build_reference(root: str | Path, sequences: list[str], kinect: int = REFERENCE_KINECT,
                    report: ReferenceReport | None = None) -> dict:
    """The reference dict of ``sequences`` of the BEHAVE tree at ``root`` (layout above).

    Raises:
        ValueError: no frame of any sequence could be read, or a sequence's template is missing.
        LayoutError: a sequence folder is missing.
    """
    calib = BehaveCalibration(root)
    report = report or ReferenceReport(Path())
    annotations, templates = {}, {}
    for seq in sequences:
        name = object_of(seq)
        entry = _sequence(calib, seq, kinect, report)
        if entry is None:
            report.skipped.append((seq, "no frame with readable fits"))
            continue
        annotations[seq] = entry
        if name not in templates:
            try:
                templates[name] = load_rhobin_template(calib.objects_root, name).reference_entry()
            except (OSError, ValueError) as error:
                raise ValueError(f"sequence {seq}: object template: {error}") from error
    if not annotations:
        raise ValueError(f"{root}: no frame with readable fits in {len(sequences)} sequence(s)")
    return {"annotations": annotations, "templates": templates}


def make_reference(root: str | Path, sequences: list[str], out: str | Path,
                   kinect: int = REFERENCE_KINECT) -> ReferenceReport:
    """Build the reference of ``sequences`` and write it to ``out`` atomically (see the module docstring)."""
    report = ReferenceReport(Path(out))
    reference = build_reference(root, sequences, kinect, report)
    atomic_write_bytes(Path(out), pickle.dumps(reference, protocol=4))
    if report.no_masks:
        log.warning("%d frame(s) without obj_rend_mask / obj_rend_full for k%d: visible fraction set to 1",
                    report.no_masks, kinect)
    return report
