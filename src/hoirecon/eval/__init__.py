"""Evaluation: metrics (:mod:`hoirecon.eval.metrics`), surface sampling
(:mod:`hoirecon.eval.sampling`), the BEHAVE/CHORE, WildHOI and RHOBIN protocols
(:mod:`hoirecon.eval.protocols`) and reports (:mod:`hoirecon.eval.report`)."""
