"""KNN grouping of images into pseudo multi-view groups (paper eq. 11-12).

Each image's 2.5D representation is compared with every other image's by the mean ray distance
of eq. (11); its ``k`` nearest images form its group ``G_I``. Neighbours further than
``max_distance`` are dropped, near-duplicates (same viewpoint, e.g. the same image twice, or
adjacent frames of one video) are never neighbours, and each kept neighbour gets the weight

    w(d) = (1 + l d^a) exp(-l d^a),   l = 1e5, a = 4 by default,

which is 1 at ``d = 0`` and falls to 0.74 at ``d = l^(-1/a)`` (5.6 cm for the defaults, with
``d`` in metres) and to 5e-4 at 10 cm: a soft cut-off at a few centimetres of ray mismatch.
The reference implementation measures these distances in metres (camera centres in the SMPL
frame), which is the unit assumed here; scale ``weight_lambda`` by ``unit^a`` for other units.

The optional reference scoring ranks a candidate ``j`` of image ``i`` by
``0.5 d(i, j) + 0.5 mean_{n in N(j)} d(i, n)``: ``j`` is preferred when its own neighbours also
agree with ``i``. Distances reported in the result are always the plain ``d(i, j)``.

:func:`group_images` runs on a device (``hoirecon.device``): on a GPU the search, the reference
re-ranking and the float64 distances of the found neighbours run there, and only the ``(N, k)``
result comes back. The CPU gives the same bits as ever; a GPU agrees to float32 rounding, so exact
ties may order differently, and NN-descent's approximate neighbours may differ slightly. The
pynndescent library runs on the CPU only and is refused on another device.
"""

from __future__ import annotations

import json
import logging
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hoirecon.device import DeviceLike, resolve_device
from hoirecon.io.atomic import atomic_path
from hoirecon.prior.grouping import descent
from hoirecon.prior.grouping.distances import paired_ray_distance
from hoirecon.prior.grouping.search import (
    Exclusion,
    accelerated,
    device_rows,
    distance_kernel,
    exact_knn,
    nndescent_knn,
    padded_topk,
    pynndescent_knn,
    unit_flat,
)

logger = logging.getLogger(__name__)

METHODS = ("auto", "exact", "nndescent", "pynndescent")
"""Search methods; 'auto' is exact up to ``exact_max`` images and NN-descent above."""
SCORES = ("distance", "reference")
"""Ranking of candidates: plain eq. (11) distance, or the reference neighbourhood score."""


@dataclass(frozen=True)
class GroupingConfig:
    """How images are grouped."""

    k: int = 16
    """Neighbours per image (paper: 16 on WildHOI, 8 on BEHAVE)."""
    method: str = "auto"
    """'exact', 'nndescent' (in-house, approximate), 'pynndescent' (library) or 'auto'."""
    exact_max: int = 20000
    """With method 'auto', the largest set searched exactly."""
    max_distance: float | None = 0.2
    """Neighbours further than this (metres) are dropped; None keeps all k."""
    duplicate_distance: float = 1e-3
    """Neighbours whose camera centre is this close (metres) view from the same point (e.g. a
    repeated image): their ray distance is 0 whatever the keypoints, so they are dropped."""
    min_frame_gap: int = 1
    """With video/frame ids, same-video neighbours at most this many frames apart are dropped."""
    weight_lambda: float = 1e5
    """l in w = (1 + l d^a) exp(-l d^a); 1e5 with d in metres as in the reference."""
    weight_power: float = 4.0
    """a in w = (1 + l d^a) exp(-l d^a)."""
    score: str = "distance"
    """'distance' ranks by d(i, j); 'reference' by 0.5 d(i, j) + 0.5 mean_{n in N(j)} d(i, n)."""
    iterations: int = 16
    """Maximum NN-descent rounds."""
    seed: int = 0
    """Seed of the approximate searches."""

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k: expected >= 1, got {self.k}")
        if self.method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {self.method!r}")
        if self.score not in SCORES:
            raise ValueError(f"score: expected one of {SCORES}, got {self.score!r}")
        if self.max_distance is not None and self.max_distance <= 0:
            raise ValueError(f"max_distance: expected > 0 or None, got {self.max_distance}")


