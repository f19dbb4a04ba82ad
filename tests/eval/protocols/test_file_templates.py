"""Reference templates: the official evaluator's symmetry dicts are read like the other layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hoirecon.eval.protocols import EvalInputError
from hoirecon.eval.protocols.file_templates import TemplateLookup
from hoirecon.eval.protocols.submission import RhobinFile, Sequence

HALF_TURN_Z = np.diag([-1.0, -1.0, 1.0])


def _lookup(symmetries: list) -> TemplateLookup:
    verts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    faces = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])
    ref = RhobinFile(Path("ref.pkl"), {}, {"boxtiny": {"verts": verts, "faces": faces, "symmetries": symmetries}})
    return TemplateLookup(ref)


def _sequence() -> Sequence:
    return Sequence("Date03_Sub03_boxtiny_hand", [], "male", None, None, None, None, None, None, None, "boxtiny",
                    np.zeros(0, bool))


@pytest.mark.parametrize("layout", ["dict", "matrix", "pair"])
def test_every_symmetry_layout_gives_the_same_template(layout: str) -> None:
    t = np.array([0.0, 0.0, 0.1])
    item = {"dict": {"R": HALF_TURN_Z, "t": t.reshape(3, 1)}, "matrix": np.block([[HALF_TURN_Z, t[:, None]],
                                                                                   [np.zeros((1, 3)), np.ones((1, 1))]]),
            "pair": (HALF_TURN_Z, t)}[layout]
    identity = {"R": np.eye(3), "t": np.zeros((3, 1))}
    template = _lookup([identity, item]).get(_sequence())
    assert template.symmetries.rotation.shape == (2, 3, 3)
    np.testing.assert_allclose(template.symmetries.rotation[1], HALF_TURN_Z)
    np.testing.assert_allclose(template.symmetries.translation[1], t)


def test_a_malformed_symmetry_dict_is_named() -> None:
    with pytest.raises(EvalInputError, match=r"symmetries\[0\]"):
        _lookup([{"R": np.eye(3)}]).get(_sequence())
