"""Mean occlusion-map files (paper sec. 3.4): one ``.npz`` per category.

A file holds the mean maps ``c̄_h`` (per body vertex) and ``c̄_o`` (per template vertex), the
category, both vertex counts, the contact threshold ``eta``, the silhouette dilation, and the
images used and skipped (with reasons). Computing the maps is ``hoirecon.fitting.occlusion``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hoirecon.io.arrays import load_columns
from hoirecon.io.atomic import atomic_save_npz
from hoirecon.io.errors import FileFormatError

DEFAULT_ETA = 0.15
"""Contact threshold on ``c c̄``; how it was chosen is in ``hoirecon.fitting.occlusion``."""
DEFAULT_DILATION = 0.05
"""Silhouette dilation radius as a fraction of the larger image side."""
MAPS_VERSION = 1


@dataclass(frozen=True)
class ImageOcclusion:
    """Occlusion maps of one image, stored sparsely as the ids of the vertices set to 1."""

    image_id: str
    human_ids: np.ndarray
    """(N_h,) body vertex ids with ``c_h = 1``."""
    object_ids: np.ndarray
    """(N_o,) object vertex ids with ``c_o = 1``."""


@dataclass(frozen=True)
class SkippedSample:
    """An image left out of the mean maps, and why."""

    image_id: str
    reason: str


@dataclass
class OcclusionMaps:
    """Mean occlusion maps of one category (paper: c̄_h, c̄_o)."""

    category: str
    mean_human: np.ndarray
    """(V_body,) mean of c_h over the images used."""
    mean_object: np.ndarray
    """(V_obj,) mean of c_o over the images used."""
    eta: float = DEFAULT_ETA
    """Contact threshold to use with these maps."""
    dilation: float = DEFAULT_DILATION
    """Silhouette dilation the maps were computed with (fraction of the image size)."""
    image_ids: list[str] = field(default_factory=list)
    """Images averaged."""
    skipped: list[SkippedSample] = field(default_factory=list)
    """Images left out, with reasons."""
    per_image: list[ImageOcclusion] = field(default_factory=list)
    """The per-image maps of the images used (in memory only; not saved)."""
    provenance: dict = field(default_factory=dict)
    """Where the maps came from: the dataset (path and annotation hash) and split."""

    @property
    def num_images(self) -> int:
        """Number of images averaged."""
        return len(self.image_ids)

    @property
    def body_vertex_count(self) -> int:
        """V_body."""
        return int(len(self.mean_human))

    @property
    def template_vertex_count(self) -> int:
        """V_obj."""
        return int(len(self.mean_object))


def save_occlusion_maps(path: str | Path, maps: OcclusionMaps) -> Path:
    """Write the mean maps of one category to a ``.npz`` atomically (with the category, the
    vertex counts, eta, the dilation and the images used/skipped); returns the path."""
    path = Path(path)
    atomic_save_npz(path, {
        "version": np.array(MAPS_VERSION), "category": np.array(maps.category),
        "mean_human": maps.mean_human.astype(np.float64),
        "mean_object": maps.mean_object.astype(np.float64),
        "body_vertex_count": np.array(maps.body_vertex_count),
        "template_vertex_count": np.array(maps.template_vertex_count),
        "eta": np.array(maps.eta), "dilation": np.array(maps.dilation),
        "image_ids": np.array(maps.image_ids, dtype=str),
        "skipped_ids": np.array([s.image_id for s in maps.skipped], dtype=str),
        "skipped_reasons": np.array([s.reason for s in maps.skipped], dtype=str),
        "provenance": np.array(json.dumps(maps.provenance, sort_keys=True))})
    return path


_MAP_KEYS = ("category", "mean_human", "mean_object", "body_vertex_count",
             "template_vertex_count", "eta", "dilation", "image_ids", "skipped_ids", "skipped_reasons")


def _read_map_file(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a maps file; FileFormatError naming the file and a missing key."""
    data = load_columns(path)
    missing = [k for k in _MAP_KEYS if k not in data]
    if missing:
        raise FileFormatError(f"{path}: missing key(s) {missing}")
    return data


def _check_counts(path: Path, data: dict[str, np.ndarray], category: str | None,
                  body_vertex_count: int | None, template_vertex_count: int | None) -> None:
    """The stored category and vertex counts agree with the arrays and with what is expected."""
    expected = {"category": category, "body_vertex_count": body_vertex_count,
                "template_vertex_count": template_vertex_count}
    for key, want in expected.items():
        have = data[key].item()
        if want is not None and have != want:
            raise FileFormatError(f"{path}: key {key!r} is {have!r}, expected {want!r} (maps computed "
                             "for another category, body model or template?)")
    for key, count in (("mean_human", "body_vertex_count"), ("mean_object", "template_vertex_count")):
        if data[key].shape != (int(data[count]),):
            raise FileFormatError(f"{path}: key {key!r} has shape {data[key].shape}, expected "
                             f"({int(data[count])},)")
        values = np.asarray(data[key], dtype=np.float64)
        if not (np.isfinite(values) & (values >= 0) & (values <= 1)).all():
            raise FileFormatError(f"{path}: key {key!r} holds values outside [0, 1] or NaN/inf (a mean of 0/1 maps)")


def load_occlusion_maps(path: str | Path, category: str | None = None,
                        body_vertex_count: int | None = None,
                        template_vertex_count: int | None = None) -> OcclusionMaps:
    """Read mean maps saved by :func:`save_occlusion_maps`, checking the category and the
    body and template vertex counts when given (ValueError naming the file and key)."""
    path = Path(path)
    data = _read_map_file(path)
    _check_counts(path, data, category, body_vertex_count, template_vertex_count)
    skipped = [SkippedSample(str(i), str(r)) for i, r in zip(data["skipped_ids"], data["skipped_reasons"])]
    return OcclusionMaps(str(data["category"]), data["mean_human"], data["mean_object"],
                         eta=float(data["eta"]), dilation=float(data["dilation"]),
                         image_ids=[str(i) for i in data["image_ids"]], skipped=skipped,
                         provenance=_provenance(path, data))


def _provenance(path: Path, data: dict[str, np.ndarray]) -> dict:
    """The stored provenance ({} for files written before it was recorded)."""
    if "provenance" not in data:
        return {}
    try:
        value = json.loads(str(data["provenance"]))
    except json.JSONDecodeError as err:
        raise FileFormatError(f"{path}: key 'provenance' is not valid JSON ({err})") from err
    return value if isinstance(value, dict) else {}


def read_occlusion_provenance(path: str | Path) -> dict:
    """Only the provenance of a maps file ({} when it records none)."""
    return _provenance(Path(path), _read_map_file(Path(path)))
