"""KNN grouping of images across views (paper eq. 11-12), its search kernels and its quality.

* ``distances``: the eq. (11) skew-ray distance, paired and pairwise;
* ``search``: exact tiled top-k and approximate (NN-descent) search, with the optional numba
  kernels of ``_numba``;
* ``knn``: the groups of eq. (12) with their loss weights (:class:`Grouping`);
* ``chunked``: the same exact search out of core, in blocks, resumable;
* ``quality``: neighbours' true 3D distance against chance.
"""

from hoirecon.prior.grouping.knn import (
    Grouping,
    GroupingConfig,
    group_images,
    neighbour_weights,
    recall_at_k,
)
from hoirecon.prior.grouping.quality import GroupingQuality, streamed_quality

__all__ = [
    "Grouping",
    "GroupingConfig",
    "GroupingQuality",
    "group_images",
    "neighbour_weights",
    "recall_at_k",
    "streamed_quality",
]
