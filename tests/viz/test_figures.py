import numpy as np
import pytest

from hoirecon.body import load_body_model
from hoirecon.objects import get_category_template
from hoirecon.viz.figures import orbit_view, reconstruction


def test_front_side_and_top_views_show_the_reconstruction() -> None:
    body, template = load_body_model(), get_category_template("basketball")
    rec = reconstruction(body, template, np.zeros(10), np.zeros(63), np.zeros(3), np.array([0, 0, 3.0]),
                         np.eye(3), np.array([0.0, 0.0, 0.4]), 1.0)
    np.testing.assert_allclose(rec.pelvis, body().joints[0, 0].numpy() + [0, 0, 3.0], atol=1e-5)
    for view in ("front", "side", "top"):
        image = orbit_view(rec, body.faces, template, view, 64)
        assert image.shape == (64, 64, 3) and (image != image[0, 0]).any(axis=-1).sum() > 100
    with pytest.raises(ValueError, match="view"):
        orbit_view(rec, body.faces, template, "back", 64)
