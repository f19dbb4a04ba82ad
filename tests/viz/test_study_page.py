"""The page text: every pair present, names escaped, the study data readable by the script."""

from __future__ import annotations

import json

import pytest

from hoirecon.viz.study_page import RESPONSES_FORMAT, PagePair, study_html


def test_page_holds_every_pair_and_escapes_text() -> None:
    pairs = [PagePair(f"img<{i}>", "data:a", "data:b", "data:c") for i in range(3)]
    page = study_html(pairs, "abc", "010", "t" * 32, "Pick <one>")
    assert page.count('<section class="pair"') == 3 and 'data-image="img&lt;1&gt;"' in page
    assert "<title>Pick &lt;one&gt;</title>" in page and 'data-answered="0/3"' in page
    data = json.loads(page.split('id="study-data">')[1].split("</script>")[0])
    assert data == {"format": RESPONSES_FORMAT, "study_id": "abc", "sealed": "010", "tag": "t" * 32}
    with pytest.raises(ValueError, match="at least one pair"):
        study_html([], "abc", "", "", "t")
