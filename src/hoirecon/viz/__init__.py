"""hoirecon.viz."""
