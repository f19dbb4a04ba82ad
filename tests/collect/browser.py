"""A minimal headless Chromium driver over the DevTools protocol on a pipe (no extra package).

Chromium started with ``--remote-debugging-pipe`` reads protocol messages (JSON, each ended by
a NUL byte) from file descriptor 3 and writes its replies and events to descriptor 4.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe", "--window-size=1400,1000"]


def chromium() -> str:
    """The Chromium executable (fails the test when it is missing: `make test` installs it)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is required (installed by `make test`)"
    return browser


class Browser:
    """One headless Chromium with one page (a flattened session)."""

    def __init__(self, profile: Path, downloads: Path | None = None) -> None:
        to_browser_r, self._write = os.pipe()
        self._read, from_browser_w = os.pipe()

        def wire() -> None:
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.proc = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer, self._id = b"", 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        if downloads is not None:
            self.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
        self.call("Page.enable", session=True)

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its reply (events in between are ignored)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll an expression until it is truthy; its value."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"{expression} stayed false for {timeout} s")

    def open(self, url: str) -> None:
        """Navigate and wait until the page's script has run."""
        self.call("Page.navigate", session=True, url=url)
        time.sleep(0.2)
        self.wait_for("document.body && document.body.dataset.ready === '1'")

    def click(self, x: float, y: float, shift: bool = False) -> None:
        """A left click at page coordinates."""
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=kind, x=x, y=y, button="left", clickCount=1,
                      modifiers=8 if shift else 0)

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Press the left button at ``start``, move and release it at ``end`` (page coordinates)."""
        self.call("Input.dispatchMouseEvent", session=True, type="mousePressed", x=start[0], y=start[1], button="left",
                  clickCount=1)
        self.call("Input.dispatchMouseEvent", session=True, type="mouseMoved", x=end[0], y=end[1], button="left")
        self.call("Input.dispatchMouseEvent", session=True, type="mouseReleased", x=end[0], y=end[1], button="left",
                  clickCount=1)

    def key(self, key: str) -> None:
        """Press and release one key."""
        text = key if len(key) == 1 else ""
        self.call("Input.dispatchKeyEvent", session=True, type="keyDown", key=key, text=text)
        self.call("Input.dispatchKeyEvent", session=True, type="keyUp", key=key)

    def close(self) -> None:
        """End the browser process."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._write)
        os.close(self._read)
