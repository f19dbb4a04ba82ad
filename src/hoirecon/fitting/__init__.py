"""hoirecon.fitting."""
