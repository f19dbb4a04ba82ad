"""hoirecon.prior."""
