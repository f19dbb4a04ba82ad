"""The CPU work of a fit before its optimisation: initialisation, batch tensors, contact sets and
virtual cameras of one batch (:func:`prepare_samples`), and a :class:`Prefetcher` that prepares the
next batch in a background thread while the current one is optimised on a GPU.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from hoirecon.data import Sample
from hoirecon.fitting.batching import observation_tensors, padded_ids
from hoirecon.fitting.context import FitContext
from hoirecon.fitting.init import InitBatch, init_batch
from hoirecon.fitting.occlusion import ContactSets, contacts, image_occlusion, posed_vertices
from hoirecon.fitting.state import FitBatch
from hoirecon.io.errors import FileFormatError
from hoirecon.io.masks import load_mask

log = logging.getLogger(__name__)


NO_CONTACTS = ContactSets(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
"""The contact candidates of an image whose masks cannot be read: none."""


def _contacts(ctx: FitContext, samples: Sequence[Sample], init: InitBatch) -> tuple[torch.Tensor, ...]:
    """Per-image contact candidate ids and weights from the initial meshes and the masks."""
    if ctx.occlusion is None or ctx.config.weights.contact <= 0:
        empty = [np.zeros(0, np.int64)] * len(samples)
        return (*padded_ids(empty), *padded_ids(empty))
    body_cam, obj_cam = posed_vertices(init, ctx.body, ctx.template)
    sets = []
    for i, s in enumerate(samples):
        try:
            human = load_mask(s.human_mask_path, s.image_size, "human")
            thing = load_mask(s.object_mask_path, s.image_size, "object")
        except FileFormatError as err:  # this image goes without contact term, and says so
            log.warning("%s: %s; no contact term for this image", s.image_id, err)
            init.notes[i].append(f"no contact term: {err}")
            sets.append(NO_CONTACTS)
            continue
        sets.append(contacts(ctx.occlusion, image_occlusion(s.image_id, body_cam[i], obj_cam[i], s.intrinsics,
                                                            human, thing)))
    cap = ctx.config.contact_points
    human = [_subsample(c.human_ids, c.human_weight, cap) for c in sets]
    obj = [_subsample(c.object_ids, c.object_weight, cap) for c in sets]
    bh, wh = padded_ids([h[0] for h in human], [h[1] for h in human])
    bo, wo = padded_ids([o[0] for o in obj], [o[1] for o in obj])
    return bh, wh, bo, wo


def _subsample(ids: np.ndarray, weight: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``cap`` of the candidates, spread evenly over the list (deterministic)."""
    if len(ids) <= cap:
        return ids, weight
    keep = np.linspace(0, len(ids) - 1, cap).round().astype(int)
    return ids[keep], weight[keep]


def build_batch(ctx: FitContext, samples: Sequence[Sample], init: InitBatch) -> FitBatch:
    """Stack observations, initial estimates and contact candidates of B samples."""
    obs = observation_tensors(samples)
    f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    bh, wh, bo, wo = _contacts(ctx, samples, init)
    return FitBatch(**obs, init_betas=f32(init.betas)[:, :10], init_body_pose=f32(init.body_pose),
                    init_orient=f32(init.global_orient), init_pelvis=f32(init.pelvis_cam),
                    init_obj_rotation=f32(init.object_rotation), init_obj_translation=f32(init.object_translation),
                    contact_body_ids=bh, contact_body_weight=wh, contact_object_ids=bo, contact_object_weight=wo)


def _initial_cameras(ctx: FitContext, samples: Sequence[Sample], batch: FitBatch) -> torch.Tensor:
    """Virtual cameras (B, M, 3): sampled from the prior, else the image's own initial camera."""
    m = ctx.config.virtual_cameras
    if ctx.prior is not None and ctx.config.weights.prior > 0:
        with torch.no_grad():
            return ctx.prior.sample_cameras(samples, m).float()
    rot = torch.as_tensor(Rotation.from_rotvec(batch.init_orient.double().numpy()).as_matrix(), dtype=torch.float32)
    center = -(rot.transpose(1, 2) @ batch.init_pelvis[..., None])[..., 0]
    return center[:, None].expand(-1, m, -1).clone()


@dataclass
class PreparedBatch:
    """The CPU work of one batch, done before its optimisation: initialisation, batch tensors and
    the virtual cameras (all on the CPU)."""

    init: InitBatch
    batch: FitBatch
    cameras: torch.Tensor


def prepare_samples(ctx: FitContext, samples: Sequence[Sample]) -> PreparedBatch:
    """Initialise one batch (PnP, SMPLify, contact sets: files and CPU work) and sample its cameras."""
    init = init_batch(samples, ctx.template, ctx.body)
    batch = build_batch(ctx, samples, init)
    return PreparedBatch(init, batch, _initial_cameras(ctx, samples, batch))


class Prefetcher:
    """Prepares the next unfinished batch in one background thread while the current one is
    optimised: on a GPU the CPU initialisation then overlaps the device's work instead of leaving
    it idle. Batches are prepared one at a time and in order, so the results are those of a
    sequential run."""

    def __init__(self, ctx: FitContext, batches: Sequence[Sequence[Sample]], todo: Sequence[int]) -> None:
        self.ctx, self.batches, self.todo = ctx, batches, list(todo)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hoirecon-prepare")
        self.futures: dict[int, Future] = {}

    def _submit(self, index: int) -> None:
        if index not in self.futures:
            self.futures[index] = self.pool.submit(prepare_samples, self.ctx, self.batches[index])

    def take(self, index: int) -> PreparedBatch:
        """Batch ``index`` prepared (waiting for it), with the next unfinished batch started."""
        self._submit(index)
        later = [i for i in self.todo if i > index]
        if later:
            self._submit(later[0])
        return self.futures.pop(index).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
