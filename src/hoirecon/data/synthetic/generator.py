"""The synthetic in-the-wild generator: one sampled interaction seen by one random camera per image.

Work is cut into chunks whose rows are saved as soon as they are finished
(``annotations/.parts/``), so an interrupted run resumes where it stopped; the category file
and the manifest are written atomically at the end. Every chunk has its own seed derived from
(seed, category, chunk), so output is deterministic and independent of resumption.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hoirecon.data.dataset import atomic_save_npz, atomic_write_json, load_columns, stack_rows, write_category
from hoirecon.data.format import ANNOTATION_DIR, FORMAT_VERSION
from hoirecon.data.synthetic.camera import CameraConfig
from hoirecon.data.synthetic.estimators import EstimatorNoise
from hoirecon.data.synthetic.scene import SceneContext, make_rows

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
"""Callback (category, images done, images total)."""


@dataclass(frozen=True)
class SynthConfig:
    """What to generate."""

    categories: tuple[str, ...] = ("baseball_bat", "skateboard", "basketball")
    """Built-in categories to generate."""
    train: int = 200
    """Training images per category."""
    test: int = 50
    """Test images per category."""
    seed: int = 0
    """Master seed; the output is a deterministic function of the config."""
    image_size: int = 256
    """Width and height of the square images, pixels."""
    chunk: int = 32
    """Images per chunk (the unit of checkpointing)."""
    body_model: str | None = None
    """Body model file or folder (SMPL/SMPL-H/SMPL-X); None uses the embedded open body."""
    shape_std: float = 0.8
    """Std of the true body-shape coefficients."""
    noise: EstimatorNoise = field(default_factory=EstimatorNoise)
    """Error levels of the simulated estimators."""
    camera: CameraConfig = field(default_factory=CameraConfig)
    """Distribution of the cameras."""

    def fingerprint(self) -> str:
        """Short hash of everything that changes the output (used to validate resumed parts)."""
        blob = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def chunk_plan(config: SynthConfig) -> list[tuple[int, int, str]]:
    """(start, count, split) of every chunk of one category: training images first, then test."""
    plan = []
    for split, begin, total in (("train", 0, config.train), ("test", config.train, config.test)):
        for start in range(begin, begin + total, config.chunk):
            plan.append((start, min(config.chunk, begin + total - start), split))
    return plan


def _part_path(root: Path, category: str, start: int, fingerprint: str) -> Path:
    return root / ANNOTATION_DIR / ".parts" / f"{category}-{fingerprint}-{start:07d}.npz"


def _rows_from_columns(cols: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    n = len(cols["image_id"])
    return [{k: (str(v[i]) if v.dtype.kind == "U" else v[i]) for k, v in cols.items()} for i in range(n)]


def generate_category(root: Path, category: str, config: SynthConfig, progress: Progress | None = None) -> int:
    """Generate (or resume) one category; returns the number of images written."""
    ctx = SceneContext.build(category, config)
    fingerprint = config.fingerprint()
    rows: list[dict[str, np.ndarray]] = []
    total = config.train + config.test
    for start, count, split in chunk_plan(config):
        part = _part_path(root, category, start, fingerprint)
        if part.is_file():
            chunk_rows = _rows_from_columns(load_columns(part))
        else:
            seed = np.random.SeedSequence([config.seed, _category_code(category), start])
            chunk_rows = make_rows(ctx, root, np.random.default_rng(seed), start, count, split)
            atomic_save_npz(part, stack_rows(chunk_rows))
        rows += chunk_rows
        if progress is not None:
            progress(category, len(rows), total)
    write_category(root, category, rows)
    return len(rows)


def _category_code(category: str) -> int:
    return int(hashlib.sha256(category.encode()).hexdigest()[:8], 16)


def _manifest(config: SynthConfig) -> dict:
    from hoirecon.objects import get_category_template

    categories = {}
    for name in config.categories:
        template = get_category_template(name)
        categories[name] = {
            "template": f"builtin:{name}",
            "num_object_keypoints": template.num_keypoints,
            "keypoint_names": list(template.keypoint_names),
            "annotations": f"{ANNOTATION_DIR}/{name}.npz",
            "num_images": {"train": config.train, "test": config.test},
        }
    return {
        "format_version": FORMAT_VERSION,
        "name": "hoirecon-synthetic",
        "body_model": {"name": config.body_model or "embedded", "gender": "neutral"},
        "categories": categories,
        "generator": {"config": json.loads(json.dumps(asdict(config), default=list)), "fingerprint": config.fingerprint()},
        "units": {"length": "metres", "image": "pixels"},
        "camera_convention": "opencv: x right, y down, z forward",
    }


def generate(out: str | Path, config: SynthConfig = SynthConfig(), progress: Progress | None = None) -> Path:
    """Write a synthetic dataset folder at ``out`` (resuming finished chunks); returns the folder."""
    from hoirecon.objects import CATEGORIES

    unknown = [c for c in config.categories if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown categories {unknown}; built-ins are {', '.join(CATEGORIES)}")
    if config.train < 0 or config.test < 0 or config.train + config.test == 0:
        raise ValueError(f"need a positive number of images, got train={config.train}, test={config.test}")
    root = Path(out)
    counts = {}
    for category in config.categories:
        counts[category] = generate_category(root, category, config, progress)
        log.info("%s: %d images", category, counts[category])
    atomic_write_json(root / "dataset.json", _manifest(config))
    return root
