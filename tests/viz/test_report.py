import numpy as np

from hoirecon.viz.report import PUBLISHED_WILDHOI, Figure, Report, markdown_table, render_html

TABLE = {"none": {"bat": {"smpl_cm": 7.0, "object_cm": 60.0, "rot_deg": 20.0, "transl_cm": 40.0},
                  "mean": {"smpl_cm": 7.0, "object_cm": 60.0, "rot_deg": 20.0, "transl_cm": 40.0}}}


def test_markdown_table_has_groups_and_optional_published_rows() -> None:
    md = markdown_table(TABLE, ["bat"])
    assert md.splitlines()[2] == "| none | 7.00 | 60.00 | 20.00 | 40.00 | 7.00 | 60.00 | 20.00 | 40.00 |"
    assert all(name in md for name in PUBLISHED_WILDHOI)
    assert not any(name in markdown_table(TABLE, ["bat"], published=False) for name in PUBLISHED_WILDHOI)


def test_html_is_self_contained_with_every_image_inline() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    report = Report("t", TABLE, ["bat"], plots={"p": b"\x89PNG"}, figures=[Figure("f", {"a": image, "b": image})],
                    meta={"seed": "0"}, notes=["finding"])
    html = render_html(report)
    assert html.count("data:image/png;base64,") == 3 and '<table id="results">' in html
    assert "src=\"http" not in html and "finding" in html
