"""The compute device every heavy stage runs on: ``auto`` | ``cpu`` | ``cuda``, from options or ``HOIRECON_DEVICE``."""
