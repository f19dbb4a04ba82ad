"""What ``fit.json`` records about each category's fit, and the checks made before a fit starts.

A fit records the dataset (absolute path and annotation hash, see ``hoirecon.io.provenance``),
the split, the configuration and its hash, the prior (path, file hash, and the category,
dataset and configuration it was trained on) and the occlusion maps, with the number of images
of the split and the images skipped. Before fitting, :func:`check_output` refuses an output
folder that already holds fits of other data or of another configuration, and
:func:`check_prior` refuses a prior of another category; ``force`` turns a refusal into a note
recorded under ``forced``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hoirecon.data import Dataset
from hoirecon.fitting.optimize import FitConfig
from hoirecon.io.errors import FileFormatError
from hoirecon.io.fits import FIT_INFO, fit_info_entry, fits_path, read_fit_info, write_fit_info
from hoirecon.io.occlusion_files import read_occlusion_provenance
from hoirecon.io.provenance import Source, check_agree, config_hash, file_hash
from hoirecon.prior.prior import load_prior

log = logging.getLogger(__name__)

@dataclass
class FitRecord:
    """The provenance of one category's fit."""

    dataset: str
    """Absolute path of the dataset folder."""
    dataset_hash: str
    split: str
    preset: str
    config: dict[str, Any]
    prior: dict[str, Any] | None = None
    """``{path, hash, category, dataset_hash, config_hash}`` of the prior file, or None."""
    occlusion: dict[str, Any] | None = None
    """``{path, hash, dataset_hash}`` of the occlusion maps file, or None."""
    forced: list[str] = field(default_factory=list)
    """Refusals overridden with ``force``."""

    @property
    def config_hash(self) -> str:
        """Hash of the configuration."""
        return config_hash(self.config)


def check_output(out: Path, category: str, record: FitRecord, force: bool) -> list[str]:
    """Refuse (or, with ``force``, note) an output folder holding fits of other data or settings."""
    if Path(out).exists() and not Path(out).is_dir():
        raise FileFormatError(f"{out}: not a folder (--out must be a folder for fits/ and fit.json)")
    try:
        info = read_fit_info(out)
    except FileFormatError as err:
        if not force:
            raise FileFormatError(f"{err}; remove it, choose another --out, or --force to replace it") from err
        return [f"forced: replaced an unreadable {Path(out) / FIT_INFO}"]
    here = Source(record.dataset_hash, f"--data {record.dataset}")
    notes = [check_agree("datasets", here, Source(info.get("dataset_hash"), f"{Path(out) / FIT_INFO}"), force)]
    entry = fit_info_entry(info, category)
    if entry and fits_path(out, category).is_file():
        where = f"the {category} fits in {Path(out) / FIT_INFO} (preset {entry.get('preset')})"
        notes.append(check_agree(f"configurations of {category} fits",
                                 Source(record.config_hash, f"this run (preset {record.preset})"),
                                 Source(entry.get("config_hash"), where), force))
        mine = record.prior["hash"] if record.prior else "none"
        theirs = (entry.get("prior_record") or {}).get("hash", "none") if "prior_record" in entry else None
        notes.append(check_agree(f"priors of {category} fits", Source(mine, "this run's --prior"),
                                 Source(theirs, where), force))
        notes.append(check_agree(f"splits of {category} fits", Source(record.split, "this run's --split"),
                                 Source(entry.get("split"), where), force))
    return [n for n in notes if n]


def prior_record(path: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """The record of a prior file: its path and hash and what it was trained on (when known)."""
    origin = metadata.get("provenance") if isinstance(metadata.get("provenance"), dict) else {}
    dataset = origin.get("dataset") if isinstance(origin.get("dataset"), dict) else {}
    return {"path": str(Path(path).resolve()), "hash": file_hash(path), "category": origin.get("category"),
            "dataset": dataset.get("path"), "dataset_hash": dataset.get("hash"),
            "config_hash": origin.get("config_hash")}


def check_prior(record: dict[str, Any], category: str, data: Dataset, force: bool) -> list[str]:
    """Refuse a prior trained for another category (unless ``force``); note one of other data."""
    notes = [check_agree("categories", Source(category, f"--category {category}"),
                         Source(record["category"], f"prior {record['path']}"), force)]
    if record["category"] is None:
        notes.append(f"prior {record['path']} records no category or dataset (trained by an older version?)")
    elif record["dataset_hash"] not in (None, data.content_hash()):
        notes.append(f"prior {record['path']} was trained on dataset {record['dataset']} "
                     f"(annotations {record['dataset_hash']}); the fits are on {data.root.resolve()} "
                     f"({data.content_hash()})")
    for note in notes[1:]:
        log.info("%s", note)
    return [n for n in notes if n]


def occlusion_record(path: Path, provenance: dict[str, Any]) -> dict[str, Any]:
    """The record of an occlusion-maps file: path, hash and the dataset it was computed on."""
    dataset = provenance.get("dataset") if isinstance(provenance.get("dataset"), dict) else {}
    return {"path": str(Path(path).resolve()), "hash": file_hash(path), "dataset_hash": dataset.get("hash")}


def write_record(out: Path, category: str, record: FitRecord, images: int, fitted: int,
                 skipped: list[tuple[str, str]], notes: dict[str, list[str]]) -> dict[str, Any]:
    """Add one category's record to ``<out>/fit.json`` (read again just before writing)."""
    info = read_fit_info(out)
    info.update({"dataset": record.dataset, "dataset_hash": record.dataset_hash, "split": record.split,
                 "preset": record.preset, "method": record.preset, "config": record.config})
    info.setdefault("categories", {})[category] = {
        "dataset": record.dataset, "dataset_hash": record.dataset_hash, "split": record.split,
        "preset": record.preset, "config": record.config, "config_hash": record.config_hash,
        "prior": record.prior["path"] if record.prior else None, "prior_record": record.prior,
        "occlusion": record.occlusion, "images": images, "fitted": fitted,
        "skipped": [list(s) for s in skipped], "notes": notes, "forced": record.forced}
    write_fit_info(Path(out), info)
    return info


def fit_record(data: Dataset, category: str, split: str, config: FitConfig, prior_path: str | Path | None,
               occlusion_path: str | Path | None, force: bool = False) -> tuple[FitRecord, list[str]]:
    """The provenance record of a fit, and the notes of its checks (a prior of another category is
    refused unless ``force``)."""
    record = FitRecord(str(data.root.resolve()), data.content_hash(), split, config.name, asdict(config))
    notes: list[str] = []
    if prior_path is not None and config.weights.prior > 0:
        record.prior = prior_record(Path(prior_path), load_prior(prior_path).metadata)
        notes += check_prior(record.prior, category, data, force)
    if occlusion_path is not None and config.weights.contact > 0:
        record.occlusion = occlusion_record(Path(occlusion_path), read_occlusion_provenance(occlusion_path))
    return record, notes
