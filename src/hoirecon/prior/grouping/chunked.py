"""Exact KNN grouping of image sets larger than memory, block by block from a ``.npy`` file.

:func:`group_images_chunked` gives the same :class:`~hoirecon.prior.grouping.knn.Grouping` as
``group_images(x25d, GroupingConfig(method="exact"))``, equal to the bit, while holding only two
blocks of rows of ``x25d (N, K + 1, 3)`` in memory. No KNN library searches under the ray distance
from disk; this reuses the tiles of :func:`~hoirecon.prior.grouping.search.exact_knn`:

* Query rows are taken a block at a time; the candidates stream past in blocks, and each query
  row keeps a running top-k merged tile by tile as ``exact_knn`` does. Blocks are whole tiles
  (``QUERY_TILE`` rows, ``BASE_TILE`` columns, aligned at multiples of those), so every distance
  comes from the same call on the same rows and columns as in memory and the merges happen in
  the same order: ties resolve alike.
* Each finished query block gets the float64 distances, ``max_distance`` cut and final order of
  ``group_images`` and is written atomically to ``part-<start>-<stop>.npz`` in the work folder,
  whose ``manifest.json`` names the job (digest of rows and ids, settings, block size): a rerun
  of the same job skips finished parts, another job clears them.
* Memory: two blocks of rows and their Pluecker lines (~5x the rows' bytes), one tile of
  distances (``K x 64 x 2048`` floats, as in memory), and per-image arrays of a few numbers:
  camera centres, ids and the result. The result (``N x k`` indices, distances and weights,
  16 bytes an entry: 26 MB for 100k images, k = 16) is assembled in memory, not streamed into
  the ``.npz``: training loads it whole anyway. ``bench/bench_chunked_grouping.py`` measures it.

Only the 'distance' score is supported: the 'reference' score ranks candidates by their own
neighbours, so no block could be finished before every block had been searched.
The dataset side (``hoirecon group --chunk-size``) is :mod:`hoirecon.prior.chunked_category`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hoirecon.device import DeviceLike, resolve_device
from hoirecon.io.atomic import atomic_save_npz, atomic_write_json
from hoirecon.prior.grouping.distances import RaySet, pairwise_ray_distance
from hoirecon.prior.grouping.knn import (
    Grouping,
    GroupingConfig,
    _stats,
    exact_cut_distances,
    neighbour_weights,
)
from hoirecon.prior.grouping.search import BASE_TILE, QUERY_TILE, Exclusion, block_ranges, padded_topk

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
"""File in the work folder naming the job its parts belong to."""
PART_VERSION = 1
"""Bumped when the part files change meaning."""



def _round_up(value: int, tile: int) -> int:
    return -(-value // tile) * tile


def open_x25d(x25d: str | Path | np.ndarray | Tensor) -> tuple[np.ndarray, str]:
    """The rows ``(N, K + 1, 3)`` of ``x25d`` and a name for messages.

    A path is opened as a read-only memory map of a ``.npy`` file; arrays are used as they are.
    """
    if isinstance(x25d, (str, Path)):
        path, name = Path(x25d), str(x25d)
        if not path.is_file():
            raise ValueError(f"x25d: no file at {path}")
        try:
            rows = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"{path}: not a readable .npy array ({err})") from err
        if not isinstance(rows, np.ndarray):
            rows.close()
            raise ValueError(f"{path}: expected one .npy array, got an archive of several")
    elif isinstance(x25d, Tensor):
        rows, name = x25d.detach().cpu().numpy(), "x25d"
    elif isinstance(x25d, np.ndarray):
        rows, name = x25d, "x25d"
    else:
        raise ValueError(f"x25d: expected a .npy path, numpy array or tensor, got {type(x25d).__name__}")
    if rows.ndim != 3 or rows.shape[-1] != 3 or rows.shape[1] < 2 or not np.issubdtype(rows.dtype, np.floating):
        raise ValueError(f"{name}: expected a float array (N, K + 1, 3) with K >= 1, "
                         f"got {rows.dtype} {tuple(rows.shape)}")
    return rows, name


def _tensor(block: np.ndarray) -> Tensor:
    """A writable in-memory copy of a block of (possibly memory-mapped) rows."""
    return torch.from_numpy(np.array(block))


def scan_rows(rows: np.ndarray, name: str, block: int) -> str:
    """Digest of ``rows`` read ``block`` rows at a time; raises on the first non-finite row."""
    digest = hashlib.blake2b(f"{rows.dtype.str}{rows.shape}".encode(), digest_size=16)
    for start, stop in block_ranges(len(rows), block):
        part = np.ascontiguousarray(rows[start:stop])
        bad = ~np.isfinite(part).all(axis=(1, 2))
        if bad.any():
            raise ValueError(f"{name}: row {start + int(np.argmax(bad))} contains NaN or inf")
        digest.update(part.tobytes())
    return digest.hexdigest()


def _check_ids(n: int, video: Tensor | np.ndarray | None, frame: Tensor | np.ndarray | None
               ) -> tuple[Tensor | None, Tensor | None]:
    """``video``/``frame`` as ``(N,)`` int64 tensors; raises ``ValueError`` naming the bad one."""
    if (video is None) != (frame is None):
        raise ValueError("video, frame: give both or neither")
    if video is None:
        return None, None
    out = []
    for name, ids in (("video", video), ("frame", frame)):
        ids = torch.as_tensor(np.asarray(ids))
        if ids.shape != (n,) or ids.is_floating_point() or ids.is_complex():
            raise ValueError(f"{name}: expected integer ids of shape ({n},), got {ids.dtype} {tuple(ids.shape)}")
        out.append(ids.long())
    return out[0], out[1]


def _check_settings(config: GroupingConfig, chunk_size: int) -> None:
    """Raise ``ValueError`` for settings the chunked search cannot honour."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size: expected an integer >= 1, got {chunk_size!r}")
    if config.method not in ("auto", "exact"):
        raise ValueError(f"method: the chunked search is exact ('auto' or 'exact'), got {config.method!r}")
    if config.score != "distance":
        raise ValueError(f"score: the chunked search ranks by 'distance' only, got {config.score!r}")


