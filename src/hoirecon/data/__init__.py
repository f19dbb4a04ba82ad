"""hoirecon.data."""
