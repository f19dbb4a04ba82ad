import pytest

from hoirecon.experiments.document import Document, Heading, Paragraph, Table, to_html, to_markdown


def _doc() -> Document:
    doc = Document("Title <1>")
    doc.add(Heading("Part"), Paragraph("hoirecon experiment losses --seeds 3", code=True),
            Table(("row", "value"), (("a|b", "1.0"), ("<c>", "2.0")), css="published"))
    return doc


def test_markdown_has_headings_code_and_escaped_tables() -> None:
    text = to_markdown(_doc())
    assert text.startswith("# Title <1>\n")
    assert "## Part" in text and "```\nhoirecon experiment losses --seeds 3\n```" in text
    assert "| row | value |\n|---|---|\n| a\\|b | 1.0 |" in text


def test_html_is_one_escaped_page() -> None:
    page = to_html(_doc())
    assert page.startswith("<!doctype html>") and page.endswith("</body></html>")
    assert "&lt;c&gt;" in page and "<c>" not in page and "Title &lt;1&gt;" in page
    assert '<table class="published">' in page and "<pre>hoirecon experiment" in page
    assert "http" not in page  # nothing loaded from elsewhere


def test_rows_must_match_the_header() -> None:
    with pytest.raises(ValueError, match="2 cells"):
        Table(("a", "b"), (("1",),))
