"""Headless Chromium driven by Playwright: load a page and say what it did and drew.

`m6 report` writes one self-contained HTML page, and its test has to show that a real browser
loads it without console errors, requests nothing from the network, and draws its charts,
thumbnails and Chinese text. This is test infrastructure (it lives under ``tests/``, and
Playwright is in the ``dev`` extra only): Playwright drives the system Chromium
(``executable_path``, Debian's ``chromium`` installed by ``tests/support/chromium.py``), so no
browser is downloaded. Playwright replaced a hand-written DevTools-protocol client of 580 lines:
on the report page both take about 3 s per load here (Chromium's start-up dominates), and a
maintained driver is one less thing to keep up with Chromium's protocol.

Nothing waits by sleeping: the page is taken at its ``load`` event, the images at their
``decode()`` promises, the fonts at ``document.fonts.ready``. The platform fonts that drew a node
come from the DevTools protocol (``CSS.getPlatformFontsForNode``) through Playwright's CDP session.
Chromium, Playwright's driver and the throwaway profile are gone when ``load_page`` returns or
raises, a timeout included.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from tests.support.chromium import CANDIDATES, BrowserUnavailable, find_chromium

FLAGS = (
    "--no-sandbox",  # we run as root in a container; the sandbox refuses to start there
    "--disable-gpu",
    # no network of its own: the tests must see only the page's requests, and the network is closed
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-default-browser-check",
    # pixels: no scrollbar eating into the page width, one CSS pixel per screenshot pixel
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--mute-audio",
)
VIEWPORT_HEIGHT = 800  # only what `vh` units see; the screenshot is always the full page

# Waits for every <img> to be decoded (a broken one settles too) and for web fonts; lazy images
# are switched to eager first, or those below the fold would never load for the screenshot.
_SETTLE_JS = """(async () => {
  const images = Array.from(document.images);
  for (const img of images) if (img.loading === "lazy") img.loading = "eager";
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  await document.fonts.ready;
  return images.length;
})()"""

_RECTS_JS = """Array.from(document.querySelectorAll(%s), (el) => {
  const r = el.getBoundingClientRect();
  return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
})"""

# An expression raced against the time left, so a promise that never settles cannot hang a test.
_RACE_JS = """([source, ms]) => Promise.race([
  (0, eval)(source),
  new Promise((_, reject) => setTimeout(() => reject(new Error("__m6_timed_out__")), ms)),
])"""

_CONSOLE_LEVEL = {"error": "error", "assert": "error", "warning": "warning"}


class BrowserError(RuntimeError):
    """Chromium ran but the page could not be loaded or inspected: navigation failed, a protocol
    call failed, an ``evaluate`` expression threw, or the deadline passed."""


@dataclass(frozen=True)
class PageResult:
    """What one page load did and drew.

    ``console`` holds every console message as ``{"level", "text", "url"}``, from both the
    console API (``console.error`` is level ``error``) and the browser's own log (a failed
    resource load is level ``error`` with the resource's URL). ``exceptions`` holds the uncaught
    exceptions' stacks. ``requests`` lists every URL the page requested, the page itself first
    (``data:`` URLs are not requests that leave the page and are not listed). ``rects`` are in
    page coordinates (scroll offsets added), which are also the pixel coordinates of
    ``screenshot``, a PNG of the whole page ``width`` x ``height`` CSS pixels wide and tall at one
    pixel each.
    """

    url: str
    console: list[dict[str, str]]
    exceptions: list[str]
    requests: list[str]
    values: dict[str, Any]
    rects: dict[str, list[dict[str, float]]]
    fonts: dict[str, list[dict[str, Any]]]
    screenshot: bytes = field(repr=False)
    width: int
    height: int

    @property
    def errors(self) -> list[dict[str, str]]:
        return [m for m in self.console if m["level"] == "error"]


def load_page(
    path_or_url: str | os.PathLike,
    *,
    evaluate: Mapping[str, str] | None = None,
    measure: Sequence[str] = (),
    fonts_of: Sequence[str] = (),
    width: int = 1280,
    timeout: float = 60.0,
    chromium: str | None = None,
) -> PageResult:
    """Open a file (or URL) in a fresh headless Chromium ``width`` CSS pixels wide, wait for its
    load event and for its images to decode, and return what it logged, threw and requested, the
    JSON value of each ``evaluate`` expression (promises are awaited), the page rects of every
    element matching each ``measure`` selector, the platform fonts that drew the text of the first
    element matching each ``fonts_of`` selector, and a full-page PNG screenshot.

    ``timeout`` bounds the whole call; Chromium and its profile are removed however it ends.
    """
    url = _as_url(path_or_url)
    binary = chromium or find_chromium()
    if binary is None:
        raise BrowserUnavailable(
            f"no Chromium ({', '.join(CANDIDATES)} on PATH, or $M6_CHROMIUM); "
            "tests/support/chromium.py's ensure_chromium() installs Debian's"
        )
    deadline = time.monotonic() + timeout
    console: list[dict[str, str]] = []
    exceptions: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=binary, args=list(FLAGS), timeout=_left_ms(deadline, "the start")
        )
        try:
            page = browser.new_page(
                viewport={"width": width, "height": VIEWPORT_HEIGHT}, device_scale_factor=1
            )
            page.on("console", lambda m: console.append(_console_entry(m)))
            page.on("pageerror", lambda e: exceptions.append(e.stack or f"{e.name}: {e.message}"))
            page.on("request", lambda r: requests.append(r.url))
            try:
                page.goto(url, wait_until="load", timeout=_left_ms(deadline, f"loading {url}"))
            except PlaywrightError as e:
                raise BrowserError(f"could not open {url}: {_first_line(e)}") from None
            page.set_default_timeout(_left_ms(deadline, "the page"))

            def run(js: str, what: str) -> Any:
                return _evaluate(page, js, what, deadline)

            run(_SETTLE_JS, "waiting for the images to decode")
            values = {name: run(js, f"evaluate[{name!r}]") for name, js in (evaluate or {}).items()}
            rects = {s: run(_RECTS_JS % json.dumps(s), f"measure {s!r}") for s in measure}
            fonts = _fonts(page, fonts_of)
            shot = page.screenshot(full_page=True, timeout=_left_ms(deadline, "the screenshot"))
        finally:
            browser.close()
    with Image.open(io.BytesIO(shot)) as image:
        height = image.height
    return PageResult(
        url=url,
        console=console,
        exceptions=exceptions,
        requests=[u for u in requests if not u.startswith("data:")],
        values=values,
        rects=rects,
        fonts=fonts,
        screenshot=shot,
        width=width,
        height=height,
    )


def _left_ms(deadline: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise BrowserError(f"timed out before {what}")
    return left * 1000


def _as_url(path_or_url: str | os.PathLike) -> str:
    text = os.fspath(path_or_url)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+:", text):
        return text
    path = Path(text).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no page to load at {path}")
    return path.as_uri()


def _console_entry(message: Any) -> dict[str, str]:
    location = message.location or {}
    return {
        "level": _CONSOLE_LEVEL.get(message.type, message.type),
        "text": message.text,
        "url": location.get("url", ""),
    }


def _evaluate(page: Any, expression: str, what: str, deadline: float) -> Any:
    """The JSON value of ``expression`` in the page (a promise is awaited, up to the deadline);
    raises ``BrowserError`` when it throws or the deadline passes."""
    try:
        return page.evaluate(_RACE_JS, [expression, _left_ms(deadline, what)])
    except PlaywrightError as e:
        text = _first_line(e)
        if "__m6_timed_out__" in text:
            raise BrowserError(f"{what} timed out") from None
        raise BrowserError(f"{what} threw: {text}") from None


def _first_line(error: PlaywrightError) -> str:
    """Playwright's message without its ``Page.evaluate:`` prefix and call log."""
    text = (error.message or str(error)).split("\nCall log:")[0].strip()
    text = re.sub(r"^\w+\.\w+: ", "", text)
    return text.splitlines()[0] if text else type(error).__name__


