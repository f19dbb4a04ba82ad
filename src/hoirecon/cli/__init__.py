"""hoirecon.cli."""
