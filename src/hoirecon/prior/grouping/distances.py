"""Batched image-to-image ray distances for KNN grouping (paper eq. 11).

``d(I, I') = mean_k dist(line(t, d_k), line(t', d'_k))``: the mean over keypoints of the distance
between corresponding rays of two 2.5D representations ``(K + 1, 3)`` (``K`` ray directions, then
the camera centre). Two images of the same interaction have rays that meet, so ``d`` is ~0.

For skew lines the distance is ``|(t - t') . (d x d')| / |d x d'|``. Writing each line in
Pluecker coordinates ``(d, m = t x d)`` turns the numerator into the reciprocal product
``d . m' + d' . m`` and ``|d x d'|^2`` into ``1 - (d . d')^2``: both are inner products, so the
distances between all pairs of two sets are batched matrix products (one per keypoint) plus
element-wise work. That is what :func:`pairwise_ray_distance` computes.

Parallel rays (``|d x d'| -> 0``) make the skew formula 0/0. As ``hoirecon.geometry.ray_distance``
does, the per-keypoint distance is the blend ``w skew + (1 - w) parallel`` with
``w = s^2 / (s^2 + eps^2)``, ``s = |d x d'|`` and ``parallel`` the mean point-to-line distance of
the two centres. The matrix-product form cannot resolve small ``s`` (``1 - cos^2`` cancels), so
entries with ``s^2 < exact_below`` are recomputed directly by :func:`paired_ray_distances`;
elsewhere the parallel term's weight is below ``eps^2 / exact_below`` and is dropped.
"""

from __future__ import annotations

import torch
from torch import Tensor

PARALLEL_EPS = 1e-6
"""Sine of the angle below which two rays count as parallel (same as hoirecon.geometry)."""
EXACT_BELOW = 1e-4
"""Squared sine below which the batched kernel recomputes an entry with the direct formula."""


def _check_x25d(x: Tensor, name: str) -> Tensor:
    """Raise ``ValueError`` naming ``name`` unless ``x`` is a floating ``(..., K + 1, 3)`` tensor."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point torch.Tensor")
    if x.dim() < 2 or x.shape[-1] != 3 or x.shape[-2] < 2:
        raise ValueError(f"{name}: expected shape (..., K + 1, 3) with K >= 1, got {tuple(x.shape)}")
    return x


def split_x25d(x: Tensor) -> tuple[Tensor, Tensor]:
    """Unit rays ``(..., K, 3)`` and camera centre ``(..., 3)`` of ``x (..., K + 1, 3)``."""
    rays = torch.nn.functional.normalize(x[..., :-1, :], dim=-1, eps=1e-12)
    return rays, x[..., -1, :]


def plucker(x: Tensor) -> Tensor:
    """Pluecker coordinates ``[d, t x d]`` of each ray: ``(..., K + 1, 3) -> (..., K, 6)``."""
    rays, center = split_x25d(_check_x25d(x, "x"))
    moment = torch.linalg.cross(center.unsqueeze(-2).expand_as(rays), rays, dim=-1)
    return torch.cat([rays, moment], dim=-1)


def paired_ray_distances(a: Tensor, b: Tensor, eps: float = PARALLEL_EPS) -> Tensor:
    """Per-keypoint distance between corresponding rays: ``(..., K + 1, 3) x2 -> (..., K)``.

    Direct formula (cross products), accurate for any angle; leading dims broadcast.
    """
    rays_a, center_a = split_x25d(_check_x25d(a, "a"))
    rays_b, center_b = split_x25d(_check_x25d(b, "b"))
    offset = (center_a - center_b).unsqueeze(-2)
    normal = torch.linalg.cross(rays_a, rays_b, dim=-1)
    sin_sq = normal.square().sum(dim=-1)
    skew = (offset * normal).sum(dim=-1).abs() / sin_sq.clamp_min(eps**2).sqrt()
    off_a = torch.linalg.vector_norm(torch.linalg.cross(offset, rays_a, dim=-1), dim=-1)
    off_b = torch.linalg.vector_norm(torch.linalg.cross(offset, rays_b, dim=-1), dim=-1)
    weight = sin_sq / (sin_sq + eps**2)
    return weight * skew + (1.0 - weight) * 0.5 * (off_a + off_b)


def paired_ray_distance(a: Tensor, b: Tensor, eps: float = PARALLEL_EPS) -> Tensor:
    """Image-to-image distance (eq. 11) of corresponding pairs: ``(..., K + 1, 3) x2 -> (...)``."""
    return paired_ray_distances(a, b, eps).mean(dim=-1)


def _swap(p: Tensor) -> Tensor:
    """``[d, m] -> [m, d]`` on the last dim, so that ``p_a . swap(p_b) = d_a . m_b + m_a . d_b``."""
    return torch.cat([p[..., 3:], p[..., :3]], dim=-1)


class RaySet:
    """A set of 2.5D representations ``(N, K + 1, 3)`` laid out for :func:`pairwise_ray_distance`.

    Holds the Pluecker coordinates keypoint-major, once, so that scanning a large set in chunks
    does not recompute them per chunk.
    """

    def __init__(self, x: Tensor) -> None:
        _check_x25d(x, "x")
        if x.dim() != 3:
            raise ValueError(f"x: expected shape (N, K + 1, 3), got {tuple(x.shape)}")
        self.x = x
        self.lines = plucker(x).transpose(0, 1).contiguous()
        self.swapped_t = _swap(self.lines).transpose(1, 2).contiguous()
        self.rays_t = self.lines[..., :3].transpose(1, 2).contiguous()

    def __len__(self) -> int:
        return self.x.shape[0]


def pairwise_ray_distance(a: Tensor | RaySet, b: Tensor | RaySet, eps: float = PARALLEL_EPS,
                          exact_below: float = EXACT_BELOW, rows: slice | Tensor = slice(None),
                          cols: slice = slice(None)) -> Tensor:
    """Distances between every image of ``a (Na, K + 1, 3)`` and of ``b (Nb, K + 1, 3)`` -> ``(Na, Nb)``.

    Batched matrix products in the dtype of the inputs (float32 is accurate to ~1e-5 relative
    once near-parallel entries are recomputed; see the module docstring). ``a``/``b`` may be
    prepared :class:`RaySet` s, restricted by ``rows`` (index or slice of ``a``) and ``cols`` (a
    slice of ``b``). Memory is ``O(K Na Nb)``: callers chunk large sets.
    """
    a = a if isinstance(a, RaySet) else RaySet(a)
    b = b if isinstance(b, RaySet) else RaySet(b)
    if a.lines.shape[0] != b.lines.shape[0] or a.x.dtype != b.x.dtype:
        raise ValueError(f"a, b: expected the same number of keypoints and dtype, got "
                         f"{tuple(a.x.shape)} {a.x.dtype} and {tuple(b.x.shape)} {b.x.dtype}")
    lines = a.lines[:, rows]
    numerator = torch.bmm(lines, b.swapped_t[..., cols]).abs_()
    sin_sq = torch.bmm(lines[..., :3], b.rays_t[..., cols]).square_().neg_().add_(1.0)
    near = sin_sq < exact_below
    per_keypoint = numerator.mul_(sin_sq.clamp_(min=exact_below).rsqrt_())
    if bool(near.any()):
        k, i, j = near.nonzero(as_tuple=True)
        exact = paired_ray_distances(a.x[rows][i].double(), b.x[cols][j].double(), eps)
        per_keypoint[k, i, j] = exact[torch.arange(len(k), device=k.device), k].to(per_keypoint.dtype)
    return per_keypoint.mean(dim=0)
