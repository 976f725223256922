"""Headless Chromium over the Chrome DevTools Protocol: load a page and say what it did and drew.

`m6 report` writes one self-contained HTML page, and its test has to show that a real browser
loads it without console errors, requests nothing from the network, and draws its charts,
thumbnails and Chinese text. This module is that browser: Debian's ``chromium`` package, started
headless as a child process with background networking off (otherwise it keeps dialling Google
services on a closed network), driven over CDP with ``websocket-client`` through the one
browser-level socket with flattened sessions (``Target.attachToTarget(flatten=True)``).

Nothing waits by sleeping: the DevTools address comes from the ``DevTools listening on`` line
Chromium prints on stderr, the page from the ``load`` lifecycle event of the navigation's own
loader, the images from their ``decode()`` promises, the fonts from ``document.fonts.ready``.
Every Chromium runs in its own process group with a throwaway profile; both are gone when
``load_page`` returns or raises.

Protocol reference: https://chromedevtools.github.io/devtools-protocol/ (Target, Page, Runtime,
Log, Network, DOM, CSS and Emulation domains).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket
from PIL import Image

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_PACKAGE = "chromium"
# Tried in this order. Noto CJK (56 MB download) is the better family and is what a report's
# font stack names first; WenQuanYi Zen Hei (7.5 MB) is the fallback when Noto cannot be installed.
CJK_FONT_PACKAGES = ("fonts-noto-cjk", "fonts-wqy-zenhei")
APT_TIMEOUT_S = 1800

FLAGS = (
    "--headless",
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
    "--remote-debugging-port=0",  # any free port; Chromium prints which
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

_CONSOLE_LEVEL = {"error": "error", "assert": "error", "warning": "warning"}


class BrowserUnavailable(RuntimeError):
    """No Chromium to run (or no CJK font for it) and none could be installed; the message says
    what was tried and how each attempt ended."""


class BrowserError(RuntimeError):
    """Chromium ran but the page could not be loaded or inspected: navigation failed, a protocol
    call failed, an ``evaluate`` expression threw, or the deadline passed."""


@dataclass(frozen=True)
class PageResult:
    """What one page load did and drew.

    ``console`` holds every console message as ``{"level", "text", "url"}``, from both the
    console API (``console.error`` is level ``error``) and the browser's own log (a failed
    resource load is level ``error`` with the resource's URL). ``exceptions`` holds the uncaught
    exceptions' descriptions. ``requests`` lists every URL the page requested, the page itself
    first. ``rects`` are in page coordinates (scroll offsets added), which are also the pixel
    coordinates of ``screenshot``, a PNG of the whole page ``width`` x ``height`` CSS pixels wide
    and tall at one pixel each.
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


# -- finding and installing Chromium -------------------------------------------------------------


def find_chromium() -> str | None:
    """The Chromium binary to use: ``$M6_CHROMIUM`` when set (a path or a name on PATH; ``None``
    when it is neither), else the first of ``chromium``, ``chromium-browser``, ``google-chrome``
    on PATH."""
    override = os.environ.get("M6_CHROMIUM")
    if override:
        return shutil.which(override)
    for name in CANDIDATES:
        if found := shutil.which(name):
            return found
    return None


def cjk_fonts() -> set[str]:
    """Family names of the installed fonts that fontconfig says cover Chinese
    (``fc-list :lang=zh family``); Chromium on Linux picks its fallback fonts through fontconfig."""
    if shutil.which("fc-list") is None:
        return set()
    out = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout
    # one font per line, its family names separated by unescaped commas
    return {
        name.replace("\\", "").strip()
        for line in out.splitlines()
        for name in re.split(r"(?<!\\),", line)
        if name.strip()
    }


def ensure_chromium() -> str:
    """Return the Chromium binary, first installing Debian's ``chromium`` and a CJK font with
    apt-get when either is missing (as root, or through ``sudo -n``). The font is needed even when
    Chromium is there: without one, Chinese text is drawn as boxes.

    Raises ``BrowserUnavailable`` listing what was tried when it cannot.
    """
    override = os.environ.get("M6_CHROMIUM")
    if override and not shutil.which(override):
        raise BrowserUnavailable(
            f"M6_CHROMIUM={override!r} is not an executable; fix it, or unset it to use "
            "(or install) Debian's chromium"
        )
    binary = find_chromium()
    have_font = bool(cjk_fonts())
    if binary and have_font:
        return binary

    missing = ([] if binary else [f"Chromium ({', '.join(CANDIDATES)} on PATH)"]) + (
        [] if have_font else ["a font covering Chinese (fc-list :lang=zh is empty)"]
    )
    wanted = f"missing: {'; '.join(missing)}"
    if shutil.which("apt-get") is None:
        raise BrowserUnavailable(
            f"{wanted}; no apt-get here to install them: install Chromium and a CJK font "
            "yourself, or point M6_CHROMIUM at a Chromium"
        )
    prefix = _privileged()
    if prefix is None:
        raise BrowserUnavailable(
            f"{wanted}; not root and `sudo -n true` failed, so apt-get cannot run. Run as root: "
            f"apt-get install {CHROMIUM_PACKAGE} {CJK_FONT_PACKAGES[0]}"
        )

    tried: list[str] = []
    _apt(prefix, ["update"], tried)
    packages = [] if binary else [CHROMIUM_PACKAGE]
    for font in [None] if have_font else CJK_FONT_PACKAGES:
        wanted_now = packages + ([font] if font else [])
        if _apt(prefix, ["install", "-y", "--no-install-recommends", *wanted_now], tried):
            break
    binary = find_chromium()
    if binary and cjk_fonts():
        return binary
    raise BrowserUnavailable(f"{wanted}; tried:\n" + "\n".join(tried))


