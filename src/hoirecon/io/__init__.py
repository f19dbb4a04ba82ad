"""The file layer: atomic writes and the file formats every stage shares.

It sits below every other package: it reads and writes files and knows their layouts (columnar
``.npz``, masks, fits, occlusion maps), and imports nothing else from ``hoirecon``.
"""

from hoirecon.io.errors import FileFormatError

__all__ = ["FileFormatError"]
