"""The synthetic in-the-wild generator: sampled interactions seen by random cameras.

By default every image shows its own interaction from one camera; with ``views_per_instance`` /
``frames_per_clip`` each interaction instance is filmed by several cameras, each a short clip
(:mod:`hoirecon.data.synthetic.multiview`).

Work is cut into chunks whose rows are saved as soon as they are finished
(``annotations/.parts/``), so an interrupted run resumes where it stopped; the category file
and the manifest are written atomically at the end. Every chunk has its own seed derived from
(seed, category, chunk), so output is deterministic and independent of resumption.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import numpy as np

from hoirecon.data.dataset import stack_rows, write_category_columns
from hoirecon.data.format import ANNOTATION_DIR, FORMAT_VERSION, MANIFEST_NAME
from hoirecon.data.synthetic.config import SynthConfig
from hoirecon.data.synthetic.multiview import make_clip_rows
from hoirecon.data.synthetic.scene import SceneContext, make_rows
from hoirecon.io.arrays import load_columns
from hoirecon.io.atomic import atomic_save_npz, atomic_write_json
from hoirecon.io.errors import FileFormatError
from hoirecon.objects import CATEGORIES, get_category_template

__all__ = ["SynthConfig", "chunk_plan", "generate", "generate_category"]
log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
"""Callback (category, images done, images total)."""


def chunk_plan(config: SynthConfig) -> list[tuple[int, int, str]]:
    """(start, count, split) of every chunk of one category: training images first, then test.

    A chunk holds whole interaction instances (all views and frames of each), so ``config.chunk``
    is rounded down to a multiple of ``images_per_instance`` (at least one instance).
    """
    group = config.images_per_instance
    size = max(1, config.chunk // group) * group
    plan = []
    for split, begin, total in (("train", 0, config.train), ("test", config.train, config.test)):
        for start in range(begin, begin + total, size):
            plan.append((start, min(size, begin + total - start), split))
    return plan


def _part_path(root: Path, category: str, start: int, fingerprint: str) -> Path:
    return root / ANNOTATION_DIR / ".parts" / f"{category}-{fingerprint}-{start:07d}.npz"


_WORKER_CONTEXT: dict[str, SceneContext] = {}


def _make_part(root: Path, category: str, config: SynthConfig, start: int, count: int, split: str) -> Path:
    """Synthesise one chunk and save its rows (runs in a worker process or in-process)."""
    key = f"{category}-{config.fingerprint()}"
    if key not in _WORKER_CONTEXT:
        _WORKER_CONTEXT.clear()
        _WORKER_CONTEXT[key] = SceneContext.build(category, config)
    seed = np.random.SeedSequence([config.seed, _category_code(category), start])
    make = make_clip_rows if config.is_multiview else make_rows
    rows = make(_WORKER_CONTEXT[key], root, np.random.default_rng(seed), start, count, split)
    part = _part_path(root, category, start, config.fingerprint())
    atomic_save_npz(part, stack_rows(rows))
    return part


def _single_thread() -> None:
    """Worker processes share the cores: one torch thread each avoids oversubscription."""
    import torch

    torch.set_num_threads(1)


def _missing_parts(root: Path, category: str, config: SynthConfig) -> list[tuple[int, int, str]]:
    return [c for c in chunk_plan(config) if not _part_path(root, category, c[0], config.fingerprint()).is_file()]


def generate_category(root: Path, category: str, config: SynthConfig, progress: Progress | None = None) -> int:
    """Generate (or resume) one category with ``config.workers`` processes; returns the image count."""
    total = config.train + config.test
    todo = _missing_parts(root, category, config)
    done = total - sum(c[1] for c in todo)
    if progress is not None:
        progress(category, done, total)
    if config.workers > 1 and len(todo) > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=config.workers, mp_context=ctx, initializer=_single_thread) as pool:
            futures = {pool.submit(_make_part, root, category, config, *c): c for c in todo}
            for future in as_completed(futures):
                future.result()
                done += futures[future][1]
                if progress is not None:
                    progress(category, done, total)
    else:
        for chunk in todo:
            _make_part(root, category, config, *chunk)
            done += chunk[1]
            if progress is not None:
                progress(category, done, total)
    parts = [_load_part(root, category, config, chunk) for chunk in chunk_plan(config)]
    write_category_columns(root, category, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    return sum(len(p["image_id"]) for p in parts)


def _load_part(root: Path, category: str, config: SynthConfig, chunk: tuple[int, int, str]) -> dict[str, np.ndarray]:
    """A finished chunk's rows; a part file that is unreadable or short is made again (with a warning)."""
    path = _part_path(root, category, chunk[0], config.fingerprint())
    try:
        cols = load_columns(path)
        if len(cols.get("image_id", ())) != chunk[1]:
            raise FileFormatError(f"{path}: {len(cols.get('image_id', ()))} rows, expected {chunk[1]}")
        return cols
    except FileFormatError as err:
        log.warning("%s; making the chunk again", err)
        return load_columns(_make_part(root, category, config, *chunk))