def _privileged() -> list[str] | None:
    """The command prefix that runs apt-get as root: none for root, ``sudo -n`` when that works."""
    if os.geteuid() == 0:
        return []
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        return ["sudo", "-n"]
    return None


def _apt(prefix: list[str], args: list[str], tried: list[str]) -> bool:
    """Run one apt-get command non-interactively; note the outcome in ``tried``."""
    command = [
        *prefix,
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "-o",
        "DPkg::Lock::Timeout=600",
        *args,
    ]
    shown = " ".join(["apt-get", *args])
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=APT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        tried.append(f"  {shown}: still running after {APT_TIMEOUT_S} s, stopped")
        return False
    took = time.monotonic() - start
    if done.returncode == 0:
        tried.append(f"  {shown}: ok in {took:.0f} s")
        return True
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-5:])
    tried.append(f"  {shown}: exit {done.returncode} after {took:.0f} s:\n{tail}")
    return False


# -- the browser process and its DevTools socket --------------------------------------------------


class _Chromium:
    """A headless Chromium child in its own process group, with a fresh profile directory.

    A thread drains its stderr (a full pipe would stall it), keeps the last lines for error
    messages, and signals when the DevTools address is printed or the process exits.
    """

    def __init__(self, binary: str, width: int):
        self.profile = tempfile.mkdtemp(prefix="m6-chromium-")
        self.stderr: deque[str] = deque(maxlen=40)
        self.ws_url: str | None = None
        self._ready = threading.Event()
        try:
            self.proc = subprocess.Popen(
                [
                    binary,
                    *FLAGS,
                    f"--user-data-dir={self.profile}",
                    f"--window-size={width},{VIEWPORT_HEIGHT}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr.append(line)
            if self.ws_url is None and (m := re.search(r"DevTools listening on (ws://\S+)", line)):
                self.ws_url = m.group(1)
                self._ready.set()
        self._ready.set()  # EOF: Chromium is gone

    def endpoint(self, deadline: float) -> str:
        if not self._ready.wait(max(0.0, deadline - time.monotonic())):
            raise BrowserError(f"Chromium printed no DevTools address in time{self._tail()}")
        if self.ws_url is None:
            raise BrowserError(
                f"Chromium exited ({self.proc.poll()}) before listening for DevTools{self._tail()}"
            )
        return self.ws_url

    def _tail(self) -> str:
        return "; its stderr ended:\n" + "\n".join(self.stderr) if self.stderr else ""

    def close(self) -> None:
        """Kill the whole process group (browser, zygote, renderers), then drop the profile."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self._drain.join(timeout=10)
        self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class _Cdp:
    """The browser-level DevTools socket: commands are answered by id; every event that arrives
    meanwhile is kept, in order, in ``events``; every wait ends at ``deadline``."""

    def __init__(self, ws_url: str, deadline: float):
        self.deadline = deadline
        self.events: list[dict[str, Any]] = []
        self._last_id = 0
        # no Origin header: Chromium refuses DevTools sockets from origins it was not told about
        self._ws = websocket.create_connection(
            ws_url, timeout=self._left("the DevTools socket"), suppress_origin=True
        )

    def _left(self, waiting_for: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BrowserError(f"timed out waiting for {waiting_for}")
        return left

    def _receive(self, waiting_for: str) -> dict[str, Any]:
        self._ws.settimeout(self._left(waiting_for))
        try:
            return json.loads(self._ws.recv())
        except websocket.WebSocketTimeoutException:
            raise BrowserError(f"timed out waiting for {waiting_for}") from None
        except websocket.WebSocketConnectionClosedException:
            raise BrowserError(
                f"Chromium closed the DevTools socket during {waiting_for}"
            ) from None

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = self._receive(f"the answer to {method}")
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait(self, method: str, match: Callable[[dict], bool], since: int, what: str) -> dict:
        """The params of the first ``method`` event from index ``since`` on that ``match``es."""
        seen = since
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and match(event["params"]):
                    return event["params"]
            seen = len(self.events)
            message = self._receive(what)
            if "method" in message:
                self.events.append(message)

    def close(self) -> None:
        self._ws.close()


# -- loading a page -------------------------------------------------------------------------------


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
            "ensure_chromium() installs Debian's"
        )
    deadline = time.monotonic() + timeout
    browser = _Chromium(binary, width)
    try:
        cdp = _Cdp(browser.endpoint(deadline), deadline)
        try:
            return _inspect(cdp, url, dict(evaluate or {}), list(measure), list(fonts_of), width)
        finally:
            cdp.close()
    finally:
        browser.close()


def _as_url(path_or_url: str | os.PathLike) -> str:
    text = os.fspath(path_or_url)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+:", text):
        return text
    path = Path(text).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no page to load at {path}")
    return path.as_uri()


def _inspect(
    cdp: _Cdp,
    url: str,
    evaluate: dict[str, str],
    measure: list[str],
    fonts_of: list[str],
    width: int,
) -> PageResult:
    target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def call(method: str, params: dict | None = None) -> dict:
        return cdp.call(method, params, session)

    for domain in ("Page", "Runtime", "Log", "Network", "DOM", "CSS"):  # DOM before CSS
        call(f"{domain}.enable")
    call("Page.setLifecycleEventsEnabled", {"enabled": True})
    call(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": VIEWPORT_HEIGHT, "deviceScaleFactor": 1, "mobile": False},
    )

    since = len(cdp.events)
    navigation = call("Page.navigate", {"url": url})
    if navigation.get("errorText"):
        raise BrowserError(f"could not open {url}: {navigation['errorText']}")
    cdp.wait(
        "Page.lifecycleEvent",
        lambda p: (
            p["name"] == "load"
            and p["loaderId"] == navigation.get("loaderId")
            and p["frameId"] == navigation["frameId"]
        ),
        since,
        f"the load event of {url}",
    )
    _evaluate(call, _SETTLE_JS, "waiting for the images to decode")

    values = {name: _evaluate(call, js, f"evaluate[{name!r}]") for name, js in evaluate.items()}
    rects = {s: _evaluate(call, _RECTS_JS % json.dumps(s), f"measure {s!r}") for s in measure}
    fonts = {s: _fonts(call, s) for s in fonts_of}

    content = call("Page.getLayoutMetrics")["cssContentSize"]
    height = max(1, math.ceil(content["height"]))
    shot = call(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    console, exceptions, requests = _collect(
        [e for e in cdp.events if e.get("sessionId") == session]
    )
    return PageResult(
        url=url,
        console=console,
        exceptions=exceptions,
        requests=requests,
        values=values,
        rects=rects,
        fonts=fonts,
        screenshot=base64.b64decode(shot["data"]),
        width=width,
        height=height,
    )


def _evaluate(call: Callable[..., dict], expression: str, what: str) -> Any:
    """The JSON value of ``expression`` in the page (a promise is awaited); raises when it throws."""
    reply = call(
        "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
    )
    if "exceptionDetails" in reply:
        raise BrowserError(f"{what} threw: {_exception_text(reply['exceptionDetails'])}")
    return reply["result"].get("value")


def _fonts(call: Callable[..., dict], selector: str) -> list[dict[str, Any]]:
    """The platform fonts that drew the text directly inside the first match of ``selector``."""
    root = call("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = call("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    if not node:
        raise BrowserError(f"fonts_of: no element matches {selector!r}")
    return call("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def _collect(events: list[dict]) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """Console messages, uncaught exceptions and requested URLs, in the order they happened."""
    console, exceptions, requests = [], [], []
    for event in events:
        method, p = event["method"], event["params"]
        if method == "Runtime.consoleAPICalled":
            frames = (p.get("stackTrace") or {}).get("callFrames") or [{}]
            console.append(
                {
                    "level": _CONSOLE_LEVEL.get(p["type"], p["type"]),
                    "text": " ".join(_remote_text(arg) for arg in p["args"]),
                    "url": frames[0].get("url", ""),
                }
            )
        elif method == "Log.entryAdded":
            entry = p["entry"]
            console.append(
                {"level": entry["level"], "text": entry["text"], "url": entry.get("url", "")}
            )
        elif method == "Runtime.exceptionThrown":
            exceptions.append(_exception_text(p["exceptionDetails"]))
        elif method == "Network.requestWillBeSent":
            requests.append(p["request"]["url"])
    return console, exceptions, requests


def _remote_text(obj: dict[str, Any]) -> str:
    """How the console shows one argument: a primitive's value, else the object's description."""
    if "value" in obj:
        return obj["value"] if isinstance(obj["value"], str) else json.dumps(obj["value"])
    return obj.get("unserializableValue") or obj.get("description") or obj["type"]


def _exception_text(details: dict[str, Any]) -> str:
    exception = details.get("exception") or {}
    return exception.get("description") or details.get("text", "")


# -- reading the screenshot -----------------------------------------------------------------------


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
