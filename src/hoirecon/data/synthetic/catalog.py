"""The registry of interaction families: which family draws each built-in category."""

from __future__ import annotations

from hoirecon.data.synthetic import recipes_other, recipes_sports
from hoirecon.data.synthetic.families import Family

FAMILIES: dict[str, Family] = {**recipes_sports.FAMILIES, **recipes_other.FAMILIES}
"""Every built-in category's family, by category name."""


def get_family(category: str) -> Family:
    """The interaction family of a built-in category; ``ValueError`` naming the known ones otherwise."""
    if category not in FAMILIES:
        raise ValueError(f"no synthetic interaction family for category {category!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[category]
