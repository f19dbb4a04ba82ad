"""Backbone features of dataset images: the crop around person and object, and a resumable cache.

The crop is the square around the union of the person's and the object's boxes (each from its
mask when the sample has one, else from its confident keypoints), ``CROP_MARGIN`` times the
longer side of that union, resized to ``CROP_SIZE``; parts outside the image are black.

A feature is the mean of the frozen backbone's features of the crop and of its mirror image, so
it does not change under the horizontal flips of training augmentation (which mirror the
keypoint layout, never the image).

Features are computed once per image and kept in a ``.npz`` cache keyed by the image file (path,
size, modification time) and the crop box, so an edited image or annotation is computed again.
The cache is rewritten atomically after every chunk, so an interrupted run resumes where it
stopped.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from hoirecon.data.sample import NUM_BODY_JOINTS, Sample
from hoirecon.io.atomic import atomic_save_npz
from hoirecon.prior.backbones import FrozenBackbone, backbone_features, load_backbone
from hoirecon.prior.encoders import CONFIDENCE_MIN

log = logging.getLogger(__name__)

CROP_SIZE = 224
"""Side of the square crop fed to the backbone, pixels."""
CROP_MARGIN = 1.2
"""Side of the crop relative to the longer side of the person-and-object box."""


def mask_box(path: Path | None) -> np.ndarray | None:
    """Box ``(4,)`` = ``x0, y0, x1, y1`` (pixel edges) of a mask's foreground; None if none."""
    if path is None or not Path(path).is_file():
        return None
    with Image.open(path) as image:
        rows, cols = np.nonzero(np.asarray(image.convert("L")) > 127)
    if len(rows) == 0:
        return None
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], dtype=np.float64)


def keypoint_box(sample: Sample, rows: slice) -> np.ndarray | None:
    """Box ``(4,)`` of the confident keypoints among ``rows``; None if none is confident."""
    points = sample.keypoints_2d[rows][sample.keypoint_conf[rows] > CONFIDENCE_MIN]
    if len(points) == 0:
        return None
    return np.concatenate([points.min(axis=0), points.max(axis=0)]).astype(np.float64)


def subject_box(sample: Sample) -> np.ndarray:
    """Union ``(4,)`` of the person's and the object's boxes (the whole image if neither is known)."""
    person = mask_box(sample.human_mask_path)
    person = keypoint_box(sample, slice(0, NUM_BODY_JOINTS)) if person is None else person
    thing = mask_box(sample.object_mask_path)
    thing = keypoint_box(sample, slice(NUM_BODY_JOINTS, None)) if thing is None else thing
    boxes = [b for b in (person, thing) if b is not None]
    if not boxes:
        return np.array([0.0, 0.0, *sample.image_size], dtype=np.float64)
    stacked = np.stack(boxes)
    return np.concatenate([stacked[:, :2].min(axis=0), stacked[:, 2:].max(axis=0)])


def crop_box(sample: Sample, margin: float = CROP_MARGIN) -> np.ndarray:
    """Square integer box ``(4,)`` centred on :func:`subject_box`, ``margin`` times its longer side."""
    box = subject_box(sample)
    centre = 0.5 * (box[:2] + box[2:])
    half = 0.5 * max(margin * float((box[2:] - box[:2]).max()), 8.0)
    low = np.floor(centre - half)
    side = np.ceil(2 * half)
    return np.concatenate([low, low + side]).astype(np.int64)


def load_crop(sample: Sample, box: np.ndarray, size: int = CROP_SIZE) -> Tensor:
    """RGB crop ``(3, size, size)`` in ``[0, 1]`` of ``box (4,)`` of the sample's image."""
    if sample.image_path is None or not Path(sample.image_path).is_file():
        raise ValueError(f"sample {sample.image_id!r}: image file missing ({sample.image_path})")
    try:
        with Image.open(sample.image_path) as image:
            crop = image.convert("RGB").crop(tuple(int(v) for v in box))
            crop = crop.resize((size, size), Image.BILINEAR)
    except OSError as error:
        raise ValueError(f"{sample.image_path}: not a readable image ({error})") from error
    return torch.from_numpy(np.asarray(crop, dtype=np.float32) / 255.0).permute(2, 0, 1)


def compute_features(backbone: FrozenBackbone, crops: Tensor) -> Tensor:
    """Mirror-averaged features ``(B, F)`` of crops ``(B, 3, S, S)`` in ``[0, 1]``."""
    both = backbone(torch.cat([crops, crops.flip(-1)]))
    return 0.5 * (both[:len(crops)] + both[len(crops):])


def cache_key(sample: Sample, box: np.ndarray) -> str:
    """Identity of one image's feature: file path, size, modification time and crop box."""
    path = Path(sample.image_path).resolve() if sample.image_path is not None else None
    stat = path.stat() if path is not None and path.is_file() else None
    file_id = f"{stat.st_size}|{stat.st_mtime_ns}" if stat is not None else "missing"
    return f"{path}|{file_id}|{','.join(str(int(v)) for v in box)}"


def read_cache(path: Path, backbone: str) -> dict[str, np.ndarray]:
    """Cached features by key (empty when the file is missing, unreadable or for another backbone)."""
    if not path.is_file():
        return {}
    try:
        with np.load(path) as data:
            if str(data["backbone"]) != backbone:
                log.warning("%s holds %s features, not %s; ignoring it", path, data["backbone"], backbone)
                return {}
            return dict(zip((str(k) for k in data["keys"]), data["features"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        log.warning("%s: unreadable feature cache (%s); computing again", path, error)
        return {}


def write_cache(path: Path, backbone: str, entries: dict[str, np.ndarray]) -> None:
    """Write all ``entries`` (key -> ``(F,)``) to ``path`` atomically."""
    keys = list(entries)
    features = np.stack([entries[k] for k in keys]) if keys else np.zeros((0, backbone_features(backbone)))
    atomic_save_npz(path, {"backbone": np.array(backbone), "keys": np.array(keys, dtype=str),
                           "features": features.astype(np.float32)})


def image_features(samples: Sequence[Sample], backbone: str, cache: Path | None = None,
                   weights: str | None = None, chunk: int = 16) -> Tensor:
    """Backbone features ``(N, F)`` of the samples' crops, read from / added to ``cache``.

    The backbone is loaded (:func:`load_backbone`, with ``weights``) only when some image is not
    in the cache; raises ``ValueError`` naming the sample whose image is missing or unreadable.
    """
    boxes = [crop_box(s) for s in samples]
    keys = [cache_key(s, b) for s, b in zip(samples, boxes)]
    entries = read_cache(Path(cache), backbone) if cache is not None else {}
    missing = [i for i, k in enumerate(keys) if k not in entries]
    if missing:
        log.info("computing %s features of %d images", backbone, len(missing))
        net = load_backbone(backbone, weights)
    for start in range(0, len(missing), chunk):
        part = missing[start:start + chunk]
        crops = torch.stack([load_crop(samples[i], boxes[i]) for i in part])
        for i, feature in zip(part, compute_features(net, crops).numpy()):
            entries[keys[i]] = feature.astype(np.float32)
        if cache is not None:
            write_cache(Path(cache), backbone, entries)
    if not samples:
        return torch.zeros(0, backbone_features(backbone))
    return torch.as_tensor(np.stack([entries[k] for k in keys]), dtype=torch.float32)
