"""The default priors shipped with the package: one small prior per built-in category.

They were trained on the embedded synthetic generator with its ``realistic`` evidence by
``tools/train_default_priors.py`` and carry that category's mean occlusion maps, so
``hoirecon reconstruct`` runs ``prior`` and ``prior+contact`` on one photo with no file to
download. ``defaults/manifest.json`` records what each was trained on (images, epochs, seed, sizes,
hashes); docs/default-priors.md says what to expect from them: a prior trained on one's own 2D
images is the paper's point and should do better.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from hoirecon.prior.prior import Prior, load_prior

DEFAULTS_FOLDER = Path(__file__).parent / "defaults"
"""Where the default prior files and their manifest live inside the package."""
MANIFEST_FILE = "manifest.json"
"""The manifest of the default priors, beside them."""


def default_prior_file(category: str) -> str:
    """File name of the default prior of ``category`` (``<category>.pt.gz``)."""
    return f"{category}.pt.gz"


@cache
def _manifest(folder: Path) -> dict:
    """The parsed manifest of ``folder`` ({} when there is none)."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def default_priors_manifest(folder: Path = DEFAULTS_FOLDER) -> dict:
    """What the shipped default priors were trained on (the manifest written by the script)."""
    return _manifest(folder)


def default_prior_path(category: str, folder: Path = DEFAULTS_FOLDER) -> Path | None:
    """The shipped default prior of a built-in ``category``, or None when there is none."""
    path = folder / default_prior_file(category)
    return path if path.is_file() else None


def default_prior_record(category: str, folder: Path = DEFAULTS_FOLDER) -> dict:
    """The manifest's entry of ``category``'s default prior plus what all of them share (the
    generator, the evidence preset, the training configuration); {} without one."""
    manifest = default_priors_manifest(folder)
    entry = manifest.get("categories", {}).get(category)
    if entry is None:
        return {}
    shared = {k: manifest[k] for k in ("trained_on", "data", "train", "seed", "script") if k in manifest}
    return {**shared, **entry}


def load_default_prior(category: str, folder: Path = DEFAULTS_FOLDER) -> Prior:
    """The shipped default prior of ``category``; ValueError naming the category when none ships."""
    path = default_prior_path(category, folder)
    if path is None:
        shipped = sorted(p.name.removesuffix(".pt.gz") for p in folder.glob("*.pt.gz"))
        raise ValueError(f"category {category!r}: no default prior ships with the package (shipped: "
                         f"{', '.join(shipped) or 'none'}); pass --prior FILE")
    return load_prior(path)
