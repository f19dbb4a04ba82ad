"""Rigid object templates: built-in WildHOI categories, mesh + keypoint files, BEHAVE objects.

An :class:`ObjectTemplate` holds a mesh in metres, keypoints (each the mean of a vertex group),
the object's symmetries with the keypoint permutations they induce, named parts and the
body-part/object-part pairs that touch in use. Posing follows the paper's eq. (3):
``X = s * X_hat @ R.T + t``.
"""

from hoirecon.objects.io import (
    BEHAVE_OBJECTS,
    load_behave_template,
    load_template,
    save_template,
)
from hoirecon.objects.procedural import CATEGORIES, KEYPOINT_COUNTS, get_category_template
from hoirecon.objects.template import BODY_PARTS, ObjectTemplate

__all__ = [
    "BEHAVE_OBJECTS",
    "BODY_PARTS",
    "CATEGORIES",
    "KEYPOINT_COUNTS",
    "ObjectTemplate",
    "get_category_template",
    "load_behave_template",
    "load_template",
    "save_template",
]
