"""Model files: chumpy-free pickles, npz variants, and clear errors on bad files."""

from __future__ import annotations

import pickle
import struct
import sys
import types
import weakref
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch

from hoirecon.body import BodyModel, load_body_model, read_model_file

# --- a stand-in for the chumpy package, pickling exactly like chumpy does ------------

def _chumpy_dict(**terms: object) -> dict:
    """The instance dict a chumpy object carries (private bookkeeping plus its terms)."""
    return {"_dirty_vars": set(), "_itr": None, "_depends_on_deps": {},
            "_make_dense": False, "_make_sparse": False,
            "_parents": weakref.WeakKeyDictionary(),
            "_cache": {"r": None, "drs": weakref.WeakKeyDictionary()}, **terms}


class _FakeCh:
    """Pickles like chumpy.ch.Ch: NEWOBJ of the class, state = __dict__ minus caches."""

    def __init__(self, **terms: object) -> None:
        self.__dict__.update(_chumpy_dict(**terms))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_parents"], state["_cache"]
        return state


def _fake_chumpy_modules() -> dict[str, types.ModuleType]:
    """Modules chumpy, chumpy.ch and chumpy.reordering with classes named like chumpy's."""
    modules = {name: types.ModuleType(name)
               for name in ("chumpy", "chumpy.ch", "chumpy.reordering")}
    for module, name in (("chumpy.ch", "Ch"), ("chumpy.reordering", "Select"),
                         ("chumpy.reordering", "Reshape"),
                         ("chumpy.reordering", "Concatenate")):
        cls = type(name, (_FakeCh,), {"__module__": module, "__qualname__": name})
        setattr(modules[module], name, cls)
    return modules


def _chumpy_model(arrays: dict, mods: dict) -> dict:
    """The model dict as the official SMPL pickles hold it: chumpy arrays, sparse J_regressor."""
    ch, reo = mods["chumpy.ch"], mods["chumpy.reordering"]
    posedirs, v_template = arrays["posedirs"], arrays["v_template"]
    half = len(arrays["weights"]) // 2
    return {
        "shapedirs": ch.Ch(x=arrays["shapedirs"]),
        "posedirs": reo.Select(a=ch.Ch(x=posedirs.ravel()), idxs=np.arange(posedirs.size),
                               preferred_shape=posedirs.shape),
        "v_template": reo.Reshape(a=ch.Ch(x=v_template.ravel()), newshape=v_template.shape),
        "weights": reo.Concatenate(m0=ch.Ch(x=arrays["weights"][:half]),
                                   m1=ch.Ch(x=arrays["weights"][half:]),
                                   dterms=["m0", "m1"], axis=0),
        "J_regressor": scipy.sparse.csc_matrix(arrays["J_regressor"]),
        "J": arrays["J_regressor"] @ v_template,
        "kintree_table": arrays["kintree_table"], "f": arrays["f"],
        "bs_style": "lbs", "bs_type": "lrotmin",
    }


@pytest.mark.parametrize("protocol", [0, 2])
def test_chumpy_pickle_loads_without_chumpy(tmp_path, make_arrays, monkeypatch,
                                            protocol) -> None:
    size = {"n_verts": 200, "n_faces": 100} if protocol == 0 else {}
    arrays = make_arrays("smpl", seed=11, **size)
    np.savez(tmp_path / "model.npz", **arrays)
    mods = _fake_chumpy_modules()
    for name, module in mods.items():
        monkeypatch.setitem(sys.modules, name, module)
    with open(tmp_path / "model.pkl", "wb") as handle:
        pickle.dump(_chumpy_model(arrays, mods), handle, protocol=protocol)
    monkeypatch.undo()
    assert not any(name.split(".")[0] == "chumpy" for name in sys.modules)
    from_pkl = read_model_file(tmp_path / "model.pkl")
    from_npz = read_model_file(tmp_path / "model.npz")
    assert from_pkl.keys() == from_npz.keys()
    for key in from_npz:
        assert np.array_equal(from_pkl[key], from_npz[key]), key


def _py2_string(data: bytes) -> bytes:
    """A Python 2 ``str`` as pickle protocol 2 writes it (SHORT_BINSTRING / BINSTRING)."""
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<i", len(data)) + data