def _settings_changed(old: object, new: dict, prefix: str = "") -> list[str]:
    """``name: old -> new`` for every setting that differs between two config dicts."""
    if not isinstance(old, dict):
        return [f"{prefix or 'config'}: {old!r} -> {new!r}"]
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += _settings_changed(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes


def check_existing(root: Path, config: SynthConfig, force: bool = False) -> None:
    """Refuse to write into a folder holding another dataset (a file, another configuration, or a
    manifest the generator did not write) unless ``force``; the same configuration resumes."""
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root}: exists and is not a folder (--out must be a folder)")
    manifest = root / MANIFEST_NAME
    if not manifest.is_file() or force:
        return
    try:
        generator = json.loads(manifest.read_text()).get("generator", {})
    except (OSError, ValueError, AttributeError) as err:
        raise ValueError(f"{manifest}: exists but is unreadable ({err}); choose another --out, "
                         "or --force to replace it") from err
    if not isinstance(generator, dict) or "fingerprint" not in generator:
        raise ValueError(f"{manifest}: {root} holds a dataset the generator did not write; choose another "
                         "--out, or --force to write over it")
    if generator["fingerprint"] != config.fingerprint():
        new = json.loads(json.dumps(asdict(config), default=list))
        changes = [c for c in _settings_changed(generator.get("config", {}), new) if not c.startswith("workers")]
        raise ValueError(f"{manifest}: {root} already holds a finished dataset made with other settings "
                         f"({'; '.join(changes[:4]) or 'observation model'}); choose another --out, or --force "
                         "to regenerate it in place")


def _category_code(category: str) -> int:
    return int(hashlib.sha256(category.encode()).hexdigest()[:8], 16)


def _manifest(config: SynthConfig) -> dict:
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
        "generator": {"config": json.loads(json.dumps(asdict(config), default=list)), "fingerprint": config.fingerprint(),
                      "observation": asdict(config.resolved_observation())},
        "units": {"length": "metres", "image": "pixels"},
        "camera_convention": "opencv: x right, y down, z forward",
    }


def generate(out: str | Path, config: SynthConfig = SynthConfig(), progress: Progress | None = None,
             force: bool = False) -> Path:
    """Write a synthetic dataset folder at ``out`` (resuming finished chunks); returns the folder.

    A folder that already holds a dataset of other settings is refused unless ``force``
    (:func:`check_existing`).
    """
    unknown = [c for c in config.categories if c not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown categories {unknown}; built-ins are {', '.join(CATEGORIES)}")
    if config.train < 0 or config.test < 0 or config.train + config.test == 0:
        raise ValueError(f"need a positive number of images, got train={config.train}, test={config.test}")
    config.check_instances()
    root = Path(out)
    check_existing(root, config, force)
    counts = {}
    for category in config.categories:
        counts[category] = generate_category(root, category, config, progress)
        log.info("%s: %d images", category, counts[category])
    atomic_write_json(root / "dataset.json", _manifest(config))
    return root
