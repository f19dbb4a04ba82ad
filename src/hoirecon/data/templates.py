"""The object template a dataset uses for a category, as its manifest names it."""

from __future__ import annotations

from hoirecon.data.dataset import Dataset
from hoirecon.objects import ObjectTemplate, load_template


def dataset_template(dataset: Dataset, category: str) -> ObjectTemplate:
    """The object template a dataset's manifest names for a category (``builtin:<name>`` or a
    mesh path relative to the dataset folder)."""
    spec = str(dataset.category_info(category).get("template", f"builtin:{category}"))
    if spec.startswith("builtin:"):
        return load_template(spec.removeprefix("builtin:"))
    return load_template(dataset.root / spec)
