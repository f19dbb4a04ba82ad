"""Simulated instance-segmentation masks (Mask R-CNN-style) made from the rendered instance map.

Real instance masks are wrong mostly along the boundary (coarse, locally eroded or dilated),
sometimes have holes, and sometimes bleed into a touching instance. The boundary error is a
smooth random displacement of the signed distance to the true boundary, so it erodes in some
places and dilates in others, scaled with the instance's size.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hoirecon.data.synthetic.observation import MaskConfig


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """(H, W) distance to the boundary of a bool mask (H, W): positive inside, +-0.5 at the edge pixels."""
    inside = ndimage.distance_transform_edt(mask) - 0.5
    outside = ndimage.distance_transform_edt(~mask) - 0.5
    return np.where(mask, inside, -outside)


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], length: float) -> np.ndarray:
    """(H, W) zero-mean, unit-std random field correlated over ``length`` pixels."""
    field = ndimage.gaussian_filter(rng.normal(0.0, 1.0, shape), max(length, 0.5), mode="wrap")
    std = field.std()
    return field / std if std > 0 else field


def _holes(rng: np.random.Generator, mask: np.ndarray, radius: float) -> np.ndarray:
    """Remove one to three disks of ``radius`` pixels centred on mask pixels."""
    rows, cols = np.nonzero(mask)
    yy, xx = np.mgrid[: mask.shape[0], : mask.shape[1]]
    out = mask.copy()
    for i in rng.integers(len(rows), size=rng.integers(1, 4)):
        out &= (yy - rows[i]) ** 2 + (xx - cols[i]) ** 2 > radius**2
    return out


def _window(mask: np.ndarray, pad: float) -> tuple[slice, slice]:
    """Rows and columns of the mask's box grown by ``pad`` pixels, clipped to the image."""
    rows, cols = np.nonzero(mask)
    p = int(np.ceil(pad))
    return (slice(max(rows.min() - p, 0), min(rows.max() + p + 1, mask.shape[0])),
            slice(max(cols.min() - p, 0), min(cols.max() + p + 1, mask.shape[1])))


def detector_mask(
    rng: np.random.Generator, instance: np.ndarray, target: int, other: int, cfg: MaskConfig
) -> np.ndarray:
    """A simulated detector mask (H, W) bool of instance ``target`` in an instance map (H, W).

    ``other`` is the id of the instance the mask may bleed into. An empty instance stays empty.
    Work happens in a window around the instance wide enough for every change.
    """
    mask = instance == target
    area = int(mask.sum())
    if area == 0:
        return mask
    scale = float(np.sqrt(area))
    amplitude = max(cfg.boundary * scale, cfg.boundary_px * mask.shape[1] / 256.0)
    reach = max(1.0, cfg.bleed_size * scale)
    win = _window(mask, 5.0 * amplitude + reach + 2.0)
    local, out = mask[win], mask[win]
    if amplitude > 0:
        field = smooth_field(rng, local.shape, cfg.smoothness * scale)
        out = signed_distance(local) + amplitude * field > 0
    if rng.random() < cfg.hole_rate and out.any():
        out = _holes(rng, out, max(1.0, cfg.hole_size * scale))
    if rng.random() < cfg.bleed_rate:
        out = out | ((ndimage.distance_transform_edt(~local) <= reach) & (instance[win] == other))
    full = np.zeros_like(mask)
    full[win] = out
    return full


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks (H, W); 1 when both are empty."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
