"""The study page end to end: made from real fits, clicked through in headless Chromium (driven
over the DevTools pipe), downloaded, unblinded and tallied; plus the page's blinding."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hoirecon.data import load_dataset
from hoirecon.data.synthetic.generator import SynthConfig, generate
from hoirecon.fitting.optimize import get_preset
from hoirecon.fitting.pipeline import fit_dataset
from hoirecon.viz.study import common_images, draw_pairs, key_path_for, make_study, method_labels
from hoirecon.viz.study_key import load_key
from hoirecon.viz.study_score import score_responses

CATEGORY = "skateboard"


@dataclass(frozen=True)
class StudyCase:
    data: Path
    fits: tuple[Path, Path]
    root: Path


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> StudyCase:
    """Four test images of a tiny synthetic split, fitted by two schedules (0 and 5 steps)."""
    root = tmp_path_factory.mktemp("study")
    data = generate(root / "data", SynthConfig(categories=(CATEGORY,), train=0, test=4, seed=0, image_size=64,
                                               workers=1))
    fit_dataset(data, CATEGORY, "test", get_preset("none", object_steps=0, joint_steps=0), root / "start")
    fit_dataset(data, CATEGORY, "test", get_preset("none", object_steps=3, joint_steps=2), root / "fitted")
    return StudyCase(data, (root / "start", root / "fitted"), root)


def test_page_is_self_contained_and_blind(case: StudyCase, tmp_path: Path) -> None:
    files = make_study(case.data, case.fits, tmp_path / "study.html", pairs=2, seed=1)
    assert files.pairs == 2 and files.key == key_path_for(files.page) == tmp_path / "study.key.json"
    page = files.page.read_text()
    key = load_key(files.key)
    assert key.methods == method_labels(case.fits) == ("start", "fitted")  # same preset: folder names
    assert page.count('<section class="pair"') == 2 and page.count("data:image/png;base64,") == 6
    assert "http://" not in page and "https://" not in page  # nothing fetched from the network
    for secret_part in (key.secret, *key.methods, *key.fits):
        assert secret_part not in page
    assert key.sealed in page and key.tag in page and len(key.image_ids) == 2


def test_sides_are_fair_coins_and_follow_the_seed() -> None:
    candidates = [("c", f"img{i}") for i in range(200)]
    chosen, left = draw_pairs(candidates, 150, seed=4)
    assert len(chosen) == 150 and len(set(chosen)) == 150 and chosen != candidates[:150]  # shuffled
    assert 0.4 < np.mean(left) < 0.6 and draw_pairs(candidates, 150, seed=4) == (chosen, left)
    other = draw_pairs(candidates, 150, seed=5)
    assert other[0] != chosen and other[1] != left
    assert draw_pairs(candidates[:3], 10, seed=0)[0].__len__() == 3


def test_page_follows_the_drawn_sides(case: StudyCase, tmp_path: Path) -> None:
    files = make_study(case.data, case.fits, tmp_path / "study.html", pairs=2, seed=7)
    key = load_key(files.key)
    candidates = common_images(load_dataset(case.data), case.fits, None)
    chosen, left = draw_pairs(candidates, 2, seed=7)
    assert key.image_ids == tuple(i for _, i in chosen) and key.left_methods() == left


def test_bad_inputs_name_the_problem(case: StudyCase, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the same"):
        make_study(case.data, (case.fits[0], case.fits[0]), tmp_path / "x.html")
    with pytest.raises(ValueError, match="baseball_bat"):
        make_study(case.data, case.fits, tmp_path / "x.html", categories=["baseball_bat"])
    with pytest.raises(ValueError, match="pairs"):
        make_study(case.data, case.fits, tmp_path / "x.html", pairs=0)
    assert len(common_images(load_dataset(case.data), case.fits, None)) == 4
    other = tmp_path / "other"
    shutil.copytree(case.fits[1], other)
    info = json.loads((other / "fit.json").read_text())
    (other / "fit.json").write_text(json.dumps({**info, "dataset_hash": "0" * 16}))
    with pytest.raises(ValueError, match="another dataset"):
        make_study(case.data, (case.fits[0], other), tmp_path / "x.html")
    assert make_study(case.data, (case.fits[0], other), tmp_path / "x.html", pairs=1, force=True).pairs == 1


class DevTools:
    """Chromium driven over ``--remote-debugging-pipe`` (fds 3/4, NUL-separated JSON messages)."""

    def __init__(self, browser: str, profile: Path) -> None:
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()

        def wire() -> None:
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                 "--remote-debugging-pipe", "--window-size=1200,1000", "about:blank"]
        self.proc = subprocess.Popen([browser, *flags], close_fds=False, preexec_fn=wire,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._next, self._replies, self.events = 0, {}, queue.Queue()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self) -> None:
        buf = b""
        while chunk := os.read(self._from_browser, 65536):
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    self.events.put(msg)

    def send(self, method: str, browser_level: bool = False, **params: object) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params}
        if self.session and not browser_level:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        with self._cond:
            assert self._cond.wait_for(lambda: self._next in self._replies, timeout=60), method
            reply = self._replies.pop(self._next)
        assert "error" not in reply, reply
        return reply["result"]

    def open(self, url: str) -> None:
        pages = [t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page"]
        self.session = self.send("Target.attachToTarget", targetId=pages[0]["targetId"], flatten=True)["sessionId"]
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && !!document.body.dataset.answered")

    def js(self, expression: str) -> object:
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while not self.js(expression):
            assert time.monotonic() < end, f"timed out waiting for {expression}"
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        box = self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                      " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                      " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def press(self, key: str, code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.mark.slow
def test_click_through_download_and_score_in_headless_chromium(case: StudyCase, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is required (installed by `make test`)"
    files = make_study(case.data, case.fits, tmp_path / "study.html", pairs=4, seed=2)
    key = load_key(files.key)
    left = key.left_methods()
    want = [0, 0, 1, 0]  # the method each pair's answer prefers
    downloads = tmp_path / "downloads"
    tools = DevTools(browser, tmp_path / "profile")
    try:
        tools.send("Browser.setDownloadBehavior", browser_level=True, behavior="allow",
                   downloadPath=str(downloads), eventsEnabled=True)
        tools.open(files.page.resolve().as_uri())
        assert tools.js("document.body.dataset.answered") == "0/4"
        for i, method in enumerate(want):
            side = "left" if left[i] == method else "right"
            assert tools.js("document.querySelector('.pair.current').id") == f"pair-{i}"
            if i == 3:  # the keyboard works too
                tools.press("ArrowLeft" if side == "left" else "ArrowRight", 37 if side == "left" else 39)
            else:
                tools.click(f"#pair-{i} button[data-choice={side}]")
            tools.wait_for(f"document.body.dataset.answered === '{i + 1}/4'")
        assert tools.js("getComputedStyle(document.getElementById('done')).display") == "block"
        tools.js("document.getElementById('participant').value = 'p01'")
        tools.click("#download-done")
        end = time.monotonic() + 30
        while not list(downloads.glob("*.json")):
            assert time.monotonic() < end, "no download"
            time.sleep(0.1)
    finally:
        tools.close()
    answers = next(downloads.glob("*.json"))
    data = json.loads(answers.read_text())
    assert answers.name == f"study-{key.study_id}-p01.json" and data["complete"] is True
    assert [c["choice"] for c in data["choices"]] == ["left" if left[i] == m else "right" for i, m in enumerate(want)]
    score = score_responses(key, [answers])
    assert [t.wins for t in score.tallies] == [3, 1] and score.participants == {"p01": [3, 1]}
