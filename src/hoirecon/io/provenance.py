"""Where an output came from: content hashes of its inputs, and the check that two records agree.

Every output (fits and ``fit.json``, priors, occlusion maps, evaluation reports, RHOBIN
submissions) records the hash of the dataset annotations it was made from (the manifest plus
every annotation ``.npz``, byte for byte: :func:`dataset_hash`), the hash of the prior file and
of the configuration. A command that combines outputs compares those records with
:func:`check_agree` and refuses a mismatch with a message naming the two things that disagree;
``force`` turns the refusal into a note that the caller records next to the output.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HASH_LENGTH = 16
"""Hex digits kept of a SHA-256 (64 bits: collisions are not a practical concern here)."""
_CHUNK = 1 << 20


class ProvenanceError(ValueError):
    """Two outputs (or an output and an input) come from different data or settings."""


def _update_with_file(digest: Any, path: Path) -> None:
    """Feed ``path``'s size and bytes into ``digest`` (the size separates consecutive files)."""
    digest.update(f"{os.path.getsize(path)}:".encode())
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)


def file_hash(path: str | os.PathLike[str]) -> str:
    """Content hash of one file (``HASH_LENGTH`` hex digits)."""
    digest = hashlib.sha256()
    _update_with_file(digest, Path(path))
    return digest.hexdigest()[:HASH_LENGTH]


def files_hash(paths: Sequence[str | os.PathLike[str]]) -> str:
    """Content hash of several files, in the given order (``HASH_LENGTH`` hex digits)."""
    digest = hashlib.sha256()
    for path in paths:
        _update_with_file(digest, Path(path))
    return digest.hexdigest()[:HASH_LENGTH]


def dataset_hash(manifest: str | os.PathLike[str], annotations: Sequence[str | os.PathLike[str]]) -> str:
    """Hash of a dataset's annotations: the manifest bytes, then each annotation file's bytes.

    Images and masks are left out (hashing them would read the whole dataset); they are named
    by the annotations, so a dataset regenerated with another seed or size changes the hash.
    """
    return files_hash([manifest, *annotations])


def config_hash(config: Any) -> str:
    """Hash of a plain-data configuration (``dataclasses.asdict`` output, JSON-able)."""
    blob = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:HASH_LENGTH]


@dataclass(frozen=True)
class Source:
    """One side of a comparison: what a record says and where the record is."""

    value: str | None
    """The recorded hash (or name); None when the record says nothing."""
    where: str
    """Where it comes from, as a user reads it (``"fits/fit.json"``, ``"--data ds"``)."""


def check_agree(what: str, expected: Source, found: Source, force: bool = False) -> str | None:
    """None when both sources record the same ``what``; otherwise :class:`ProvenanceError` naming
    both (or, with ``force``, the same sentence returned as a note to record and logged).

    A source that records nothing is not a mismatch: the caller decides whether to flag it.
    """
    if expected.value is None or found.value is None or expected.value == found.value:
        return None
    message = (f"{what} disagree: {found.where} records {found.value}, "
               f"{expected.where} has {expected.value}")
    if not force:
        raise ProvenanceError(f"{message}; use matching inputs, or --force to go on anyway (recorded)")
    note = f"forced: {message}"
    log.warning("%s", note)
    return note