def _fonts(page: Any, selectors: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The platform fonts that drew the text directly inside the first match of each selector."""
    if not selectors:
        return {}
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")  # after DOM
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        fonts = {}
        for selector in selectors:
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
            if not node:
                raise BrowserError(f"fonts_of: no element matches {selector!r}")
            fonts[selector] = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return fonts
    finally:
        cdp.detach()


def region_stats(png: bytes, rect: Mapping[str, float]) -> dict[str, Any]:
    """Whether a region of a screenshot is drawn: ``colours`` is its number of distinct colours,
    ``background`` the most common one, ``foreground`` the fraction of its pixels of any other
    colour, ``pixels`` its size. A blank region has one colour and foreground 0.

    ``rect`` is ``{"x", "y", "width", "height"}`` in page pixels (as ``PageResult.rects`` gives);
    it is rounded inwards, so antialiased neighbours at a fractional edge are not counted.
    """
    with Image.open(io.BytesIO(png)) as image:
        left, top = max(0, math.ceil(rect["x"])), max(0, math.ceil(rect["y"]))
        right = min(image.width, math.floor(rect["x"] + rect["width"]))
        bottom = min(image.height, math.floor(rect["y"] + rect["height"]))
        if right <= left or bottom <= top:
            raise ValueError(
                f"rect {dict(rect)} covers no whole pixel of the {image.width}x{image.height} image"
            )
        region = image.convert("RGB").crop((left, top, right, bottom))
    pixels = region.width * region.height
    colours = region.getcolors(maxcolors=pixels)
    count, background = max(colours)
    return {
        "pixels": pixels,
        "colours": len(colours),
        "background": background,
        "foreground": 1 - count / pixels,
    }
