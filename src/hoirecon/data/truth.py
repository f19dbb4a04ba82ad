"""Ground truth of dataset samples, for evaluation and for the training modes that are ablations.

Everything outside ``eval`` that reads ground truth goes through this module: the grouping
quality measure, the best-of-n error of a prior, and the ablation supervisions ``3d`` and
``2d-gt-groups``. The fit and the prior's condition never import it (an import-linter contract
in ``pyproject.toml`` holds that rule), so a fit cannot come to depend on the truth by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hoirecon.data.sample import Sample


def has_truth(samples: Sequence[Sample]) -> bool:
    """Whether every sample carries ground truth (False for an empty sequence)."""
    return bool(samples) and all(s.gt is not None for s in samples)


def with_truth(samples: Sequence[Sample]) -> list[Sample]:
    """The samples that carry ground truth, in order."""
    return [s for s in samples if s.gt is not None]


def true_x3d(samples: Sequence[Sample]) -> np.ndarray:
    """Ground-truth 3D keypoints (B, K, 3) float32 in the human frame: the 22 body joints, then the
    object keypoints. Raises ``ValueError`` naming samples without ground truth."""
    missing = [s.image_id for s in samples if s.gt is None]
    if missing:
        raise ValueError(f"samples without ground truth: {missing[:5]}")
    pts = [np.concatenate([s.gt.joints_3d, s.gt.object_keypoints_3d]) for s in samples]
    return np.stack(pts).astype(np.float32)


def true_instances(samples: Sequence[Sample]) -> np.ndarray:
    """(B,) int64 instance number of each sample: equal numbers show the same 3D interaction (other
    views and frames of it). Raises ``ValueError`` naming samples without ground truth or without an
    instance id (a dataset of unrelated images has no true groups)."""
    missing = [s.image_id for s in samples if s.gt is None or s.gt.instance_id is None]
    if missing:
        raise ValueError(f"samples without a ground-truth instance id (gt_instance_id): {missing[:5]}")
    _, numbers = np.unique([s.gt.instance_id for s in samples], return_inverse=True)
    return numbers.astype(np.int64).reshape(len(samples))


def has_instances(samples: Sequence[Sample]) -> bool:
    """Whether every sample carries a ground-truth instance id (False for an empty sequence)."""
    return bool(samples) and all(s.gt is not None and s.gt.instance_id is not None for s in samples)
