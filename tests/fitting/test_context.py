"""The fit context: attaching the PHOSA terms returns a new context with the same shared parts,
and leaves a context whose preset has no PHOSA terms unchanged."""

from __future__ import annotations

from hoirecon.body import load_body_model
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.phosa import attach_phosa
from hoirecon.objects import get_category_template


def test_phosa_terms_attach_to_a_copy_only_for_the_phosa_preset() -> None:
    ctx = FitContext("basketball", get_category_template("basketball"), load_body_model(), get_preset("phosa"))
    phosa = attach_phosa(ctx)
    assert ctx.extra_terms is None and callable(phosa.extra_terms)
    assert phosa.template is ctx.template and phosa.body is ctx.body and phosa.config == ctx.config
    plain = FitContext("basketball", ctx.template, ctx.body, get_preset("none"))
    assert attach_phosa(plain) is plain
