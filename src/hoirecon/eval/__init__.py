"""Evaluation: metrics (:mod:`hoirecon.eval.metrics`) and surface sampling
(:mod:`hoirecon.eval.sampling`) for the BEHAVE/CHORE, WildHOI and RHOBIN protocols."""
