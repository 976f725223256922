"""Tests of tests/support/browser.py on small real pages: what headless Chromium logs, throws, requests,
measures and draws is what the page does, and nothing the page did not do is reported.

The report-like page places everything at integer positions, so the expected rects, colours and
pixel fractions are exact numbers worked out from the markup.
"""

from __future__ import annotations

import base64
import io
import shutil
import tempfile
from pathlib import Path

import psutil
import pytest
from PIL import Image

from tests.support.browser import BrowserError, load_page, region_stats
from tests.support.chromium import (
    BrowserUnavailable,
    cjk_fonts,
    ensure_chromium,
    find_chromium,
)

QUADRANTS = [(200, 30, 30), (30, 160, 60), (40, 70, 200), (240, 200, 40)]  # thumbnail colours
ZH = "中文语料质量报告"


def _thumbnail_png() -> bytes:
    """A 64x48 PNG of four 32x24 quadrants, one colour each."""
    image = Image.new("RGB", (64, 48))
    for i, colour in enumerate(QUADRANTS):
        x, y = 32 * (i % 2), 24 * (i // 2)
        image.paste(colour, (x, y, x + 32, y + 24))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


REPORT_LIKE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>语料报告</title>
<style>body {{ margin: 0; font-family: sans-serif }} .at {{ position: absolute; margin: 0 }}</style>
</head><body>
<svg id="chart" class="at" style="left:20px; top:20px" width="300" height="200">
  <rect x="20" y="100" width="60" height="100" fill="#4878d0"/>
  <rect x="120" y="40" width="60" height="160" fill="#ee854a"/>
  <rect x="220" y="140" width="60" height="60" fill="#6acc64"/>
</svg>
<img id="thumb" class="at" style="left:360px; top:20px" src="data:image/png;base64,{thumb}">
<div id="blank" class="at" style="left:460px; top:20px; width:200px; height:200px"></div>
<p id="zh" class="at" style="left:20px; top:260px; font-size:32px">{zh}</p>
<div id="far" class="at" style="left:20px; top:1500px; width:100px; height:100px;
     background:#d65f5f"></div>
<div style="height:2000px"></div>
<script>console.log("report", 3); window.scrollTo(0, 600);</script>
</body></html>
"""


def _page(tmp_path, body: str, name: str = "page.html"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report_like(chromium, tmp_path_factory):
    thumb = base64.b64encode(_thumbnail_png()).decode()
    path = _page(tmp_path_factory.mktemp("report"), REPORT_LIKE.format(thumb=thumb, zh=ZH))
    return load_page(
        path,
        chromium=chromium,
        evaluate={
            "title": "document.title",
            "bars": "document.querySelectorAll('#chart rect').length",
            "scrolled": "window.scrollY",
            "later": "new Promise((ok) => setTimeout(() => ok({done: [1, 2]}), 20))",
        },
        measure=["#chart", "#chart rect", "#thumb", "#blank", "#zh", "#far", "#nothing"],
        fonts_of=["#zh"],
    )


def test_a_clean_page_logs_no_error_and_requests_only_itself_and_data_urls(report_like):
    page = report_like
    assert page.url.startswith("file://") and page.url.endswith("/page.html")
    assert page.errors == []
    assert page.exceptions == []
    assert page.console == [{"level": "log", "text": "report 3", "url": page.url}]
    assert page.requests[0] == page.url
    assert [u for u in page.requests[1:] if not u.startswith("data:")] == []


def test_evaluate_returns_json_values_and_awaits_promises(report_like):
    assert report_like.values == {
        "title": "语料报告",
        "bars": 3,
        "scrolled": 600,
        "later": {"done": [1, 2]},
    }


def test_rects_are_in_page_coordinates_even_when_scrolled(report_like):
    rects = report_like.rects
    assert rects["#chart rect"] == [
        {"x": 40, "y": 120, "width": 60, "height": 100},
        {"x": 140, "y": 60, "width": 60, "height": 160},
        {"x": 240, "y": 160, "width": 60, "height": 60},
    ]
    assert rects["#thumb"] == [{"x": 360, "y": 20, "width": 64, "height": 48}]
    assert rects["#far"] == [{"x": 20, "y": 1500, "width": 100, "height": 100}]
    assert rects["#nothing"] == []


def test_the_screenshot_is_the_full_page(report_like):
    with Image.open(io.BytesIO(report_like.screenshot)) as shot:
        assert shot.format == "PNG"
        assert shot.size == (1280, 2000) == (report_like.width, report_like.height)
    # 1,500 px down, below the 800 px viewport and the page scrolled: drawn where the rect says
    (far,) = report_like.rects["#far"]
    assert region_stats(report_like.screenshot, far)["background"] == (0xD6, 0x5F, 0x5F)


def test_a_chart_and_a_thumbnail_are_drawn_and_an_empty_div_is_blank(report_like):
    shot, rects = report_like.screenshot, report_like.rects
    chart = region_stats(shot, rects["#chart"][0])
    # three solid bars on white: 6,000 + 9,600 + 3,600 of 60,000 pixels
    assert chart["colours"] == 4
    assert chart["background"] == (255, 255, 255)
    assert chart["foreground"] == pytest.approx(19_200 / 60_000)

    thumb = region_stats(shot, rects["#thumb"][0])
    assert thumb["pixels"] == 64 * 48 and thumb["colours"] == 4
    assert thumb["foreground"] == pytest.approx(0.75)
    with Image.open(io.BytesIO(shot)) as image:
        drawn = {
            image.convert("RGB").getpixel((360 + 32 * (i % 2) + 5, 20 + 24 * (i // 2) + 5))
            for i in range(4)
        }
    assert drawn == set(QUADRANTS)

    blank = region_stats(shot, rects["#blank"][0])
    assert blank == {
        "pixels": 200 * 200,
        "colours": 1,
        "background": (255, 255, 255),
        "foreground": 0.0,
    }


def test_chinese_text_is_drawn_with_a_font_that_covers_chinese(report_like):
    fonts = report_like.fonts["#zh"]
    assert {f["familyName"] for f in fonts} <= cjk_fonts()
    assert sum(f["glyphCount"] for f in fonts) == len(ZH)
    text = region_stats(report_like.screenshot, report_like.rects["#zh"][0])
    assert text["colours"] > 2 and 0.05 < text["foreground"] < 0.6  # antialiased strokes, not boxes


def test_console_error_is_reported_as_an_error(chromium, tmp_path):
    page = load_page(_page(tmp_path, '<script>console.error("x")</script>'), chromium=chromium)
    assert page.errors == [{"level": "error", "text": "x", "url": page.url}]
    assert page.exceptions == []


def test_an_uncaught_exception_is_reported(chromium, tmp_path):
    page = load_page(
        _page(tmp_path, '<script>function f() { throw new Error("boom") }\nf()</script>'),
        chromium=chromium,
    )
    assert len(page.exceptions) == 1
    assert page.exceptions[0].startswith("Error: boom\n    at f (file://")
    assert page.errors == []


def test_a_request_to_the_network_is_recorded(chromium, tmp_path):
    # port 9 (discard) on loopback: refused at once, so the test does not wait on a dead network
    image = "http://127.0.0.1:9/pixel.png"
    page = load_page(_page(tmp_path, f'<img src="{image}">'), chromium=chromium)
    assert page.requests == [page.url, image]
    assert [e["url"] for e in page.errors] == [image]  # "Failed to load resource: net::..."
    assert page.errors[0]["text"].startswith("Failed to load resource")


def test_a_missing_file_url_is_an_error(chromium, tmp_path):
    with pytest.raises(BrowserError, match="ERR_FILE_NOT_FOUND"):
        load_page((tmp_path / "gone.html").as_uri(), chromium=chromium)
    with pytest.raises(FileNotFoundError):
        load_page(tmp_path / "gone.html", chromium=chromium)


def test_an_expression_that_throws_is_an_error(chromium, tmp_path):
    with pytest.raises(BrowserError, match=r"evaluate\['bad'\] threw: ReferenceError: nope"):
        load_page(_page(tmp_path, "<p>hi</p>"), evaluate={"bad": "nope.x"}, chromium=chromium)


def test_a_timeout_still_kills_chromium_and_removes_its_profile(chromium, tmp_path, monkeypatch):
    # Where the throwaway profile goes: Playwright's driver makes it in its TMPDIR. A short path,
    # since Chromium puts unix sockets there (at most 107 bytes) and pytest's tmp_path is long.
    profiles = Path(tempfile.mkdtemp(prefix="m6p", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(profiles))
    page = _page(tmp_path, "<p>waits forever</p>")
    # Earlier tests in the session may have left helpers of their own (a spawned trainer, a Beam
    # worker pool): only what this load started must be gone.
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    with pytest.raises(BrowserError, match=r"evaluate\['never'\] timed out"):
        load_page(page, evaluate={"never": "new Promise(() => {})"}, timeout=4, chromium=chromium)
    left = list(profiles.iterdir())
    shutil.rmtree(profiles)
    assert left == []
    assert [c for c in psutil.Process().children(recursive=True) if c.pid not in before] == []


def test_m6_chromium_chooses_the_binary_and_a_wrong_one_is_refused(chromium, tmp_path, monkeypatch):
    monkeypatch.setenv("M6_CHROMIUM", chromium)
    assert find_chromium() == chromium == ensure_chromium()
    monkeypatch.setenv("M6_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert find_chromium() is None
    with pytest.raises(BrowserUnavailable, match="no-such-browser' is not an executable"):
        ensure_chromium()


def test_region_stats_on_a_known_image():
    image = Image.new("RGB", (10, 10), (255, 255, 255))
    image.paste((0, 0, 0), (2, 2, 4, 4))  # a 2x2 black square
    out = io.BytesIO()
    image.save(out, format="PNG")
    png = out.getvalue()
    assert region_stats(png, {"x": 0, "y": 0, "width": 10, "height": 10}) == {
        "pixels": 100,
        "colours": 2,
        "background": (255, 255, 255),
        "foreground": pytest.approx(0.04),
    }
    # fractional edges round inwards: 1.5..4.5 keeps pixels 2 and 3, the black square alone
    assert region_stats(png, {"x": 1.5, "y": 1.5, "width": 3, "height": 3})["colours"] == 1
    with pytest.raises(ValueError, match="covers no whole pixel"):
        region_stats(png, {"x": 20, "y": 20, "width": 5, "height": 5})
