"""The blinding key of a human study: which method each pair shows on the left, sealed.

The study page must not tell a participant which side shows which method, yet the answers it
downloads must be scorable. So the page carries the side assignment sealed with a secret that
only the experimenter keeps (the key file written next to the page, never handed out): bit ``i``
(1 = the left picture shows the second method) is XORed with a pad bit taken from
``HMAC-SHA256(secret, "<study id>/<i>")``, a one-time pad, so the sealed string says nothing
about the sides without the secret. The page copies the sealed string and its tag (an HMAC of
the study id, the pair count and the sealed string) into every answers file; scoring checks the
tag, which ties the answers to this key, and unseals the sides. Standard-library ``hmac`` and
``secrets`` are all it needs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hoirecon.io.atomic import atomic_write_json
from hoirecon.io.errors import FileFormatError

KEY_FORMAT = "hoirecon-study-key"
"""The ``format`` field of a key file."""


@dataclass(frozen=True)
class StudyKey:
    """What scoring needs and participants must not see."""

    study_id: str
    """Random id shared by the page, its answers files and this key."""
    secret: str
    """Hex secret that seals the side assignment."""
    methods: tuple[str, str]
    """Labels of the two methods (the first is ``A``, the second ``B``)."""
    fits: tuple[str, str]
    """The fits folders the pictures were made from."""
    image_ids: tuple[str, ...]
    """Image of each pair, in page order."""
    sealed: str
    """The sealed sides, one ``0``/``1`` per pair (as on the page)."""

    @property
    def tag(self) -> str:
        """HMAC tag binding the study id, the pair count and the sealed sides to the secret."""
        return seal_tag(self.secret, self.study_id, self.sealed)

    def left_methods(self) -> list[int]:
        """Index (0 or 1) of the method shown on the left in each pair."""
        return unseal(self.secret, self.study_id, self.sealed)


def _pad_bit(secret: str, study_id: str, index: int) -> int:
    digest = hmac.new(bytes.fromhex(secret), f"{study_id}/{index}".encode(), hashlib.sha256).digest()
    return digest[0] & 1


def seal(secret: str, study_id: str, left_methods: list[int]) -> str:
    """The sealed string of a side assignment: one ``0``/``1`` character per pair."""
    if any(m not in (0, 1) for m in left_methods):
        raise ValueError(f"left_methods: expected 0 or 1 per pair, got {left_methods}")
    return "".join(str(m ^ _pad_bit(secret, study_id, i)) for i, m in enumerate(left_methods))


def unseal(secret: str, study_id: str, sealed: str) -> list[int]:
    """The side assignment (0/1 per pair) of a sealed string."""
    if any(c not in "01" for c in sealed):
        raise ValueError(f"sealed: expected a string of 0 and 1, got {sealed[:40]!r}")
    return [int(c) ^ _pad_bit(secret, study_id, i) for i, c in enumerate(sealed)]


def seal_tag(secret: str, study_id: str, sealed: str) -> str:
    """Hex HMAC of the study id, the pair count and the sealed string (32 characters)."""
    message = f"{study_id}/{len(sealed)}/{sealed}".encode()
    return hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()[:32]


def new_key(methods: tuple[str, str], fits: tuple[str, str], image_ids: list[str], left_methods: list[int]
            ) -> StudyKey:
    """A key with a fresh random study id and secret for the given pairs and sides."""
    if len(image_ids) != len(left_methods):
        raise ValueError(f"image_ids ({len(image_ids)}) and left_methods ({len(left_methods)}) differ in length")
    study_id, secret = secrets.token_hex(8), secrets.token_hex(16)
    return StudyKey(study_id, secret, methods, fits, tuple(image_ids), seal(secret, study_id, left_methods))


def save_key(path: str | Path, key: StudyKey) -> Path:
    """Write the key file atomically."""
    return atomic_write_json(path, {"format": KEY_FORMAT, **asdict(key)})


def _field(data: dict[str, Any], name: str, kind: type, path: Path) -> Any:
    if name not in data:
        raise FileFormatError(f"{path}: missing key {name!r}")
    if not isinstance(data[name], kind):
        raise FileFormatError(f"{path}: {name!r} should be a {kind.__name__}, got {type(data[name]).__name__}")
    return data[name]


def read_study_json(path: Path, format_name: str, what: str) -> dict[str, Any]:
    """A study JSON document whose 'format' is ``format_name``; :class:`FileFormatError` naming the
    file when it is unreadable or not a ``what`` file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(f"{path}: not a readable JSON file ({err})") from err
    if not isinstance(data, dict) or data.get("format") != format_name:
        raise FileFormatError(f"{path}: not a {what} file (expected format {format_name!r})")
    return data


def load_key(path: str | Path) -> StudyKey:
    """Read a key file; :class:`FileFormatError` naming the file and key when it is not one."""
    path = Path(path)
    data = read_study_json(path, KEY_FORMAT, "study key")
    methods, fits = _field(data, "methods", list, path), _field(data, "fits", list, path)
    image_ids, sealed = _field(data, "image_ids", list, path), _field(data, "sealed", str, path)
    secret = _field(data, "secret", str, path)
    if len(methods) != 2 or len(fits) != 2:
        raise FileFormatError(f"{path}: 'methods' and 'fits' should name two methods")
    if len(image_ids) != len(sealed) or any(c not in "01" for c in sealed):
        raise FileFormatError(f"{path}: 'sealed' should hold one 0/1 per pair ({len(image_ids)} pairs)")
    try:
        bytes.fromhex(secret)
    except ValueError as err:
        raise FileFormatError(f"{path}: 'secret' is not hexadecimal") from err
    return StudyKey(_field(data, "study_id", str, path), secret, (str(methods[0]), str(methods[1])),
                    (str(fits[0]), str(fits[1])), tuple(str(i) for i in image_ids), sealed)
