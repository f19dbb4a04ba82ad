"""The file layer: atomic writes, output locks, provenance hashes and the file formats every stage shares.

It sits below every other package: it reads and writes files and knows their layouts (columnar
``.npz``, masks, fits, occlusion maps), holds the one-writer lock of an output (``lock``), hashes
the inputs an output records (``provenance``), and imports nothing else from ``hoirecon``.
"""

from hoirecon.io.errors import FileFormatError

__all__ = ["FileFormatError"]
