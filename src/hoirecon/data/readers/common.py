"""Shared pieces of the dataset readers: problems, file loading, field validation, the base reader.

A reader walks a dataset tree and yields one :class:`~hoirecon.data.readers.records.ReaderResult`
per image. Anything wrong with one frame or sequence (a truncated pickle, a missing key, a
missing calibration) becomes a :class:`ReaderProblem` naming the file and what is wrong; the
frame is logged and skipped and the walk goes on. Only a missing root, or a root without the
expected layout, raises (:class:`FileNotFoundError` / :class:`LayoutError`).
"""

from __future__ import annotations

import functools
import json
import logging
import pickle
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from hoirecon.data.sample import Sample

log = logging.getLogger(__name__)


class LayoutError(ValueError):
    """A dataset root exists but does not have the layout the reader expects."""


class SampleError(ValueError):
    """One file or frame cannot be read: ``path`` names the file, ``message`` what is wrong."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message


@dataclass(frozen=True)
class ReaderProblem:
    """One frame, sequence or file that was skipped (or read partially), and why."""

    path: str
    """The file (or folder) at fault."""
    message: str
    """What is wrong with it, and what the reader did about it."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def load_pickle(path: Path) -> Any:
    """Unpickle ``path``; any failure (missing, truncated, foreign) becomes a :class:`SampleError`.

    Pickles written by Python 2 (numpy arrays inside) are retried with ``latin1`` decoding.
    """
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except UnicodeDecodeError:
        pass
    except FileNotFoundError as err:
        raise SampleError(path, "file not found") from err
    except Exception as err:  # unpickling can raise almost anything on a damaged file
        raise SampleError(path, f"unreadable pickle ({type(err).__name__}: {err})") from err
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh, encoding="latin1")
    except Exception as err:
        raise SampleError(path, f"unreadable pickle ({type(err).__name__}: {err})") from err


def load_json(path: Path) -> Any:
    """Parse a JSON file; a missing or malformed file becomes a :class:`SampleError`."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as err:
        raise SampleError(path, "file not found") from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SampleError(path, f"not valid JSON ({err})") from err


@contextmanager
def parsing(path: Path | str) -> Iterator[None]:
    """Turn errors from interpreting the loaded contents of ``path`` (a list where a mapping was
    expected, a string where a number was) into a :class:`SampleError` naming the file."""
    try:
        yield
    except SampleError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
        raise SampleError(path, f"malformed content ({type(err).__name__}: {err})") from err


F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def guarded(locate: Callable[..., Path]) -> Callable[[F], F]:
    """Decorate a file parser so malformed content raises a :class:`SampleError` naming the
    file that ``locate(*args, **kwargs)`` returns (see :func:`parsing`)."""
    def decorate(parser: F) -> F:
        @functools.wraps(parser)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with parsing(locate(*args, **kwargs)):
                return parser(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def field(data: Any, key: str, path: Path) -> Any:
    """``data[key]`` from a loaded mapping, or a :class:`SampleError` naming file and key."""
    if not isinstance(data, Mapping):
        raise SampleError(path, f"expected a mapping with key {key!r}, got {type(data).__name__}")
    if key not in data:
        raise SampleError(path, f"missing key {key!r} (has {sorted(map(str, data))})")
    return data[key]


def as_array(value: Any, shape: tuple[int, ...], path: Path, key: str) -> np.ndarray:
    """``value`` as a finite float64 array reshaped to ``shape`` (sizes must match).

    Shapes: any array with ``prod(shape)`` elements ``-> shape``. Raises :class:`SampleError`
    naming the file and key when the size differs or values are not finite numbers.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise SampleError(path, f"key {key!r}: not a numeric array ({err})") from err
    if arr.size != int(np.prod(shape)):
        raise SampleError(path, f"key {key!r}: expected {int(np.prod(shape))} values {shape}, got shape {arr.shape}")
    arr = arr.reshape(shape)
    if not np.isfinite(arr).all():
        raise SampleError(path, f"key {key!r}: contains NaN or infinite values")
    return arr


def array_field(data: Any, key: str, shape: tuple[int, ...], path: Path) -> np.ndarray:
    """:func:`field` then :func:`as_array`: a validated float64 array of ``shape``."""
    return as_array(field(data, key, path), shape, path, key)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image, reading only its header; errors name the file."""
    try:
        with Image.open(path) as img:
            return int(img.size[0]), int(img.size[1])
    except (OSError, ValueError) as err:
        raise SampleError(path, f"unreadable image ({err})") from err


def first_existing(candidates: list[Path]) -> Path | None:
    """The first path of ``candidates`` that is a file, else None."""
    return next((p for p in candidates if p.is_file()), None)


def check_root(root: str | Path, what: str) -> Path:
    """``root`` as a Path; :class:`FileNotFoundError` naming it when it is not a folder."""
    path = Path(root)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: {what} root folder not found")
    return path


class DatasetReader:
    """Base of the readers: iterate for :class:`ReaderResult` s, read ``problems`` afterwards.

    Each iteration starts a fresh problem list, so ``problems`` always describes the last walk.
    """

    def __init__(self) -> None:
        self.problems: list[ReaderProblem] = []

    def __iter__(self) -> Iterator[Any]:
        self.problems = []
        yield from self._walk()

    def samples(self) -> Iterator[Sample]:
        """Only the typed samples of :meth:`__iter__`."""
        for result in self:
            yield result.sample

    def _walk(self) -> Iterator[Any]:
        raise NotImplementedError

    def report(self, path: Path | str, message: str) -> None:
        """Record (and log) one skipped or partially read item."""
        problem = ReaderProblem(str(path), message)
        log.warning("%s", problem)
        self.problems.append(problem)

    def report_error(self, err: SampleError, what: str) -> None:
        """Record a :class:`SampleError` (it names the file) that made the reader skip ``what``."""
        self.report(err.path, f"{err.message} (skipped {what})")


def read_optional_split(path: Path, split: str | None, read: Callable[[Path], T]) -> T | dict:
    """Read a split file with ``read``; a missing file is fine unless a split was asked for.

    A malformed split file is a layout error (the whole root is unusable), not a skipped sample.
    """
    if not path.is_file():
        if split is not None:
            raise LayoutError(f"{path}: split file not found (needed for split={split!r})")
        return {}
    try:
        return read(path)
    except SampleError as err:
        raise LayoutError(str(err)) from err