@dataclass
class Grouping:
    """Neighbours of every image; row ``i`` is the group ``G_I`` of image ``i``."""

    neighbours: Tensor
    """``(N, k)`` int64 indices of the neighbours, nearest first, ``-1`` padded."""
    distances: Tensor
    """``(N, k)`` float32 eq. (11) distances (metres), ``inf`` where padded."""
    weights: Tensor
    """``(N, k)`` float32 loss weights ``w(d)``, 0 where padded."""
    stats: dict = field(default_factory=dict)
    """How the grouping was made: method, seconds, dropped counts, neighbour statistics."""

    def __post_init__(self) -> None:
        shapes = {self.neighbours.shape, self.distances.shape, self.weights.shape}
        if len(shapes) != 1 or self.neighbours.dim() != 2:
            raise ValueError(f"neighbours/distances/weights: expected equal (N, k) shapes, "
                             f"got {[tuple(s) for s in shapes]}")

    @property
    def valid(self) -> Tensor:
        """``(N, k)`` bool: which entries are real neighbours."""
        return self.neighbours >= 0

    def __len__(self) -> int:
        return self.neighbours.shape[0]

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` file atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, neighbours=self.neighbours.numpy(), distances=self.distances.numpy(),
                     weights=self.weights.numpy(), stats=np.array(json.dumps(self.stats)))

    @classmethod
    def load(cls, path: str | Path) -> Grouping:
        """Read a file written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"path: no grouping file at {path}")
        try:
            with np.load(path) as data:
                arrays = {name: data[name] for name in data.files}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise ValueError(f"{path}: unreadable or truncated grouping file ({error})") from error
        missing = {"neighbours", "distances", "weights"} - set(arrays)
        if missing:
            raise ValueError(f"{path}: missing keys {sorted(missing)}")
        stats = _parse_stats(str(arrays["stats"])) if "stats" in arrays else {}
        return cls(torch.from_numpy(arrays["neighbours"]).long(),
                   torch.from_numpy(arrays["distances"]).float(),
                   torch.from_numpy(arrays["weights"]).float(), stats)


def _parse_stats(text: str) -> dict:
    """Stats saved by :meth:`Grouping.save` (JSON); unreadable stats give an empty dict."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def neighbour_weights(distances: Tensor, weight_lambda: float = 1e5, power: float = 4.0) -> Tensor:
    """Loss weights ``(1 + l d^a) exp(-l d^a)`` of distances ``(...)`` (``inf`` -> 0)."""
    scaled = weight_lambda * distances.clamp_min(0).pow(power)
    return torch.where(torch.isinf(distances), torch.zeros_like(distances),
                       (1.0 + scaled) * torch.exp(-scaled))


def recall_at_k(approximate: Tensor, exact: Tensor) -> float:
    """Fraction of the exact neighbours ``(Q, k)`` found in ``approximate (Q, k')`` (padding ignored)."""
    wanted = exact >= 0
    if not bool(wanted.any()):
        return 1.0
    found = (exact.unsqueeze(-1) == approximate.unsqueeze(-2)).any(-1) & wanted
    return float(found.sum()) / float(wanted.sum())


def _check_inputs(x25d: Tensor, video: Tensor | None, frame: Tensor | None) -> None:
    """Raise ``ValueError`` naming the bad argument."""
    if not isinstance(x25d, Tensor) or x25d.dim() != 3 or x25d.shape[-1] != 3 or x25d.shape[1] < 2:
        raise ValueError(f"x25d: expected a tensor (N, K + 1, 3), got "
                         f"{tuple(x25d.shape) if isinstance(x25d, Tensor) else type(x25d).__name__}")
    if not bool(torch.isfinite(x25d).all()):
        raise ValueError("x25d: contains NaN or inf")
    if (video is None) != (frame is None):
        raise ValueError("video, frame: give both or neither")
    for name, ids in (("video", video), ("frame", frame)):
        if ids is not None and ids.shape != (len(x25d),):
            raise ValueError(f"{name}: expected shape ({len(x25d)},), got {tuple(ids.shape)}")


def _method(config: GroupingConfig, n: int, device: torch.device) -> str:
    """The search method for ``n`` images; raises ``ValueError`` for pynndescent off the CPU."""
    if config.method == "pynndescent" and device.type != "cpu":
        raise ValueError(f"method: 'pynndescent' runs on the CPU only, got device {device}; use method "
                         "'nndescent' or 'exact' there, or device cpu")
    if config.method == "auto":
        return "exact" if n <= config.exact_max else "nndescent"
    return config.method


def _search(x: Tensor, k: int, config: GroupingConfig, exclusion: Exclusion, method: str,
            device: torch.device) -> tuple[Tensor, Tensor]:
    """Run the search ``method`` on ``device``; returns indices and distances on the CPU."""
    if method == "exact":
        return exact_knn(x, k, exclusion, device=device)
    if method == "nndescent" and not accelerated(device) and descent.available():
        return descent.nndescent_fused(unit_flat(x)[1], k, exclusion, config.iterations, seed=config.seed)
    if method == "nndescent":
        return nndescent_knn(x, k, exclusion, config.iterations, seed=config.seed, device=device)
    return pynndescent_knn(x, k, exclusion, seed=config.seed)


def _drop_missing(idx: Tensor, dist: Tensor) -> tuple[Tensor, Tensor]:
    """Move entries with ``inf`` distance to the end of each row (as ``-1``), keeping the order."""
    order = torch.isinf(dist).to(torch.int8).argsort(dim=1, stable=True)
    dist = dist.gather(1, order)
    return idx.gather(1, order).masked_fill(torch.isinf(dist), -1), dist


def _reference_rerank(x: Tensor, idx: Tensor, dist: Tensor, k: int,
                      device: torch.device) -> tuple[Tensor, Tensor]:
    """Re-rank candidates ``idx (N, P)`` by ``0.5 d(i, j) + 0.5 mean_{n in N(j)} d(i, n)``
    (the distances to the candidates' neighbours computed on ``device``)."""
    x, flat = unit_flat(x)
    rows = torch.arange(len(x))
    their = idx[idx.clamp_min(0)][:, :, :k]
    their = their.masked_fill((idx < 0).unsqueeze(-1) | (their == rows[:, None, None]), -1)
    distances = distance_kernel(x, flat, device)
    d_their = distances(rows.to(device), their.flatten(1).to(device)).cpu().view(their.shape)
    finite = torch.isfinite(d_their)
    mean_their = torch.where(finite, d_their, 0).sum(-1) / finite.sum(-1).clamp_min(1)
    mean_their = torch.where(finite.any(-1), mean_their, dist)
    score = torch.where(idx >= 0, 0.5 * dist + 0.5 * mean_their, float("inf"))
    order = score.argsort(dim=1, stable=True)[:, :k]
    return idx.gather(1, order), dist.gather(1, order)


def exact_cut_distances(x_rows: Tensor, x_neighbours: Tensor, idx: Tensor,
                        max_distance: float | None) -> tuple[Tensor, Tensor]:
    """Float64 eq. (11) distances of found neighbours, those beyond ``max_distance`` cut.

    ``x_rows (Q, K + 1, 3)``, their neighbours ``x_neighbours (Q, k, K + 1, 3)`` and indices
    ``idx (Q, k)`` (``-1`` padded) -> float32 distances ``(Q, k)`` (``inf`` where padded or cut)
    and the ``(Q, k)`` bool mask of the cut neighbours. Rows are independent, so this gives the
    same numbers on any block of rows.
    """
    valid = idx >= 0
    exact_d = paired_ray_distance(x_rows.double().unsqueeze(1), x_neighbours.double())
    dist = torch.where(valid, exact_d.float(), float("inf"))
    limit = float("inf") if max_distance is None else max_distance
    far = valid & (dist > limit)
    return dist.masked_fill(far, float("inf")), far


def _cut(x25d: Tensor, idx: Tensor, max_distance: float | None,
         device: torch.device) -> tuple[Tensor, Tensor]:
    """:func:`exact_cut_distances` of every row of ``idx (N, k)``, on ``device`` in blocks of rows
    off the CPU; the result is on the CPU."""
    if not accelerated(device):
        return exact_cut_distances(x25d, x25d[idx.clamp_min(0)], idx, max_distance)
    x = x25d.to(device)
    step = device_rows(device, 8 * idx.shape[1] * x.shape[1] * 3)
    parts = []
    for start in range(0, len(idx), step):
        block = idx[start:start + step].to(device)
        parts.append(exact_cut_distances(x[start:start + step], x[block.clamp_min(0)], block, max_distance))
    return torch.cat([p[0] for p in parts]).cpu(), torch.cat([p[1] for p in parts]).cpu()


def group_images(x25d: Tensor, config: GroupingConfig | None = None,
                 video: Tensor | None = None, frame: Tensor | None = None,
                 device: DeviceLike = None) -> Grouping:
    """Group ``N`` images by their 2.5D representations ``x25d (N, K + 1, 3)`` -> :class:`Grouping`.

    ``video``/``frame`` ``(N,)`` int64 ids enable adjacent-frame rejection. With ``k >= N`` every
    image gets at most ``N - 1`` neighbours and the rest is padding; ``N = 0`` gives an empty
    grouping. ``device`` (``hoirecon.device``: default from the scope, ``HOIRECON_DEVICE``, else
    auto) runs the search; the result is on the CPU (see the module docstring).
    """
    config = config or GroupingConfig()
    _check_inputs(x25d, video, frame)
    x25d, video, frame = (None if t is None else t.cpu() for t in (x25d, video, frame))
    device = resolve_device(device)
    method = _method(config, len(x25d), device)
    start = time.perf_counter()
    n, k = len(x25d), config.k
    exclusion = Exclusion(x25d[:, -1].float(), video, frame, config.min_frame_gap,
                          config.duplicate_distance)
    if n == 0:
        empty = torch.empty(0, k)
        return Grouping(empty.long(), empty, empty, {"method": "none", "n_images": 0, "k": k})
    pool = 2 * k if config.score == "reference" else k
    idx, dist = _search(x25d, pool, config, exclusion, method, device)
    if config.score == "reference":
        idx, dist = _reference_rerank(x25d, idx, dist, k, device)
    dist, far = _cut(x25d, idx, config.max_distance, device)
    if config.score == "distance":
        idx, dist = padded_topk(dist, idx, k)
    else:
        idx, dist = _drop_missing(idx, dist)
    weights = neighbour_weights(dist, config.weight_lambda, config.weight_power).float()
    stats = _stats(idx, dist, method, n, k, int(far.sum()), time.perf_counter() - start)
    logger.info("grouped %d images with %s in %.1f s: %.1f neighbours per image", n, method,
                stats["seconds"], stats["mean_neighbours"])
    return Grouping(idx, dist, weights, stats)


def _stats(idx: Tensor, dist: Tensor, method: str, n: int, k: int, dropped_far: int,
           seconds: float) -> dict:
    """Summary numbers stored with a grouping."""
    valid = idx >= 0
    kept = dist[valid]
    return {"method": method, "n_images": n, "k": k, "seconds": round(seconds, 3),
            "dropped_far": dropped_far, "mean_neighbours": float(valid.sum(1).float().mean()),
            "images_without_neighbours": int((~valid.any(1)).sum()),
            "median_distance": float(kept.median()) if len(kept) else float("nan")}

