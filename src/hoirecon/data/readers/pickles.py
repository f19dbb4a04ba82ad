"""Loading the pickles estimators write (plain pickle, joblib, numpy ``.npz`` object arrays)
without running code from them.

Every global goes through the allow-list of :mod:`hoirecon.body.legacy_pickle` (numpy
arrays, plain containers), so a foreign class is refused instead of imported.

joblib (``joblib.dump``, used by PARE and by PHALP / 4D-Humans tracking) writes a pickle
stream in which each array is replaced by a ``joblib.numpy_pickle.NumpyArrayWrapper`` whose
state holds ``shape``, ``order``, ``dtype`` and ``numpy_array_alignment_bytes``; right after
that object's BUILD opcode the raw stream carries one byte giving a padding length, the
padding, and then the array's bytes (an object array is instead a complete nested pickle).
With ``compress`` the whole stream is zlib, gzip, bz2 or lzma compressed. ``joblib.load``
would execute arbitrary code and joblib is not a dependency, hence this reader.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.body.legacy_pickle import LegacyUnpickler
from hoirecon.data.readers.common import SampleError

_DECOMPRESSORS: tuple[tuple[bytes, Callable[[bytes], bytes]], ...] = (
    (b"\x78", zlib.decompress), (b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress),
    (b"\xfd7zXZ", lzma.decompress), (b"]\x00\x00", lzma.decompress),
)
"""Magic prefix -> decompressor of the compressed streams joblib writes."""


class _ArrayWrapper:
    """Stand-in for joblib's ``NumpyArrayWrapper``: only records its pickled state."""

    def __setstate__(self, state: dict) -> None:
        self.state = state


class _SafeUnpickler(pickle._Unpickler):  # the pure-Python unpickler lets BUILD be extended
    """Allow-list unpickler that also reads the arrays joblib writes inline."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, stream: io.BytesIO) -> None:
        super().__init__(stream, encoding="latin1")
        self.stream = stream
        self.resolver = LegacyUnpickler(io.BytesIO())

    def find_class(self, module: str, name: str) -> Any:
        """joblib's array wrapper becomes a stand-in; anything else goes through the allow-list."""
        if module.startswith("joblib.") and name == "NumpyArrayWrapper":
            return _ArrayWrapper
        return self.resolver.find_class(module, name)

    def load_build(self) -> None:
        """BUILD, then replace a completed array wrapper by the array that follows it."""
        pickle._Unpickler.load_build(self)
        if isinstance(self.stack[-1], _ArrayWrapper):
            self.stack.append(self._read_array(self.stack.pop().state))

    dispatch[pickle.BUILD[0]] = load_build

    def _read_array(self, state: dict) -> np.ndarray:
        """The array described by a wrapper's ``state``, read from the raw stream."""
        dtype, shape = np.dtype(state["dtype"]), tuple(int(n) for n in state["shape"])
        if dtype.hasobject:
            return _SafeUnpickler(self.stream).load()
        if state.get("numpy_array_alignment_bytes") is not None:
            self.read(self.read(1)[0])
        size = int(np.prod(shape)) * dtype.itemsize
        data = self.read(size)
        if len(data) != size:
            raise pickle.UnpicklingError("array data ends early")
        flat = np.frombuffer(data, dtype=dtype).copy()
        return flat.reshape(shape[::-1]).T if state.get("order") == "F" else flat.reshape(shape)


def _decompressed(raw: bytes) -> bytes:
    """``raw`` decompressed when it starts with the magic number of a known compressor."""
    for prefix, decompress in _DECOMPRESSORS:
        if raw.startswith(prefix):
            return decompress(raw)
    return raw


def load_safe_pickle(path: Path) -> Any:
    """Unpickle a plain or joblib pickle (optionally compressed) through the allow-list.

    Raises :class:`~hoirecon.data.readers.common.SampleError` naming ``path`` when the file
    is missing, damaged, or holds a class outside the allow-list.
    """
    try:
        return _SafeUnpickler(io.BytesIO(_decompressed(Path(path).read_bytes()))).load()
    except FileNotFoundError as err:
        raise SampleError(path, "file not found") from err
    except Exception as err:  # a damaged or foreign pickle can raise almost anything
        raise SampleError(path, f"unreadable pickle ({type(err).__name__}: {err})") from err


def _npz_member(stream: io.BytesIO) -> Any:
    """One ``.npy`` member: plain arrays by numpy, object arrays through the allow-list."""
    version = np.lib.format.read_magic(stream)
    header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
              else np.lib.format.read_array_header_2_0)(stream)
    if not header[2].hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    value = _SafeUnpickler(stream).load()
    return value[()] if isinstance(value, np.ndarray) and value.shape == () else value


def load_safe_npz(path: Path) -> dict[str, Any]:
    """The members of an ``.npz`` file; object arrays (``np.savez(..., results=dict)``, as ROMP
    writes) are unpickled through the allow-list and 0-d ones unwrapped to their object.

    Raises :class:`~hoirecon.data.readers.common.SampleError` naming ``path`` on any failure.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return {name.removesuffix(".npy"): _npz_member(io.BytesIO(archive.read(name)))
                    for name in archive.namelist()}
    except FileNotFoundError as err:
        raise SampleError(path, "file not found") from err
    except Exception as err:  # a damaged archive or member can raise almost anything
        raise SampleError(path, f"unreadable .npz ({type(err).__name__}: {err})") from err
