"""Built-in procedural templates for the WildHOI categories, at real-world size.

Each category is built from trimesh primitives by its own module (frames, keypoints and
symmetries are documented there): ``sports`` (barbell, baseball_bat, basketball,
tennis_racket, yoga_ball), ``wheeled`` (bicycle, skateboard) and ``instruments`` (cello,
violin). Keypoint counts follow the WildHOI annotation: barbell 4, baseball_bat 2,
basketball 1, bicycle 10, cello 14, skateboard 8, tennis_racket 7, violin 14, yoga_ball 1.
Templates are built once per process and shared; their arrays are read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from hoirecon.objects import instruments, sports, wheeled
from hoirecon.objects.template import ObjectTemplate

_BUILDERS: dict[str, Callable[[], ObjectTemplate]] = {
    "barbell": sports.barbell,
    "baseball_bat": sports.baseball_bat,
    "basketball": sports.basketball,
    "bicycle": wheeled.bicycle,
    "cello": instruments.cello,
    "skateboard": wheeled.skateboard,
    "tennis_racket": sports.tennis_racket,
    "violin": instruments.violin,
    "yoga_ball": sports.yoga_ball,
}

CATEGORIES: tuple[str, ...] = tuple(_BUILDERS)
"""Names of the built-in templates (the WildHOI categories)."""

KEYPOINT_COUNTS: dict[str, int] = {
    "barbell": 4,
    "baseball_bat": 2,
    "basketball": 1,
    "bicycle": 10,
    "cello": 14,
    "skateboard": 8,
    "tennis_racket": 7,
    "violin": 14,
    "yoga_ball": 1,
}
"""Number of object keypoints per category in the WildHOI annotation."""


@cache
def get_category_template(name: str) -> ObjectTemplate:
    """The built-in template of category ``name`` (built on first use, then cached).

    Raises:
        ValueError: if ``name`` is not one of :data:`CATEGORIES`.
    """
    if name not in _BUILDERS:
        raise ValueError(
            f"unknown object category {name!r}; expected one of {', '.join(CATEGORIES)}"
        )
    return _BUILDERS[name]()
