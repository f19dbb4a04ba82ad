"""The mean occlusion maps a prior file carries, so that the contact term needs no dataset folder.

The contact loss (paper eq. 14) weighs an image's occlusion maps by the category's mean maps
``c̄_h`` (per body vertex) and ``c̄_o`` (per template vertex), averaged over the training images.
Those means belong to the category, like the prior, so ``hoirecon train`` stores them in the prior
file when the dataset has the silhouettes to compute them. They are stored sparsely (most body
vertices are never occluded): the ids of the non-zero entries and their float32 values, with the
vertex counts, ``eta``, the dilation, the number of images averaged and their provenance, as plain
data and tensors so the file still loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from hoirecon.io.occlusion_files import OcclusionMaps

NO_MAPS_HINT = ("store them with `hoirecon occlusion --data DIR --category C --prior FILE` (or train the prior again "
                "with `hoirecon train` on a dataset with person and object masks)")
"""How to add maps to a prior file that has none."""


class MissingOcclusionMaps(ValueError):
    """The contact term needs mean occlusion maps and the prior file holds none (or others)."""


def _sparse(values: np.ndarray) -> dict:
    """Ids (int64 tensor) and float32 values of the non-zero entries of a (V,) map, and V."""
    values = np.asarray(values, dtype=np.float64)
    ids = np.flatnonzero(values)
    return {"count": int(len(values)), "ids": torch.as_tensor(ids, dtype=torch.int64),
            "values": torch.as_tensor(values[ids], dtype=torch.float32)}


def _dense(data: dict, key: str) -> np.ndarray:
    """The (V,) map stored by :func:`_sparse` under ``key``; ValueError naming what is wrong."""
    part = data.get(key)
    if not isinstance(part, dict) or not {"count", "ids", "values"} <= set(part):
        raise ValueError(f"occlusion.{key}: expected a dict with count, ids and values")
    count, ids = int(part["count"]), torch.as_tensor(part["ids"]).long().numpy()
    values = torch.as_tensor(part["values"]).double().numpy()
    if ids.shape != values.shape or ids.ndim != 1 or (len(ids) and (ids.min() < 0 or ids.max() >= count)):
        raise ValueError(f"occlusion.{key}: ids {ids.shape} and values {values.shape} do not describe a map "
                         f"of {count} vertices")
    if not (np.isfinite(values) & (values >= 0) & (values <= 1)).all():
        raise ValueError(f"occlusion.{key}: values outside [0, 1] or NaN/inf (a mean of 0/1 maps)")
    out = np.zeros(count)
    out[ids] = values
    return out


def maps_to_dict(maps: OcclusionMaps) -> dict:
    """Plain data and tensors of a category's mean maps, for the prior file."""
    return {"category": maps.category, "mean_human": _sparse(maps.mean_human),
            "mean_object": _sparse(maps.mean_object), "eta": float(maps.eta), "dilation": float(maps.dilation),
            "num_images": int(maps.num_images), "skipped": len(maps.skipped),
            "provenance": json.dumps(maps.provenance, sort_keys=True)}


def maps_from_dict(data: dict) -> OcclusionMaps:
    """The mean maps stored by :func:`maps_to_dict` (the per-image lists are not kept: the image
    ids become ``num_images`` placeholders); ValueError naming a malformed field."""
    if not isinstance(data, dict):
        raise ValueError(f"occlusion: expected a dict, got {type(data).__name__}")
    missing = [k for k in ("category", "mean_human", "mean_object", "eta", "dilation", "num_images") if k not in data]
    if missing:
        raise ValueError(f"occlusion: missing key(s) {missing}")
    try:
        provenance = json.loads(data.get("provenance", "{}"))
    except (TypeError, json.JSONDecodeError) as err:
        raise ValueError(f"occlusion.provenance: not valid JSON ({err})") from err
    count = int(data["num_images"])
    return OcclusionMaps(str(data["category"]), _dense(data, "mean_human"), _dense(data, "mean_object"),
                         eta=float(data["eta"]), dilation=float(data["dilation"]),
                         image_ids=[f"image-{i}" for i in range(count)],
                         provenance=provenance if isinstance(provenance, dict) else {})


def check_maps(maps: OcclusionMaps | None, source: str, category: str | None = None,
               body_vertex_count: int | None = None, template_vertex_count: int | None = None) -> OcclusionMaps:
    """``maps`` when they fit the category, body and template of a fit; otherwise
    :class:`MissingOcclusionMaps` naming ``source`` (the prior file) and what to do."""
    if maps is None:
        raise MissingOcclusionMaps(f"{source}: the prior file holds no occlusion maps (written before priors "
                                   f"carried them, or trained without masks), which the contact term needs; "
                                   f"{NO_MAPS_HINT}")
    expected = {"category": (maps.category, category), "body vertices": (maps.body_vertex_count, body_vertex_count),
                "template vertices": (maps.template_vertex_count, template_vertex_count)}
    for what, (have, want) in expected.items():
        if want is not None and have != want:
            raise MissingOcclusionMaps(f"{source}: its occlusion maps are for {what} {have!r}, the fit has "
                                       f"{want!r} (maps of another category, body model or template?); {NO_MAPS_HINT}")
    return maps
