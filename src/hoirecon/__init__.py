"""hoirecon: monocular 3D human-object interaction reconstruction.

The package is laid out by pipeline stage: ``geometry`` (rotations, cameras, the 2.5D
representation), ``body`` (SMPL-family bodies), ``objects`` (rigid templates), ``render``
(CPU ray casting), ``data``, ``prior``, ``fitting``, ``eval`` and ``cli``.
"""

__version__ = "0.1.0"
