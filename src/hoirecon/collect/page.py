"""The annotation page (the paper's person in the loop): what it shows, as one HTML document.

:func:`page_images` lists the images to annotate (a folder of photos or a built dataset's
rows), each with its camera and the detected person when a keypoint file or the dataset has
one; :func:`render_page` writes the page. Two ways to use it:

* ``mode="server"``: served by :mod:`hoirecon.collect.server` on 127.0.0.1; images are fetched
  from the server and every image's annotation is posted back and written atomically;
* ``mode="file"``: one self-contained HTML file (images embedded), which keeps its work in the
  browser's local storage and downloads the annotation JSON (``s`` or the button).

Either way the page starts at the first image not marked done, so reopening it continues.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hoirecon.collect.evidence_files import find_evidence, read_intrinsics
from hoirecon.collect.frames import image_files
from hoirecon.collect.page_script import SCRIPT, STYLE
from hoirecon.data import load_dataset
from hoirecon.data.format import MANIFEST_NAME
from hoirecon.data.readers.common import image_size
from hoirecon.data.readers.person_keypoints import choose_person, read_people, to_coco17
from hoirecon.objects import ObjectTemplate

TEMPLATE_POINTS = 600
"""Template vertices drawn in the page (evenly spread)."""
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".bmp": "image/bmp", ".webp": "image/webp"}


@dataclass(frozen=True)
class PageImage:
    """One image of the page."""

    image_id: str
    path: Path
    size: tuple[int, int]
    intrinsics: np.ndarray
    person: np.ndarray | None
    """(17, 3) COCO keypoints of the detected person, or None."""


def _folder_person(image_id: str, folder: Path) -> np.ndarray | None:
    path = find_evidence(image_id, folder).person_keypoints
    if path is None:
        return None
    try:
        people = read_people(path)
        return to_coco17(choose_person(people)).keypoints if people else None
    except ValueError:
        return None  # the build reports a broken keypoint file; the page just shows no person


def _folder_images(folder: Path) -> list[PageImage]:
    out = []
    for path in image_files(folder):
        try:
            size = image_size(path)
            K = read_intrinsics(path, find_evidence(path.stem, folder).camera, None)
        except ValueError:
            continue  # unreadable images are left out of the page (the build reports them)
        out.append(PageImage(path.stem, path, size, K, _folder_person(path.stem, folder)))
    return out


def _dataset_images(root: Path, category: str) -> list[PageImage]:
    data = load_dataset(root)
    return [PageImage(s.image_id, s.image_path, s.image_size, s.intrinsics, s.coco_keypoints)
            for s in data.samples(category) if s.image_path is not None and s.image_path.is_file()]


def page_images(source: str | Path, category: str) -> list[PageImage]:
    """The images of a folder of photos, or of a dataset folder's category; ValueError when none."""
    source = Path(source)
    if not source.is_dir():
        raise ValueError(f"{source}: expected a folder of images or a dataset folder")
    images = _dataset_images(source, category) if (source / MANIFEST_NAME).is_file() else _folder_images(source)
    if not images:
        raise ValueError(f"{source}: no readable image to annotate")
    return images


def default_annotation_path(source: str | Path, category: str) -> Path:
    """Where the annotations of ``source`` live unless told otherwise: ``<source>/<category>.annotations.json``."""
    return Path(source) / f"{category}.annotations.json"


def template_data(template: ObjectTemplate) -> dict[str, Any]:
    """The template as the page draws it: keypoints (k, 3), a few vertices, its diameter."""
    vertices = np.asarray(template.vertices, dtype=np.float64)
    keep = np.unique(np.linspace(0, len(vertices) - 1, min(TEMPLATE_POINTS, len(vertices))).round().astype(int))
    return {"keypoints": np.round(np.asarray(template.keypoints), 5).tolist(),
            "points": np.round(vertices[keep], 4).tolist(), "diameter": float(template.diameter)}


def _data_url(path: Path) -> str:
    mime = MIME.get(path.suffix.lower(), "image/png")
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def page_data(images: list[PageImage], category: str, template: ObjectTemplate, annotations: dict[str, Any],
              mode: str, file_name: str) -> dict[str, Any]:
    """Everything the page script reads (embedded in the page as JSON)."""
    if mode not in ("server", "file"):
        raise ValueError(f"mode: expected 'server' or 'file', got {mode!r}")
    return {
        "mode": mode, "category": category, "names": list(template.keypoint_names), "template": template_data(template),
        "annotations": annotations.get("images", {}), "file_name": file_name,
        "storage_key": f"hoirecon-annotations:{category}:{file_name}",
        "images": [{"id": im.image_id, "width": im.size[0], "height": im.size[1],
                    "src": f"/image/{i}" if mode == "server" else _data_url(im.path),
                    "K": np.asarray(im.intrinsics).tolist(),
                    "person": None if im.person is None else np.asarray(im.person).tolist()}
                   for i, im in enumerate(images)],
    }


def render_page(data: dict[str, Any]) -> str:
    """The page: layout, the data as JSON, the script."""
    payload = json.dumps(data).replace("</", "<\\/")
    title = html.escape(f"hoirecon annotate: {data['category']}")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>{STYLE}</style></head>
<body>
<div id="left"><div class="bar" id="status"></div><canvas id="image" width="640" height="480"></canvas>
<div class="bar" id="reproj" data-error=""></div>
<div class="bar">click: place keypoint, shift+click: hidden keypoint, i: invisible, u: clear, 1-9: pick keypoint,
b: draw box, x: swap person left/right, n / &rarr;: save and next, p / &larr;: previous, s: save</div></div>
<div id="right"><canvas id="template" width="320" height="320"></canvas>
<div class="bar">object keypoints ({html.escape(data['category'])}), drag the picture to turn it</div>
<ol id="names"></ol><button id="download">Download annotations</button></div>
<script type="application/json" id="hoi-data">{payload}</script>
<script>{SCRIPT}</script>
</body></html>
"""
