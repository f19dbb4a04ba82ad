"""Content hashes of inputs and the check that two records agree."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hoirecon.io.provenance import (
    HASH_LENGTH,
    ProvenanceError,
    Source,
    check_agree,
    config_hash,
    dataset_hash,
    file_hash,
    files_hash,
)


def test_file_hash_is_the_sha256_of_the_size_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"hello")
    assert file_hash(tmp_path / "a") == hashlib.sha256(b"5:hello").hexdigest()[:HASH_LENGTH]


def test_files_hash_depends_on_every_byte_and_the_order_and_the_split(tmp_path: Path) -> None:
    for name, data in (("m", b"ab"), ("n", b"c"), ("o", b"a"), ("p", b"bc")):
        (tmp_path / name).write_bytes(data)
    both = files_hash([tmp_path / "m", tmp_path / "n"])
    assert both != files_hash([tmp_path / "n", tmp_path / "m"])
    assert both != files_hash([tmp_path / "o", tmp_path / "p"])  # same bytes "abc", cut elsewhere
    assert dataset_hash(tmp_path / "m", [tmp_path / "n"]) == both
    (tmp_path / "n").write_bytes(b"d")
    assert files_hash([tmp_path / "m", tmp_path / "n"]) != both


def test_config_hash_ignores_key_order() -> None:
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_check_agree_names_both_sides_or_records_a_forced_note() -> None:
    here, there = Source("abc", "--data ds"), Source("def", "fits/fit.json")
    assert check_agree("datasets", here, Source("abc", "fits/fit.json")) is None
    assert check_agree("datasets", here, Source(None, "fits/fit.json")) is None  # nothing recorded: the caller flags it
    with pytest.raises(ProvenanceError, match="datasets disagree: fits/fit.json records def, --data ds has abc"):
        check_agree("datasets", here, there)
    note = check_agree("datasets", here, there, force=True)
    assert note.startswith("forced: datasets disagree") and "--data ds" in note
