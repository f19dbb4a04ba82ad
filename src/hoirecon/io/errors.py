"""The error every reader of the file layer raises for a file that breaks its format."""

from __future__ import annotations


class FileFormatError(ValueError):
    """A file is missing, unreadable or does not follow its format; the message names the file and field."""
