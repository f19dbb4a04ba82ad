"""The HTML of a human-study page: one self-contained file (pictures embedded, no network).

The page shows one pair at a time: the input photo, then two reconstructions side by side
(each its overlay on the photo and a side view), and asks for a forced choice (buttons, or the
arrow / 1-2 keys). Answers live in the page (and in ``localStorage`` when the browser allows it,
so a reload resumes); the download button saves them as JSON with the study id and the sealed
side key (:mod:`hoirecon.viz.study_key`), which ``hoirecon study score`` reads. The page never
names the methods. ``data-answered="k/n"`` on ``<body>`` says how far the participant is.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

RESPONSES_FORMAT = "hoirecon-study-responses"
"""The ``format`` field of a downloaded answers file."""


@dataclass(frozen=True)
class PagePair:
    """The pictures of one pair, as data URIs, in display order."""

    image_id: str
    input_uri: str
    left_uri: str
    right_uri: str


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
header p{color:#444;max-width:60em}
.pair{display:none}.pair.current{display:block}
.input{text-align:center}.input img{height:220px;border:1px solid #ccc}
.sides{display:flex;gap:1em;justify-content:center;margin-top:.8em}
figure{margin:0;text-align:center;flex:1}figure img{height:240px;max-width:100%;object-fit:contain;border:1px solid #ccc}
button{font-size:1.05em;padding:.5em 1.2em;margin:.5em .3em;cursor:pointer}
button.chosen{outline:3px solid #2a7;font-weight:bold}
#status{margin:.8em 0;font-weight:bold}#done{display:none;color:#2a7}
"""

SCRIPT = """
const study = JSON.parse(document.getElementById('study-data').textContent);
const pairs = Array.from(document.querySelectorAll('.pair'));
const storeKey = 'hoirecon-study-' + study.study_id;
let answers = {}; let current = 0; let shownAt = Date.now();
try { answers = JSON.parse(localStorage.getItem(storeKey) || '{}'); } catch (e) { answers = {}; }
function save() { try { localStorage.setItem(storeKey, JSON.stringify(answers)); } catch (e) {} }
function answered() { return Object.keys(answers).length; }
function show(i) {
  current = Math.max(0, Math.min(pairs.length - 1, i));
  pairs.forEach((p, k) => p.classList.toggle('current', k === current));
  const a = answers[current];
  pairs[current].querySelectorAll('button.choice').forEach(
    b => b.classList.toggle('chosen', !!a && b.dataset.choice === a.choice));
  document.getElementById('status').textContent =
    'Pair ' + (current + 1) + ' of ' + pairs.length + ' \\u2014 answered ' + answered() + ' of ' + pairs.length;
  document.body.dataset.answered = answered() + '/' + pairs.length;
  document.getElementById('done').style.display = answered() === pairs.length ? 'block' : 'none';
  shownAt = Date.now();
}
function choose(choice) {
  answers[current] = {pair: current, image_id: pairs[current].dataset.image, choice: choice,
                      seconds: (Date.now() - shownAt) / 1000};
  save();
  const next = pairs.findIndex((p, k) => !(k in answers));
  show(next === -1 ? current : next);
}
function download() {
  const out = {format: study.format, version: 1, study_id: study.study_id, sealed: study.sealed, tag: study.tag,
               pairs: pairs.length, participant: document.getElementById('participant').value.trim(),
               complete: answered() === pairs.length, saved_at: new Date().toISOString(),
               choices: Object.values(answers).sort((a, b) => a.pair - b.pair)};
  const blob = new Blob([JSON.stringify(out, null, 2)], {type: 'application/json'});
  const link = document.createElement('a');
  const who = out.participant.replace(/[^A-Za-z0-9_-]/g, '') || 'anonymous';
  link.href = URL.createObjectURL(blob);
  link.download = 'study-' + study.study_id + '-' + who + '.json';
  document.body.appendChild(link); link.click(); link.remove();
}
document.querySelectorAll('button.choice').forEach(b => b.addEventListener('click', () => choose(b.dataset.choice)));
document.getElementById('prev').addEventListener('click', () => show(current - 1));
document.getElementById('next').addEventListener('click', () => show(current + 1));
document.querySelectorAll('button.download').forEach(b => b.addEventListener('click', download));
document.addEventListener('keydown', e => {
  if (e.target.tagName === 'INPUT') return;
  if (e.key === 'ArrowLeft' || e.key === '1') choose('left');
  if (e.key === 'ArrowRight' || e.key === '2') choose('right');
});
const firstOpen = pairs.findIndex((p, k) => !(k in answers));
show(firstOpen === -1 ? 0 : firstOpen);
"""


def _pair_html(index: int, pair: PagePair) -> str:
    image = html.escape(pair.image_id)
    return (f'<section class="pair" id="pair-{index}" data-image="{image}">'
            f'<div class="input"><img alt="input photo" src="{pair.input_uri}"></div>'
            '<div class="sides">'
            f'<figure><img alt="left reconstruction" src="{pair.left_uri}"><figcaption>'
            '<button class="choice" data-choice="left">Left is better (&larr; or 1)</button></figcaption></figure>'
            f'<figure><img alt="right reconstruction" src="{pair.right_uri}"><figcaption>'
            '<button class="choice" data-choice="right">Right is better (&rarr; or 2)</button></figcaption></figure>'
            '</div></section>')


def study_html(pairs: list[PagePair], study_id: str, sealed: str, tag: str, title: str) -> str:
    """The whole page; ``sealed`` and ``tag`` come from the study key and say nothing without it."""
    if not pairs:
        raise ValueError("a study page needs at least one pair")
    data = json.dumps({"format": RESPONSES_FORMAT, "study_id": study_id, "sealed": sealed, "tag": tag})
    body = "\n".join(_pair_html(i, p) for i, p in enumerate(pairs))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head>
<body data-answered="0/{len(pairs)}">
<header><h1>{html.escape(title)}</h1>
<p>Each page shows a photo and two 3D reconstructions of the person and the object in it. Each
reconstruction is drawn over the photo (left picture of the pair) and seen from the side (right
picture). Choose the reconstruction whose person&ndash;object arrangement looks more correct, above
all from the side. There is no &ldquo;same&rdquo; answer: if unsure, pick the more plausible one.
When done, download your answers and send the file back.</p>
<label>Your name or code (optional): <input id="participant" type="text" size="20"></label></header>
<div id="status"></div>
{body}
<nav><button id="prev">&laquo; Previous</button><button id="next">Next &raquo;</button>
<button class="download" id="download">Download answers</button></nav>
<p id="done">All pairs answered. Thank you! <button class="download" id="download-done">Download answers</button></p>
<script type="application/json" id="study-data">{data}</script>
<script>{SCRIPT}</script>
</body></html>
"""