def _py2_array(array: np.ndarray) -> bytes:
    """A float64 numpy array pickled by Python 2 with numpy 1.x (raw bytes as a str)."""
    shape = b"(" + b"".join(b"J" + struct.pack("<i", n) for n in array.shape) + b"t"
    dtype = (b"cnumpy\ndtype\n" + _py2_string(b"f8") + b"K\x00K\x01\x87R(K\x03"
             + _py2_string(b"<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85"
            + _py2_string(b"b") + b"\x87R(K\x01" + shape + dtype + b"\x89"
            + _py2_string(array.astype("<f8").tobytes()) + b"tb")


def test_python2_pickle_with_chumpy_array(tmp_path, tiny_arrays) -> None:
    """Byte layout of an official file: py2 strings holding array bytes, chumpy Ch."""
    body = b"\x80\x02}("
    for key, value in tiny_arrays.items():
        array = _py2_array(np.asarray(value, dtype=np.float64))
        if key == "shapedirs":  # Ch via NEWOBJ, then its __dict__ as BUILD state
            array = (b"cchumpy.ch\nCh\n)\x81}(" + _py2_string(b"x") + array
                     + _py2_string(b"_itr") + b"Nub")
        body += _py2_string(key.encode()) + array
    (tmp_path / "py2.pkl").write_bytes(body + b"u.")
    loaded = read_model_file(tmp_path / "py2.pkl")
    expected = read_model_file(_save(tmp_path, "same", tiny_arrays))
    for key, value in expected.items():
        assert np.array_equal(loaded[key], value), key


def test_sparse_regressor_inside_npz(tmp_path, tiny_arrays) -> None:
    sparse = scipy.sparse.csc_matrix(tiny_arrays["J_regressor"])
    np.savez(tmp_path / "sparse.npz", **dict(tiny_arrays, J_regressor=sparse))
    loaded = read_model_file(tmp_path / "sparse.npz")
    assert np.array_equal(loaded["J_regressor"], tiny_arrays["J_regressor"])


def test_flat_posedirs_and_missing_posedirs(tmp_path, tiny_arrays) -> None:
    posedirs = tiny_arrays["posedirs"]
    flat = dict(tiny_arrays, posedirs=posedirs.reshape(-1, posedirs.shape[-1]))
    assert np.array_equal(read_model_file(_save(tmp_path, "flat", flat))["posedirs"], posedirs)
    without = {k: v for k, v in tiny_arrays.items() if k != "posedirs"}
    model = load_body_model(_save(tmp_path, "noposedirs", without), dtype=torch.float64)
    assert model.posedirs is None
    zero = BodyModel(dict(tiny_arrays, posedirs=np.zeros_like(posedirs)), dtype=torch.float64)
    pose = 0.4 * torch.randn(2, 69, generator=torch.Generator().manual_seed(0),
                             dtype=torch.float64)
    assert torch.allclose(model(body_pose=pose).vertices, zero(body_pose=pose).vertices,
                          atol=1e-12)


def _save(folder: Path, name: str, arrays: dict) -> Path:
    path = folder / f"{name}.npz"
    np.savez(path, **arrays)
    return path


# --- malformed files ----------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".pkl", ".npz"])
def test_truncated_file_names_the_file(tmp_path, model_files, suffix) -> None:
    source = model_files["smpl_pkl" if suffix == ".pkl" else "smpl"]
    data = source.read_bytes()
    broken = tmp_path / f"broken{suffix}"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt") as info:
        read_model_file(broken)
    assert str(broken) in str(info.value)


@pytest.mark.parametrize("missing", ["v_template", "weights", "J_regressor", "f"])
def test_missing_key_is_named(tmp_path, tiny_arrays, missing) -> None:
    path = _save(tmp_path, "partial", {k: v for k, v in tiny_arrays.items() if k != missing})
    with pytest.raises(ValueError, match=f"missing key '{missing}'") as info:
        read_model_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("key", "bad", "expected"), [
    ("shapedirs", lambda a: a[:, :2], "expected (60, 3, *)"),
    ("posedirs", lambda a: a[..., :200], "expected (60, 3, 207)"),
    ("J_regressor", lambda a: a[:, :-1], "expected (24, 60)"),
    ("weights", lambda a: a[:-1], "expected (60, *)"),
    ("kintree_table", lambda a: a[:1], "expected (2, 24)"),
    ("f", lambda a: a[:, :2], "expected (*, 3)"),
])
def test_wrong_shape_names_key_expected_and_got(tmp_path, tiny_arrays, key, bad,
                                                expected) -> None:
    arrays = dict(tiny_arrays, **{key: bad(tiny_arrays[key])})
    path = _save(tmp_path, "badshape", arrays)
    with pytest.raises(ValueError) as info:
        read_model_file(path)
    message = str(info.value)
    assert str(path) in message and f"'{key}'" in message and expected in message
    assert str(tuple(arrays[key].shape)) in message


def test_bad_values_are_reported(tmp_path, tiny_arrays) -> None:
    faces = tiny_arrays["f"].astype(np.int64)
    faces[0, 0] = 60
    with pytest.raises(ValueError, match="'f' must hold vertex indices"):
        read_model_file(_save(tmp_path, "faces", dict(tiny_arrays, f=faces)))
    table = tiny_arrays["kintree_table"].copy()
    table[0, 3] = 5
    with pytest.raises(ValueError, match="joint 3 the parent 5"):
        read_model_file(_save(tmp_path, "tree", dict(tiny_arrays, kintree_table=table)))
    weights = tiny_arrays["weights"].copy()
    weights[0, 0] = np.nan
    with pytest.raises(ValueError, match="'weights' contains NaN"):
        read_model_file(_save(tmp_path, "nan", dict(tiny_arrays, weights=weights)))


def test_unsafe_or_foreign_pickles_are_refused(tmp_path) -> None:
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"\x80\x02cos\nsystem\nU\x04trueR.")
    with pytest.raises(ValueError, match="refusing to load global os.system"):
        read_model_file(evil)
    listed = tmp_path / "list.pkl"
    listed.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match="expected a pickled dict"):
        read_model_file(listed)


def test_missing_file_and_unknown_type(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        read_model_file(tmp_path / "nope.pkl")
    other = tmp_path / "model.obj"
    other.write_text("v 0 0 0\n")
    with pytest.raises(ValueError, match="unsupported body model file type '.obj'"):
        read_model_file(other)