def _merge_tile(queries: RaySet, local: Tensor, rows: Tensor, candidates: RaySet, offset: int,
                k: int, exclusion: Exclusion, best: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """Merge one query tile's running top-k ``(indices, distances) (T, k')`` with a candidate block.

    ``local``/``rows`` are the tile's rows in ``queries`` and overall; the block starts at
    row ``offset``. The calls and merges are those of :func:`exact_knn`, tile for tile.
    """
    best_i, best_d = best
    for base in range(0, len(candidates), BASE_TILE):
        stop = min(base + BASE_TILE, len(candidates))
        cand = torch.arange(offset + base, offset + stop, device=rows.device).expand(len(rows), -1)
        d = pairwise_ray_distance(queries, candidates, rows=local, cols=slice(base, base + BASE_TILE))
        d = d.masked_fill(exclusion.mask(rows[:, None], cand), float("inf"))
        best_i, best_d = padded_topk(torch.cat([best_d, d], 1), torch.cat([best_i, cand], 1), k)
    return best_i, best_d


def search_block(rows: np.ndarray, start: int, stop: int, k: int, exclusion: Exclusion,
                 candidate_block: int, device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """Exact ``k`` nearest rows of the queries ``[start, stop)`` -> ``(Q, k)`` indices and float32
    distances, streaming the candidates ``candidate_block`` rows (whole tiles) at a time.

    The tiles are computed on ``device`` (default: the CPU; ``exclusion``'s tensors must be there
    too) and the result comes back to the CPU.
    """
    device = device or torch.device("cpu")
    queries = RaySet(_tensor(rows[start:stop]).float().to(device))
    tiles = [torch.arange(s, min(s + QUERY_TILE, stop), device=device) for s in range(start, stop, QUERY_TILE)]
    best = [(torch.empty(len(t), 0, dtype=torch.long, device=device), torch.empty(len(t), 0, device=device))
            for t in tiles]
    for c_start, c_stop in block_ranges(len(rows), candidate_block):
        candidates = RaySet(_tensor(rows[c_start:c_stop]).float().to(device))
        best = [_merge_tile(queries, tile - start, tile, candidates, c_start, k, exclusion, b)
                for tile, b in zip(tiles, best)]
    return torch.cat([b[0] for b in best]).cpu(), torch.cat([b[1] for b in best]).cpu()


@dataclass
class Part:
    """The finished neighbours of one query block of ``Q`` rows."""

    neighbours: Tensor
    """``(Q, k)`` int64, nearest first, ``-1`` padded."""
    distances: Tensor
    """``(Q, k)`` float32 eq. (11) distances, ``inf`` where padded."""
    dropped_far: int
    """Neighbours cut by ``max_distance``."""


def finish_block(rows: np.ndarray, start: int, idx: Tensor, config: GroupingConfig) -> Part:
    """Float64 distances, the distance cut and the final order of found neighbours ``idx (Q, k)``
    of rows ``[start, start + Q)``, a query tile at a time (as :func:`group_images` does them)."""
    out_i, out_d, far_count = [], [], 0
    for s in range(0, len(idx), QUERY_TILE):
        tile = idx[s:s + QUERY_TILE]
        x_rows = _tensor(rows[start + s:start + s + len(tile)])
        dist, far = exact_cut_distances(x_rows, _tensor(rows[tile.clamp_min(0).numpy()]), tile,
                                        config.max_distance)
        tile, dist = padded_topk(dist, tile, config.k)
        out_i.append(tile)
        out_d.append(dist)
        far_count += int(far.sum())
    return Part(torch.cat(out_i), torch.cat(out_d), far_count)


def _part_path(work: Path, start: int, stop: int) -> Path:
    return work / f"part-{start:010d}-{stop:010d}.npz"


def _load_part(path: Path, rows: int, k: int) -> Part | None:
    """A finished part, or None when it is missing or unreadable (then it is recomputed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as part:
            idx, dist, far = part["neighbours"], part["distances"], int(part["dropped_far"])
    except (OSError, ValueError, KeyError, EOFError) as err:
        log.warning("%s: unreadable part (%s); recomputing it", path, err)
        return None
    if idx.shape != (rows, k) or dist.shape != (rows, k):
        log.warning("%s: expected (%d, %d) arrays, got %s; recomputing it", path, rows, k, idx.shape)
        return None
    return Part(torch.from_numpy(idx).long(), torch.from_numpy(dist).float(), far)


def _open_work_dir(work: Path, manifest: dict) -> None:
    """Create ``work``; clear parts that belong to a different job and record this one."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / MANIFEST
    try:
        old = json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        old = None
    if old == manifest:
        return
    stale = sorted(work.glob("part-*.npz"))
    if stale:
        log.warning("%s: %d parts of a different grouping job; starting over", work, len(stale))
    for part in stale:
        part.unlink()
    atomic_write_json(path, manifest)


def _manifest(digest: str, video: Tensor | None, frame: Tensor | None, n: int, query_block: int,
              config: GroupingConfig) -> dict:
    """What the parts depend on: the rows, the ids, the block size and the search settings."""
    ids = None
    if video is not None and frame is not None:
        ids = hashlib.blake2b(video.numpy().tobytes() + frame.numpy().tobytes(), digest_size=16).hexdigest()
    return {"version": PART_VERSION, "x25d": digest, "ids": ids, "n_images": n,
            "query_block": query_block, "k": config.k, "max_distance": config.max_distance,
            "duplicate_distance": config.duplicate_distance, "min_frame_gap": config.min_frame_gap}


def group_images_chunked(x25d: str | Path | np.ndarray | Tensor, config: GroupingConfig | None,
                         chunk_size: int, work_dir: str | Path,
                         video: Tensor | np.ndarray | None = None, frame: Tensor | np.ndarray | None = None,
                         callback: Callable[[int, int], None] | None = None, device: DeviceLike = None) -> Grouping:
    """Exact grouping of ``x25d (N, K + 1, 3)`` (a ``.npy`` path or an array) ``chunk_size`` rows at a time.

    Same result as :func:`group_images` with ``method="exact"``; see the module docstring for the
    blocks (``chunk_size`` rounded up to whole tiles), the part files in ``work_dir`` that make an
    interrupted run resume, and memory. ``video``/``frame`` ``(N,)`` ids enable adjacent-frame
    rejection. ``callback(rows_done, N)`` is called after each query block, finished or reused.
    ``device`` (``hoirecon.device``) runs the distance tiles: bit-identical to the in-memory search
    on the CPU; on CUDA the distances agree to float32 rounding, so exact ties may order differently.
    """
    device = resolve_device(device)
    config = config or GroupingConfig(method="exact")
    _check_settings(config, chunk_size)
    rows, name = open_x25d(x25d)
    n, k = len(rows), config.k
    video, frame = _check_ids(n, video, frame)
    start_time = time.perf_counter()
    chunk_size = int(chunk_size)
    query_block, candidate_block = _round_up(chunk_size, QUERY_TILE), _round_up(chunk_size, BASE_TILE)
    digest = scan_rows(rows, name, candidate_block)
    if n == 0:
        empty = torch.empty(0, k)
        return Grouping(empty.long(), empty, empty, {"method": "none", "n_images": 0, "k": k})
    work = Path(work_dir)
    _open_work_dir(work, _manifest(digest, video, frame, n, query_block, config))
    centres = torch.from_numpy(np.array(rows[:, -1])).float()
    exclusion = Exclusion(centres.to(device), *(None if i is None else i.to(device) for i in (video, frame)),
                          config.min_frame_gap, config.duplicate_distance)
    parts, computed = [], 0
    for start, stop in block_ranges(n, query_block):
        part = _load_part(_part_path(work, start, stop), stop - start, k)
        if part is None:
            part = _compute_part(rows, start, stop, exclusion, config, candidate_block, work, device)
            computed += 1
        parts.append(part)
        if callback is not None:
            callback(stop, n)
    return _assemble(parts, config, n, time.perf_counter() - start_time,
                     {"chunk_size": chunk_size, "blocks": len(parts), "computed_blocks": computed})


def _compute_part(rows: np.ndarray, start: int, stop: int, exclusion: Exclusion, config: GroupingConfig,
                  candidate_block: int, work: Path, device: torch.device | None = None) -> Part:
    """Search (on ``device``) and finish the query block ``[start, stop)`` and save it atomically."""
    idx, _ = search_block(rows, start, stop, config.k, exclusion, candidate_block, device)
    part = finish_block(rows, start, idx, config)
    atomic_save_npz(_part_path(work, start, stop), {"neighbours": part.neighbours.numpy(),
                                                    "distances": part.distances.numpy(),
                                                    "dropped_far": np.array(part.dropped_far)})
    log.info("grouped rows %d-%d of %d", start, stop, len(rows))
    return part


def _assemble(parts: list[Part], config: GroupingConfig, n: int, seconds: float,
              extra: dict) -> Grouping:
    """One :class:`Grouping` from the parts, with the weights and stats of :func:`group_images`."""
    idx, dist = torch.cat([p.neighbours for p in parts]), torch.cat([p.distances for p in parts])
    weights = neighbour_weights(dist, config.weight_lambda, config.weight_power).float()
    stats = _stats(idx, dist, "exact-chunked", n, config.k, sum(p.dropped_far for p in parts), seconds) | extra
    log.info("grouped %d images out of core in %.1f s: %.1f neighbours per image", n, seconds,
             stats["mean_neighbours"])
    return Grouping(idx, dist, weights, stats)
