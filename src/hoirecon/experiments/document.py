"""A small document model (headings, paragraphs, tables) rendered to Markdown and to one HTML file.

The experiment report is written twice, as ``report.md`` and as a self-contained
``report.html``; building it once as blocks keeps the two identical in content.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A section title; level 2 is a section, 3 a subsection."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text."""

    text: str
    code: bool = False
    """Render as a code block (commands)."""


@dataclass(frozen=True)
class Table:
    """A table of text cells: a header and rows of the same width."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    css: str = ""
    """HTML class of the table (``published`` greys it out)."""

    def __post_init__(self) -> None:
        """Reject rows whose width differs from the header's."""
        bad = [r for r in self.rows if len(r) != len(self.header)]
        if bad:
            raise ValueError(f"table {self.header[:2]}: {len(bad)} row(s) do not have {len(self.header)} cells")


Block = Heading | Paragraph | Table


@dataclass
class Document:
    """A titled list of blocks."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        """Append blocks in order."""
        self.blocks.extend(blocks)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Document) -> str:
    """The document as GitHub-flavoured Markdown."""
    parts = [f"# {doc.title}"]
    for block in doc.blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(f"```\n{block.text}\n```" if block.code else block.text)
        else:
            lines = ["| " + " | ".join(_md_cell(h) for h in block.header) + " |", "|---" * len(block.header) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f0f2f5}td:first-child,th:first-child{text-align:left}table.published td{color:#666;font-style:italic}
pre{background:#f6f8fa;padding:0.6em;overflow-x:auto}"""


def to_html(doc: Document) -> str:
    """The document as one HTML page with its style inlined (no external files)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(doc.title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(doc.title)}</h1>"]
    for block in doc.blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<pre>{html.escape(block.text)}</pre>" if block.code else f"<p>{html.escape(block.text)}</p>")
        else:
            css = f' class="{block.css}"' if block.css else ""
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            parts.append(f"<table{css}><tr>{head}</tr>{body}</table>")
    parts.append("</body></html>")
    return "".join(parts)
