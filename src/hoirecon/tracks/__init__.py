"""Benchmark tracks run end to end on dataset trees in their official layouts (BEHAVE / RHOBIN)."""
