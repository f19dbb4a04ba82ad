"""A self-contained HTML report (one file, images embedded) plus the same table in Markdown and JSON."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

METRICS = ("smpl_cm", "object_cm", "rot_deg", "transl_cm")
METRIC_TITLES = {"smpl_cm": "SMPL (cm)", "object_cm": "Object (cm)", "rot_deg": "Rot. (deg)", "transl_cm": "Transl. (cm)"}
PUBLISHED_WILDHOI = {
    "PHOSA (published, WildHOI)": {"smpl_cm": 4.72, "object_cm": 50.08, "rot_deg": 11.90, "transl_cm": 33.22},
    "paper (published, WildHOI)": {"smpl_cm": 4.43, "object_cm": 17.48, "rot_deg": 10.12, "transl_cm": 13.13},
}
"""Published WildHOI rows (paper Table 3), measured on different (real) data: for reference only."""

Table = dict[str, dict[str, dict[str, float]]]
"""{preset: {category or "mean": {metric: value}}}."""


@dataclass
class Figure:
    """A row of labelled images."""

    title: str
    images: dict[str, np.ndarray]


@dataclass
class Report:
    """Everything the report shows."""

    title: str
    table: Table
    categories: list[str]
    plots: dict[str, bytes] = field(default_factory=dict)
    """Titled PNG plots."""
    figures: list[Figure] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    """Command, seed, versions, timings."""
    notes: list[str] = field(default_factory=list)
    """Findings stated in words (e.g. whether the paper's result was reproduced)."""


def png_bytes(image: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 image as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _img_tag(png: bytes, alt: str, width: int | None = None) -> str:
    data = base64.b64encode(png).decode()
    size = f' width="{width}"' if width else ""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"{size}>'


def _fmt(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.2f}"


def markdown_table(table: Table, categories: list[str], published: bool = True) -> str:
    """The results table in the paper's Table 3/4 layout: rows = presets, column groups = categories + mean."""
    groups = [*categories, "mean"]
    head = "| preset | " + " | ".join(f"{g} {METRIC_TITLES[m]}" for g in groups for m in METRICS) + " |"
    rule = "|---" * (1 + len(groups) * len(METRICS)) + "|"
    rows = [f"| {p} | " + " | ".join(_fmt(table[p].get(g, {}).get(m)) for g in groups for m in METRICS) + " |"
            for p in table]
    if published:
        empty = " | ".join("–" for _ in categories for _ in METRICS)
        rows += [f"| {name} | {empty} | " + " | ".join(_fmt(v[m]) for m in METRICS) + " |"
                 for name, v in PUBLISHED_WILDHOI.items()]
    return "\n".join([head, rule, *rows]) + "\n"


def _html_table(table: Table, categories: list[str]) -> str:
    groups = [*categories, "mean"]
    top = "<tr><th rowspan=2>preset</th>" + "".join(f"<th colspan={len(METRICS)}>{html.escape(g)}</th>" for g in groups) + "</tr>"
    sub = "<tr>" + "".join(f"<th>{METRIC_TITLES[m]}</th>" for _ in groups for m in METRICS) + "</tr>"
    body = ["<tr><td>" + html.escape(p) + "</td>" + "".join(
        f"<td>{_fmt(table[p].get(g, {}).get(m))}</td>" for g in groups for m in METRICS) + "</tr>" for p in table]
    pad = "".join("<td>–</td>" for _ in categories for _ in METRICS)
    body += [f'<tr class="published"><td>{html.escape(n)}</td>{pad}' + "".join(f"<td>{_fmt(v[m])}</td>" for m in METRICS)
             + "</tr>" for n, v in PUBLISHED_WILDHOI.items()]
    return f'<table id="results">{top}{sub}{"".join(body)}</table>'


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f0f2f5}tr.published td{color:#777;font-style:italic}td:first-child{text-align:left}
.fig{display:flex;gap:6px;flex-wrap:wrap;align-items:flex-start}.fig div{text-align:center;font-size:12px}
.meta td{text-align:left}"""


IMAGE_CHECK = """<script>window.addEventListener('load', () => {
const imgs = Array.from(document.images);
const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);});</script>"""
"""Records on the page how many embedded images decoded (read by the rendering test)."""


def render_html(report: Report) -> str:
    """The whole report as one HTML string with every image inlined."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{html.escape(report.title)}</h1>"]
    parts += [f"<p>{html.escape(n)}</p>" for n in report.notes]
    parts.append("<h2>Results (WildHOI protocol, synthetic test split)</h2>")
    parts.append(_html_table(report.table, report.categories))
    parts.append("<p><i>Published rows were measured on the real WildHOI images, not on this data; they are shown "
                 "for reference only.</i></p>")
    for name, png in report.plots.items():
        parts.append(f"<h2>{html.escape(name)}</h2>{_img_tag(png, name)}")
    if report.figures:
        parts.append("<h2>Qualitative results</h2>")
    for fig in report.figures:
        cells = "".join(f"<div>{_img_tag(png_bytes(img), label, 200)}<br>{html.escape(label)}</div>"
                        for label, img in fig.images.items())
        parts.append(f"<h3>{html.escape(fig.title)}</h3><div class='fig'>{cells}</div>")
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in report.meta.items())
    parts.append(f"<h2>Run</h2><table class='meta'>{rows}</table>{IMAGE_CHECK}</body></html>")
    return "".join(parts)
