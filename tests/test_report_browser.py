"""report.html looked at in a real browser: headless Chromium (Debian's `chromium`), driven through
the DevTools protocol over a websocket. Every image loads, the console stays clean, the page fits a
laptop's width, the folder still renders after a move, and it prints to A4 with no plot cut."""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_report_html import uplift_report

LAPTOP = (1366, 768)
A4_MM = (210.0, 297.0)
MARGIN_MM = 12.0
"""The report's @page margin."""
PX_PER_MM = 96 / 25.4


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is needed: apt-get install -y chromium (make test installs it as root)"
    return found


class Page:
    """One browser tab spoken to through the DevTools protocol: commands, and the events they cause."""

    def __init__(self, url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == ident:
                assert "error" not in message, message["error"]
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            seen = next((e for e in self.events if e.get("method") == method), None)
            if seen is not None:
                self.events.remove(seen)
                return seen
            self.events.append(json.loads(self.socket.recv()))
        raise AssertionError(f"no {method} within {seconds} s")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def open(self, path: Path, width: int, height: int) -> None:
        """Load `path` at a viewport of width x height CSS pixels and wait until it and its images loaded."""
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.send("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads logged so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(str(params.get("args")))
            elif method == "Runtime.exceptionThrown":
                found.append(str(params.get("exceptionDetails")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found


@contextlib.contextmanager
def browser(profile: Path) -> Iterator[Page]:
    """Headless Chromium with a fresh profile; its first tab, with the page, runtime and log domains on."""
    profile.mkdir(parents=True)
    log = profile / "chromium.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--remote-debugging-port=0", f"--user-data-dir={profile / 'data'}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline, port = time.monotonic() + 60, None
        while port is None and time.monotonic() < deadline and process.poll() is None:
            match = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", log.read_text())
            port = int(match.group(1)) if match else time.sleep(0.1)
        assert port, f"Chromium did not start its DevTools server: {log.read_text()[-2000:]}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
            tab = next(t for t in json.load(answer) if t["type"] == "page")
        page = Page(tab["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        yield page
        page.socket.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


IMAGES = "Array.from(document.images).map(i => ({src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0}))"
BOXES = """Array.from(document.querySelectorAll('figure, img, table')).map(e => {
  const r = e.getBoundingClientRect();
  return {tag: e.tagName, left: r.left, right: r.right, height: r.height,
          avoid: getComputedStyle(e).breakInside};
})"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return uplift_report(tmp_path_factory.mktemp("browser"))


def test_the_report_renders_in_chromium_with_every_image_and_a_clean_console(report: Path, tmp_path: Path) -> None:
    with browser(tmp_path / "profile") as page:
        page.open(report / "report.html", *LAPTOP)
        images = page.evaluate(IMAGES)
        assert len(images) >= 6 and all(i["loaded"] for i in images), images
        assert all(not re.match(r"^(/|[a-z]+:)", i["src"]) for i in images), "images must be relative to the page"
        assert page.errors() == []
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than a laptop's window"
        for box in page.evaluate(BOXES):
            if box["tag"] != "TABLE":
                assert box["right"] <= LAPTOP[0] + 0.5, box
        shot = base64.b64decode(page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
        assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 50_000
        (tmp_path / "screenshot.png").write_bytes(shot)


def test_a_moved_report_folder_still_shows_every_image(report: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "mailed report"
    moved.parent.mkdir()
    shutil.copytree(report, moved)
    with browser(tmp_path / "profile") as page:
        page.open(moved / "report.html", *LAPTOP)
        images = page.evaluate(IMAGES)
        assert images and all(i["loaded"] for i in images), images
        assert page.errors() == []


def test_the_report_prints_to_a4_without_cutting_a_plot(report: Path, tmp_path: Path) -> None:
    printable = (A4_MM[0] - 2 * MARGIN_MM) * PX_PER_MM
    page_height = (A4_MM[1] - 2 * MARGIN_MM) * PX_PER_MM
    with browser(tmp_path / "profile") as page:
        page.open(report / "report.html", round(printable), round(page_height))
        page.send("Emulation.setEmulatedMedia", media="print")
        boxes = page.evaluate(BOXES)
        figures = [b for b in boxes if b["tag"] == "FIGURE"]
        assert len(figures) >= 6
        for box in figures:
            assert box["avoid"] == "avoid", box
            assert box["left"] >= -0.5 and box["right"] <= printable + 0.5, box
            assert box["height"] <= page_height, box
        for box in boxes:
            if box["tag"] == "IMG":
                assert box["right"] <= printable + 0.5, box
        pdf = base64.b64decode(page.send("Page.printToPDF", preferCSSPageSize=True, printBackground=True)["data"])
    assert pdf[:5] == b"%PDF-"
    (tmp_path / "report.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert 2 <= pages <= 30, pages
    size = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert size and abs(float(size.group(1)) - A4_MM[0] / 25.4 * 72) < 2 and abs(float(size.group(2)) - A4_MM[1] / 25.4 * 72) < 2
