"""Silhouette mask files (PNG or JPEG; any pixel above mid-grey is inside, so lossy JPEG works)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hoirecon.io.errors import FileFormatError

MASK_THRESHOLD = 127
"""Grey level above which a pixel is inside (JPEG masks ring around 0 and 255)."""


def load_mask(path: str | Path | None, image_size: tuple[int, int], what: str) -> np.ndarray:
    """A silhouette (H, W) bool from an image file; :class:`FileFormatError` naming the file
    when it is missing, unreadable or not ``image_size`` = (width, height). ``what`` names the
    mask in messages (``"human"``, ``"object"``)."""
    if path is None or not Path(path).is_file():
        raise FileFormatError(f"{what} mask not found: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileFormatError(f"{path}: unreadable {what} mask")
    if image.shape != (image_size[1], image_size[0]):
        raise FileFormatError(f"{path}: {what} mask is {image.shape[1]}x{image.shape[0]}, "
                              f"the image is {image_size[0]}x{image_size[1]}")
    return image > MASK_THRESHOLD
