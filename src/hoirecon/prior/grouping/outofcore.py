"""Approximate KNN grouping of very large image sets (a million per category): NN-descent in blocks, resumable.

:func:`group_images_outofcore` gives the same kind of :class:`~hoirecon.prior.grouping.knn.Grouping` as
``group_images(x25d, GroupingConfig(method="nndescent"))`` (the 'distance' score), for ``x25d`` given
as a ``.npy`` file that is never loaded whole:

* The rows are read block by block once, into ``flat.npy`` in the work folder: unit rays and camera
  centre per image, flattened, float32 (the layout the numba distance kernel reads). The search then
  reads that file through a memory map: the operating system keeps the pages it touches, and a
  machine whose memory cannot hold them still runs, only slower.
* The NN-descent rounds of :func:`~hoirecon.prior.grouping.search.nndescent_knn` run over row blocks
  of ``block`` images; per image only the graph (``k`` indices and distances, about 16 bytes an
  entry) and a few flags are in memory: 200 MB for a million images at ``k = 16``.
* After every round the graph, the round number and the random generator's state are written
  atomically to ``state.npz``; ``manifest.json`` names the job (digest of the rows and ids, the
  settings). A rerun of the same job continues after the last finished round; another job starts over.
* The final float64 distances, the distance cut and the weights are those of the exact chunked
  search (:func:`~hoirecon.prior.grouping.chunked.finish_block`), block by block.

numba is required (the ``fast`` extra): the torch fallback of the distance kernel needs every row in
memory, which is what this module avoids. pynndescent is not used here: its kernels for a custom metric
compile in each process and sometimes fail to in long-lived ones, and it holds its data in memory.
Recall@16 against exact search and the time per image count are printed by
``bench/bench_outofcore_grouping.py``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hoirecon.io.atomic import atomic_path, atomic_save_npz
from hoirecon.prior.grouping.chunked import (
    MANIFEST,
    Part,
    _assemble,
    _check_ids,
    _manifest,
    _open_work_dir,
    finish_block,
    open_x25d,
    scan_rows,
)
from hoirecon.prior.grouping.descent import DescentState, kernels, run_rounds, seed_lists
from hoirecon.prior.grouping.distances import PARALLEL_EPS
from hoirecon.prior.grouping.knn import Grouping, GroupingConfig
from hoirecon.prior.grouping.search import Exclusion, block_ranges, padded_topk

log = logging.getLogger(__name__)

STATE = "state.npz"
"""The graph after the last finished round, in the work folder."""
NEAR_CENTRES = 12
"""Images with the nearest camera centres scored per image once the search settles, per neighbour
sought. ``d <= |t - t'|``, so views from nearby points are close whatever they show; in large sets
many true neighbours are such views, which neighbours of neighbours rarely reach. Two more rounds on
a settled 300k-image graph (the set of ``bench/bench_outofcore_grouping.py``; recall@16 against exact
search on 300 queries): with every edge marked fresh and the 2k nearest centres 0.959 -> 0.960; with
the 6k nearest 0.959 -> 0.974 (about 10 CPU s a round); from the graph of a 6k search, with the 12k
nearest 0.975 -> 0.983 (about 16 CPU s a round). The in-memory search takes 2k."""
FLAT = "flat.npy"
"""Unit rays and centres, flattened, in the work folder."""


def write_flat(rows: np.ndarray, path: Path, block: int) -> np.ndarray:
    """Write unit rays + centre of ``rows (N, K + 1, 3)`` flattened to ``path`` (``.npy``, float32),
    ``block`` rows at a time, atomically; return it opened as a read-only memory map ``(N, 3 (K + 1))``."""
    n, width = len(rows), 3 * rows.shape[1]
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, width))
        for start, stop in block_ranges(n, block):
            part = np.asarray(rows[start:stop], dtype=np.float64)
            rays = part[:, :-1] / np.maximum(np.linalg.norm(part[:, :-1], axis=-1, keepdims=True), 1e-12)
            out[start:stop] = np.concatenate([rays, part[:, -1:]], 1).reshape(stop - start, width)
        out.flush()
        del out
    return np.load(path, mmap_mode="r")


def _finish(rows: np.ndarray, start: int, idx: Tensor, config: GroupingConfig) -> Part:
    """:func:`~hoirecon.prior.grouping.chunked.finish_block` of rows ``[start, start + len(idx))``: the
    same float64 formula and cut, by the numba kernel where the rows allow it (float32/64, C order)."""
    if rows.dtype not in (np.float32, np.float64) or not rows.flags.c_contiguous:
        return finish_block(rows, start, idx, config)
    exact = kernels().exact_neighbour_distances(rows, start, idx.numpy(), PARALLEL_EPS)
    dist = torch.from_numpy(exact).float()
    far = (idx >= 0) & (dist > (float("inf") if config.max_distance is None else config.max_distance))
    chosen, best = padded_topk(dist.masked_fill(far, float("inf")), idx, config.k)
    return Part(chosen, best, int(far.sum()))


def _load_state(work: Path, n: int, k: int) -> dict | None:
    """The saved graph of the last finished round, or None when there is none or it is unreadable."""
    path = work / STATE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            state = {name: saved[name] for name in saved.files}
        if state["neighbours"].shape != (n, k):
            raise ValueError(f"expected ({n}, {k}) neighbours, got {state['neighbours'].shape}")
    except (OSError, ValueError, KeyError, EOFError) as err:
        log.warning("%s: unreadable state (%s); starting the search over", path, err)
        return None
    return state


def _save_state(work: Path, state: DescentState, generator: torch.Generator) -> None:
    atomic_save_npz(work / STATE, {"neighbours": state.idx.numpy(), "distances": state.dist.numpy(),
                                   "fresh": state.fresh.numpy(), "rounds": np.array(state.rounds),
                                   "near": np.array(state.near), "done": np.array(state.done),
                                   "generator": generator.get_state().numpy()}, compressed=False)


def nndescent_outofcore(flat: np.ndarray, k: int, work: Path, exclusion: Exclusion, iterations: int = 16,
                        delta: float = 1e-3, seed: int = 0, block: int = 65536,
                        callback: Callable[[int, int], None] | None = None) -> tuple[Tensor, Tensor]:
    """NN-descent (the rounds of :func:`~hoirecon.prior.grouping.descent.run_rounds`: best of ``8 k``
    random seeds, ``k / 2`` random extras per round and, once settled, the :data:`NEAR_CENTRES` ``x k``
    nearest camera centres) over ``flat (N, 3 (K + 1))``, saving the graph after every round in
    ``work``; returns ``(N, k)`` indices and float32 distances. ``callback(round, iterations)``."""
    generator = torch.Generator().manual_seed(seed)
    saved = _load_state(work, len(flat), k)
    if saved is None:
        idx, dist = seed_lists(flat, k, 8 * k, exclusion, generator, block)
        state = DescentState(idx, dist, idx >= 0)
        _save_state(work, state, generator)
    else:
        state = DescentState(torch.from_numpy(saved["neighbours"]).long(), torch.from_numpy(saved["distances"]).float(),
                             torch.from_numpy(saved["fresh"]).bool(), int(saved["rounds"]), bool(saved["near"]),
                             bool(saved["done"]))
        generator.set_state(torch.from_numpy(saved["generator"]))
        log.info("resuming the out-of-core search after round %d", state.rounds)

    def after_round(state: DescentState) -> None:
        log.info("out-of-core nn-descent round %d: %d neighbours changed", state.rounds, int(state.fresh.sum()))
        _save_state(work, state, generator)
        if callback is not None:
            callback(state.rounds, iterations)

    state = run_rounds(flat, state, exclusion, generator, iterations, delta, k // 2, NEAR_CENTRES * k, block,
                       after_round)
    return state.idx, state.dist


def _open_job(work: Path, manifest: dict) -> None:
    """Create ``work`` for this job; the state and rows of another job there are removed first."""
    path = work / MANIFEST
    try:
        old = json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        old = None
    if old != manifest:
        for name in (STATE, FLAT):
            if (work / name).is_file():
                log.warning("%s: %s of a different grouping job; starting over", work, name)
                (work / name).unlink()
    _open_work_dir(work, manifest)


def group_images_outofcore(x25d: str | Path | np.ndarray | Tensor, config: GroupingConfig | None,
                           work_dir: str | Path, video: Tensor | np.ndarray | None = None,
                           frame: Tensor | np.ndarray | None = None, block: int = 65536,
                           callback: Callable[[int, int], None] | None = None) -> Grouping:
    """Approximate grouping of ``x25d (N, K + 1, 3)`` (a ``.npy`` path or an array) out of core.

    See the module docstring. ``config`` gives ``k``, the exclusions, the distance cut and the
    weights (its ``method`` is ignored; the score must be 'distance'); ``block`` rows are searched
    at a time. ``video``/``frame (N,)`` enable adjacent-frame rejection.
    """
    config = config or GroupingConfig()
    if config.score != "distance":
        raise ValueError(f"score: the out-of-core search supports 'distance' only, got {config.score!r}")
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise ValueError(f"block: expected an integer >= 1, got {block!r}")
    rows, name = open_x25d(x25d)
    n, k = len(rows), config.k
    video, frame = _check_ids(n, video, frame)
    started = time.perf_counter()
    digest = scan_rows(rows, name, block)
    if n == 0:
        empty = torch.empty(0, k)
        return Grouping(empty.long(), empty, empty, {"method": "none", "n_images": 0, "k": k})
    work = Path(work_dir)
    _open_job(work, {**_manifest(digest, video, frame, n, block, config), "search": "nndescent-outofcore",
                     "iterations": config.iterations, "seed": config.seed})
    flat = np.load(work / FLAT, mmap_mode="r") if (work / FLAT).is_file() else None
    if flat is None or flat.shape != (n, 3 * rows.shape[1]):
        flat = write_flat(rows, work / FLAT, block)
    centres = torch.from_numpy(np.array(flat[:, -3:]))
    exclusion = Exclusion(centres, video, frame, config.min_frame_gap, config.duplicate_distance)
    idx, _ = nndescent_outofcore(flat, k, work, exclusion, config.iterations, seed=config.seed, block=block,
                                 callback=callback)
    parts = [_finish(rows, start, idx[start:stop], config) for start, stop in block_ranges(n, block)]
    grouping = _assemble(parts, config, n, time.perf_counter() - started, {"block": block})
    grouping.stats["method"] = "nndescent-outofcore"
    return grouping
