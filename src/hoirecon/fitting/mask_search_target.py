"""What the mask search compares projections against: the mask in a square working frame.

The working frame is a square crop of side ``crop_factor`` times the mask's bounding box,
centred on it, with coordinates in ``[-1, 1]`` across the crop (the ``align_corners=False``
convention of ``torch.nn.functional.grid_sample``), so losses and learning rates do not depend
on the image size or on how large the object appears. It holds

- a signed distance field of the region where projected surface points may fall: the object
  mask, plus pixels the person may hide (``person_mask``) and pixels outside the image (the
  object may be cut off there); zero on the region's edge, negative inside;
- samples of the object mask's pixels (all of its contour, evenly spaced, plus interior pixels),
  which projected points must cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

__all__ = ["MaskTarget", "build_target"]


@dataclass(frozen=True, eq=False)
class MaskTarget:
    """A mask prepared for the silhouette loss (see module docstring)."""

    pixel_to_work: np.ndarray
    """(3, 3) affine map from homogeneous pixel coordinates ``(u, v, 1)`` to working coordinates."""
    sdf: torch.Tensor
    """(1, 1, R, R) float32 signed distance (working units) to the allowed region's edge."""
    contour: torch.Tensor
    """(Qc, 2) float32 samples of the mask's contour pixels, working coordinates."""
    interior: torch.Tensor
    """(Qi, 2) float32 samples of all the mask's pixels, working coordinates."""
    bbox_center: np.ndarray
    """(2,) centre of the mask's bounding box, working coordinates."""
    bbox_size: np.ndarray
    """(2,) width and height of the mask's bounding box (pixel edges included), working units."""


def _crop_box(mask: np.ndarray, crop_factor: float) -> tuple[int, int, int]:
    """Integer square crop (top-left column c0, row r0, side S) around the mask's bounding box."""
    rows, cols = np.nonzero(mask)
    side = int(np.ceil(crop_factor * (max(np.ptp(rows), np.ptp(cols)) + 1.0)))
    side = max(side, 8)
    c0 = int(np.round(0.5 * (cols.min() + cols.max()) - 0.5 * (side - 1)))
    r0 = int(np.round(0.5 * (rows.min() + rows.max()) - 0.5 * (side - 1)))
    return c0, r0, side


def _crop(image: np.ndarray, c0: int, r0: int, side: int, fill: bool) -> np.ndarray:
    """The (side, side) window at (c0, r0) of a bool image, ``fill`` where it leaves the image."""
    out = np.full((side, side), fill, dtype=bool)
    height, width = image.shape
    rs, re = max(r0, 0), min(r0 + side, height)
    cs, ce = max(c0, 0), min(c0 + side, width)
    if rs < re and cs < ce:
        out[rs - r0 : re - r0, cs - c0 : ce - c0] = image[rs:re, cs:ce]
    return out


def _signed_distance(allowed: np.ndarray, resolution: int) -> np.ndarray:
    """(R, R) signed distance in working units to the edge of ``allowed`` (S, S) resized to R.

    Pixel-centre distances are shifted by half a cell so the zero level lies on the pixel edges.
    """
    resized = cv2.resize(allowed.astype(np.float32), (resolution, resolution), interpolation=cv2.INTER_AREA) >= 0.5
    inside = resized.astype(np.uint8)
    outside_dist = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5) if not inside.all() else np.zeros_like(resized, np.float32)
    inside_dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5) if inside.any() else np.zeros_like(resized, np.float32)
    sdf = np.where(resized, 0.5 - inside_dist, outside_dist - 0.5)
    return sdf * (2.0 / resolution)


def _contour_pixels(mask: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` contour pixels (c, 2) of ``mask`` as (u, v), evenly spaced along the contours."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    points = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float64)
    if len(points) > count:
        points = points[np.linspace(0, len(points) - 1, count).round().astype(int)]
    return points


def _interior_pixels(mask: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` distinct mask pixels (c, 2) as (u, v), drawn with ``rng``."""
    rows, cols = np.nonzero(mask)
    pick = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    return np.stack([cols[pick], rows[pick]], axis=1).astype(np.float64)


def _to_work(pixel_to_work: np.ndarray, uv: np.ndarray) -> torch.Tensor:
    """Pixel coordinates (P, 2) -> float32 working coordinates (P, 2)."""
    return torch.from_numpy(uv @ pixel_to_work[:2, :2].T + pixel_to_work[:2, 2]).float()


def build_target(
    object_mask: np.ndarray,
    person_mask: np.ndarray | None,
    crop_factor: float,
    resolution: int,
    num_contour: int,
    num_interior: int,
    seed: int,
) -> MaskTarget:
    """Prepare ``object_mask`` (H, W) bool, and the optional ``person_mask`` (H, W) bool, for the loss.

    ``resolution`` R is the side of the distance-field grid; ``num_contour`` / ``num_interior``
    bound the pixel samples to cover; ``seed`` fixes the interior draw.
    """
    c0, r0, side = _crop_box(object_mask, crop_factor)
    half = 0.5 * side
    centre = np.array([c0 - 0.5 + half, r0 - 0.5 + half])
    pixel_to_work = np.array([[1.0 / half, 0.0, -centre[0] / half], [0.0, 1.0 / half, -centre[1] / half], [0.0, 0.0, 1.0]])
    allowed = object_mask if person_mask is None else object_mask | person_mask
    sdf = _signed_distance(_crop(allowed, c0, r0, side, fill=True), resolution)
    rows, cols = np.nonzero(object_mask)
    lo = np.array([cols.min() - 0.5, rows.min() - 0.5])
    hi = np.array([cols.max() + 0.5, rows.max() + 0.5])
    rng = np.random.default_rng(seed)
    return MaskTarget(
        pixel_to_work=pixel_to_work,
        sdf=torch.from_numpy(sdf).float()[None, None],
        contour=_to_work(pixel_to_work, _contour_pixels(object_mask, num_contour)),
        interior=_to_work(pixel_to_work, _interior_pixels(object_mask, num_interior, rng)),
        bbox_center=(0.5 * (lo + hi) - centre) / half,
        bbox_size=(hi - lo) / half,
    )
