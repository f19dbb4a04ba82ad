"""The annotation page in headless Chromium (served on 127.0.0.1, and as one HTML file): load,
click keypoints, see the reprojection, save, reload and continue; the saved file is what
``data build`` reads. Also the server's checks of what it is asked to save."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from hoirecon.collect.build import BuildConfig, build_dataset
from hoirecon.collect.server import annotation_server, write_page_file


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(url + "save", json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return json.loads(err.read())


@pytest.fixture
def unannotated(photo_folder) -> tuple[Path, dict]:
    """The photo folder without its annotation file, and the clicks a person would make."""
    folder, _ = photo_folder
    target = folder / "skateboard.annotations.json"
    clicks = json.loads(target.read_text())["images"]
    target.unlink()
    return folder, clicks


def _click_image(page, clicks: list) -> list[float | None]:
    """Click one image's keypoints in template order ('i' for the invisible ones); the page's
    reprojection error after each."""
    left, top = page.evaluate("(() => { const r = document.getElementById('image').getBoundingClientRect();"
                              " return [r.left, r.top]; })()")
    scale = page.evaluate("hoi.scale")
    seen = []
    for u, v, state in clicks:
        if state == 0:
            page.key("i")
        else:
            page.click(left + u * scale, top + v * scale, shift=state == 1)
        seen.append(page.evaluate("hoi.reprojection"))
    return seen


def test_server_refuses_bad_saves(unannotated) -> None:
    folder, clicks = unannotated
    server = annotation_server(folder, "skateboard", folder / "a.json")
    server.start()
    try:
        image_id = sorted(clicks)[0]
        assert _post(server.url, {"image_id": "nope", "record": clicks[image_id]})["error"].startswith("image 'nope'")
        wrong = {**clicks[image_id], "category": "violin"}
        assert "'violin'" in _post(server.url, {"image_id": image_id, "record": wrong})["error"]
        assert not (folder / "a.json").exists()
        assert _post(server.url, {"image_id": image_id, "record": clicks[image_id]}) == {"ok": True, "error": None}
        assert json.loads((folder / "a.json").read_text())["images"][image_id] == clicks[image_id]
        with urllib.request.urlopen(server.url + "image/0", timeout=10) as reply:
            assert reply.read()[:4] == b"\x89PNG"
    finally:
        server.shutdown()


@pytest.mark.slow
def test_annotate_in_chromium_then_build(unannotated, chromium_page, tmp_path: Path) -> None:
    folder, clicks = unannotated
    saved = folder / "skateboard.annotations.json"
    server = annotation_server(folder, "skateboard", saved)
    server.start()
    try:
        chromium_page.open(server.url)
        ids = chromium_page.evaluate("DATA.images.map(im => im.id)")
        assert chromium_page.evaluate("hoi.index") == 0 and chromium_page.evaluate("hoi.reprojection") is None
        for n in range(2):
            errors = _click_image(chromium_page, clicks[ids[n]]["keypoints"])
            placed = np.cumsum([s > 0 for _, _, s in clicks[ids[n]]["keypoints"]])
            assert all(e is None for e, p in zip(errors, placed, strict=True) if p < 4)
            assert errors[-1] is not None and errors[-1] < 5.0  # the template reprojects onto the clicks
            assert "reprojection error" in chromium_page.evaluate("document.getElementById('reproj').textContent")
            left, top, scale = chromium_page.evaluate("(() => { const r = document.getElementById('image')"
                                                      ".getBoundingClientRect(); return [r.left, r.top, hoi.scale]; })()")
            chromium_page.key("b")  # draw the object box
            chromium_page.drag((left + 40 * scale, top + 50 * scale), (left + 200 * scale, top + 220 * scale))
            chromium_page.key("n")
            chromium_page.wait_for(f"hoi.index === {n + 1} && hoi.saved === {n + 1}")
            record = json.loads(saved.read_text())["images"][ids[n]]
            expected = np.array(clicks[ids[n]]["keypoints"])
            got = np.array(record["keypoints"])
            assert record["done"] and np.array_equal(got[:, 2], expected[:, 2])
            assert np.allclose(record["box"], [40, 50, 200, 220], atol=0.5)
            assert np.abs(got[:, :2] - expected[:, :2])[expected[:, 2] > 0].max() < 1.0
        chromium_page.key("x")  # the person's left and right swapped on the third image, then saved
        chromium_page.key("s")
        chromium_page.wait_for("hoi.saved === 3")
        chromium_page.open(server.url)  # reopening continues at the first image not done
        assert chromium_page.evaluate("hoi.index") == 2 and chromium_page.evaluate("hoi.record.swap_left_right")
    finally:
        server.shutdown()
    summary = build_dataset(folder, tmp_path / "ds", BuildConfig("skateboard"), annotations=saved)
    assert summary.kept == 2 and summary.reasons == {"no-object-evidence": len(clicks) - 2}


@pytest.mark.slow
def test_self_contained_page_downloads_the_annotations(unannotated, chromium_page, tmp_path: Path) -> None:
    folder, clicks = unannotated
    page = write_page_file(folder, "skateboard", folder / "skateboard.annotations.json", tmp_path / "page.html")
    chromium_page.open(page.as_uri())
    first = chromium_page.evaluate("DATA.images[0].id")
    errors = _click_image(chromium_page, clicks[first]["keypoints"])
    assert errors[-1] is not None and errors[-1] < 5.0
    chromium_page.key("n")
    chromium_page.wait_for("hoi.index === 1")
    chromium_page.key("s")
    target = chromium_page.downloads / "skateboard.annotations.json"
    end = time.monotonic() + 20
    while not target.is_file() and time.monotonic() < end:
        time.sleep(0.1)
    doc = json.loads(target.read_text())
    assert doc["images"][first]["done"] and doc["category"] == "skateboard"
    chromium_page.open(page.as_uri())  # local storage keeps the work: it continues at the second image
    assert chromium_page.evaluate("hoi.index") == 1
    summary = build_dataset(folder, tmp_path / "ds", BuildConfig("skateboard"), annotations=target)
    assert summary.kept == 1
