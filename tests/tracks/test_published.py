"""The report's published rows carry exactly the metrics of our protocols."""

from __future__ import annotations

import pytest

from hoirecon.eval.protocols import HUMAN_METRICS, OBJECT_METRICS
from hoirecon.eval.protocols.rhobin_joint import chamfer_metrics
from hoirecon.tracks.published import published_rows

KEYS = {"object": OBJECT_METRICS, "human": HUMAN_METRICS, "joint": chamfer_metrics("mm")}


@pytest.mark.parametrize("track", list(KEYS))
def test_rows_use_our_metric_keys(track: str) -> None:
    rows = published_rows(track)
    assert rows and all(set(values) == {m.key for m in KEYS[track]} for _, values in rows)


def test_table_values() -> None:
    assert dict(published_rows("joint"))["KHOR"] == {"smpl_cd_mm": 45.1, "object_cd_mm": 87.2}
    with pytest.raises(ValueError, match="track"):
        published_rows("hands")
