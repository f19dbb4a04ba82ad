"""The annotation page served on 127.0.0.1 (standard library only), saving after every image.

``GET /`` is the page, ``GET /image/<n>`` the n-th image, ``GET /annotations`` the current
document, ``POST /save`` with ``{"image_id", "record"}`` checks the record (right template, the
image is one of the page's) and rewrites the annotation file atomically. The server listens on
the loopback interface only: the page and the photos are never exposed to the network.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from hoirecon.collect.annotations import AnnotationError, image_annotation, load_or_create, write_annotations
from hoirecon.collect.page import MIME, PageImage, page_data, page_images, render_page
from hoirecon.io.atomic import atomic_write_text
from hoirecon.objects import ObjectTemplate, load_template

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
MAX_BODY = 1 << 20


class AnnotationState:
    """The page, its images and the annotation document, shared by the request handlers."""

    def __init__(self, images: list[PageImage], category: str, template: ObjectTemplate, path: Path) -> None:
        self.images, self.category, self.template, self.path = images, category, template, Path(path)
        self.document = load_or_create(path, category, list(template.keypoint_names))
        self.ids = {im.image_id for im in images}
        self.lock = threading.Lock()

    def page(self) -> bytes:
        """The page, with the annotations saved so far."""
        with self.lock:
            data = page_data(self.images, self.category, self.template, self.document, "server", self.path.name)
        return render_page(data).encode("utf-8")

    def save(self, payload: Any) -> str | None:
        """Store one image's record and write the file; the problem, or None when saved."""
        if not isinstance(payload, dict) or not isinstance(payload.get("image_id"), str):
            return "expected {\"image_id\": ..., \"record\": {...}}"
        image_id, record = payload["image_id"], payload.get("record")
        if image_id not in self.ids:
            return f"image {image_id!r} is not on this page"
        probe = {**self.document, "images": {image_id: record}}
        try:
            image_annotation(probe, image_id, self.category, list(self.template.keypoint_names), source=str(self.path))
        except AnnotationError as err:
            return str(err)
        with self.lock:
            self.document["images"][image_id] = record
            write_annotations(self.path, self.document)
        return None


def _handler(state: AnnotationState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            log.debug("annotate: " + format, *args)

        def _send(self, code: int, body: bytes, mime: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, value: Any) -> None:
            self._send(code, json.dumps(value).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path in ("/", "/index.html"):
                self._send(200, state.page(), "text/html; charset=utf-8")
            elif self.path == "/annotations":
                self._json(200, state.document)
            elif self.path.startswith("/image/") and self.path[7:].isdigit() and int(self.path[7:]) < len(state.images):
                path = state.images[int(self.path[7:])].path
                self._send(200, path.read_bytes(), MIME.get(path.suffix.lower(), "application/octet-stream"))
            else:
                self._json(404, {"ok": False, "error": f"no such page {self.path}"})

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", "0") or 0)
            if self.path != "/save" or not 0 < length <= MAX_BODY:
                self._json(400, {"ok": False, "error": "POST /save with a JSON body"})
                return
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError as err:
                self._json(400, {"ok": False, "error": f"not JSON ({err})"})
                return
            problem = state.save(payload)
            self._json(200 if problem is None else 400, {"ok": problem is None, "error": problem})

    return Handler


class AnnotationServer:
    """A running annotation server: ``url``, :meth:`serve_forever`, :meth:`shutdown`."""

    def __init__(self, state: AnnotationState, port: int = 0) -> None:
        self.state = state
        self.httpd = ThreadingHTTPServer((HOST, port), _handler(state))

    @property
    def url(self) -> str:
        """The page's address."""
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (or Ctrl-C in the CLI)."""
        self.httpd.serve_forever()

    def start(self) -> threading.Thread:
        """Serve from a background thread (for tests and embedding)."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()


def annotation_server(source: str | Path, category: str, path: str | Path, port: int = 0) -> AnnotationServer:
    """A server for the images of ``source`` (photos or a dataset folder) saving to ``path``."""
    template = load_template(category)
    return AnnotationServer(AnnotationState(page_images(source, category), category, template, Path(path)), port)


def write_page_file(source: str | Path, category: str, annotations: str | Path, out: str | Path) -> Path:
    """The self-contained page (images embedded) as one HTML file, with the annotations of
    ``annotations`` (when the file exists) already in it; it downloads ``<annotations name>``."""
    template = load_template(category)
    document = load_or_create(annotations, category, list(template.keypoint_names))
    data = page_data(page_images(source, category), category, template, document, "file", Path(annotations).name)
    return atomic_write_text(out, render_page(data))
