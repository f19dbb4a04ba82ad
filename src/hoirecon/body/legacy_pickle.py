"""Read SMPL-family ``.pkl`` model files without chumpy.

The official SMPL/SMPL-H pickles were written by Python 2 and hold some arrays as
chumpy objects. Pickling a chumpy ``Ch`` stores its class by name and, as state, a copy
of its ``__dict__`` without the weak-reference caches: a plain ``Ch`` keeps its array
under ``"x"``; the reordering classes keep their input under ``"a"`` plus their own terms
(``Select``: ``idxs`` and ``preferred_shape``; ``Reshape``: ``newshape``; ``transpose``:
``axes``; ``Concatenate``: the names listed in ``dterms`` and ``axis``). The unpickler
below resolves every ``chumpy.*`` class to a stand-in that only records that state, and
the stand-in is then evaluated to a numpy array. No chumpy library exists for current
Python, so this is written here; everything else resolves to numpy and scipy.sparse
only, through an allow-list, since a pickle can otherwise run arbitrary code.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse

_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_ALLOWED_GLOBALS = {
    "builtins": {"object", "set", "frozenset", "slice", "complex", "list", "dict", "tuple",
                 "bytearray", "bytes", "int", "float", "str", "bool"},
    "copyreg": {"_reconstructor"},
    "_codecs": {"encode"},
    "collections": {"OrderedDict"},
    "numpy": {"ndarray", "dtype"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core._multiarray_umath": {"_reconstruct", "scalar"},
    "numpy._core._multiarray_umath": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
}
_SPARSE_CLASSES = {f"{fmt}_{kind}" for fmt in ("csc", "csr", "coo", "lil", "dok", "dia", "bsr")
                   for kind in ("matrix", "array")}


class ChumpyStandIn:
    """Record of a pickled chumpy object: its class name and its pickled state."""

    chumpy_class = "Ch"

    def __setstate__(self, state: Any) -> None:
        """Keep the pickled ``__dict__`` of the chumpy object as-is."""
        self.state = state if isinstance(state, dict) else {"x": state}

    def to_array(self) -> np.ndarray:
        """Evaluate the recorded chumpy expression to a numpy array."""
        handler = _EVALUATORS.get(self.chumpy_class)
        state = getattr(self, "state", {})
        if handler is None and "x" in state and "a" not in state:
            handler = _EVALUATORS["Ch"]
        if handler is None:
            raise ValueError(f"unsupported chumpy class {self.chumpy_class!r}")
        return handler(state)


def chumpy_to_array(value: Any) -> Any:
    """Return `value` as a numpy array if it is a chumpy stand-in, else unchanged."""
    return value.to_array() if isinstance(value, ChumpyStandIn) else value


def _term(state: dict, name: str) -> np.ndarray:
    """The array behind term `name` of a chumpy object's state."""
    if name not in state:
        raise ValueError(f"chumpy object state has no term {name!r}")
    return np.asarray(chumpy_to_array(state[name]))


def _eval_select(state: dict) -> np.ndarray:
    out = _term(state, "a").ravel()[np.asarray(state["idxs"]).ravel()]
    shape = state.get("preferred_shape")
    return out.reshape(shape) if shape is not None else out


def _eval_concatenate(state: dict) -> np.ndarray:
    names = state.get("dterms") or sorted(
        (k for k in state if k[:1] == "m" and k[1:].isdigit()), key=lambda k: int(k[1:]))
    return np.concatenate([_term(state, n) for n in names], axis=state.get("axis", 0))


_EVALUATORS = {
    "Ch": lambda s: _term(s, "x"),
    "Select": _eval_select,
    "Reshape": lambda s: _term(s, "a").reshape(s["newshape"]),
    "transpose": lambda s: np.transpose(_term(s, "a"), s.get("axes")),
    "Concatenate": _eval_concatenate,
}


@functools.cache
def _stand_in_class(module: str, name: str) -> type:
    """A distinct stand-in subclass per chumpy class, named like it."""
    return type(name, (ChumpyStandIn,), {"chumpy_class": name, "__module__": module})


class LegacyUnpickler(pickle.Unpickler):
    """Unpickler for Python 2 model pickles: chumpy classes become stand-ins, numpy and
    scipy.sparse load normally, and any other global is refused."""

    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file, encoding="latin1")

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a pickled global through the allow-list (see the module docstring)."""
        module = _PY2_MODULES.get(module, module)
        if module == "chumpy" or module.startswith("chumpy."):
            return _stand_in_class(module, name)
        if module.startswith("scipy.sparse") and name in _SPARSE_CLASSES:
            return getattr(scipy.sparse, name)
        if name in _ALLOWED_GLOBALS.get(module, ()):
            if module.startswith("numpy.core.") and hasattr(np, "_core"):
                module = "numpy._core." + module.split(".", 2)[2]
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def load_legacy_pickle(path: str | Path) -> Any:
    """Unpickle `path` with `LegacyUnpickler` (latin1 strings, chumpy stand-ins)."""
    with open(path, "rb") as handle:
        return LegacyUnpickler(handle).load()
