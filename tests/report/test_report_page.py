"""The report in a real browser: Debian's headless Chromium opens the page ``m6 report`` wrote for
the sample corpus and a real MoE run, with hostile HTML planted in a caption, a source name, a
rejected text and a URL. The page must load with no console error, request nothing but itself and
its ``data:`` thumbnails, run nothing it was handed, and draw every chart, every thumbnail and its
Chinese text."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from report.cli import main as report_main
from schemas.arrow import IMAGE_TEXT_SCHEMA, REJECTED_SCHEMA, TEXT_SCHEMA
from schemas.image_column import with_image_structs
from tests.support.browser import load_page, region_stats
from tests.support.chromium import cjk_fonts

IMAGE = Path(__file__).resolve().parents[1] / "fixtures" / "images" / "flower.jpg"
PWN = "window.__pwned = (window.__pwned || 0) + 1"
SCRIPT_CAPTION = f"<script>{PWN}</script>一朵花的照片"
IMG_SOURCE = f'<img src=x onerror="{PWN}">'
REJECTED_TEXT = f"</div></details><script>{PWN}</script><b>粗体</b>被拒的文字"
JS_URL = f"javascript:{PWN}"


def _plant(corpus: Path) -> None:
    """Rows whose every text field is hostile, in shards of the project's schemas."""
    text = f"论坛帖子的正文，有二十多个字，讲的是天气和花。{SCRIPT_CAPTION}"
    pq.write_table(pa.Table.from_pylist([{
        "id": "planted-text", "source": IMG_SOURCE, "url": JS_URL, "title": SCRIPT_CAPTION,
        "text": text, "n_chars": len(text), "n_tokens": len(text)}], schema=TEXT_SCHEMA),
        corpus / "text" / "part-planted.parquet")
    data = IMAGE.read_bytes()
    with Image.open(IMAGE) as im:
        w, h = im.size
    pq.write_table(pa.Table.from_pylist(with_image_structs([{
        "id": "planted-pair", "source": "webpage", "url": JS_URL, "image_url": JS_URL,
        "text": SCRIPT_CAPTION, "image": data, "format": "jpeg", "width": w, "height": h,
        "orig_width": w, "orig_height": h, "sha256": hashlib.sha256(data).hexdigest(),
        "n_chars": len(SCRIPT_CAPTION), "n_tokens": 10}]), schema=IMAGE_TEXT_SCHEMA),
        corpus / "image_text" / "part-planted.parquet")
    pq.write_table(pa.Table.from_pylist([{
        "id": "planted-rejected", "source": "forum", "kind": "text", "stage": "<b>stage</b>",
        "reason": IMG_SOURCE, "text": REJECTED_TEXT, "detail": SCRIPT_CAPTION, "url": JS_URL,
        "title": IMG_SOURCE}], schema=REJECTED_SCHEMA),
        corpus / "rejected" / "part-planted.parquet")


@pytest.fixture(scope="module")
def page(sample_corpus, moe_run, chromium, tmp_path_factory, write_manifest):
    corpus = tmp_path_factory.mktemp("hostile") / "corpus"
    shutil.copytree(sample_corpus, corpus)
    _plant(corpus)
    write_manifest(corpus)  # the planted shards are part of the corpus, not strays
    out = corpus.parent / "report.html"
    assert report_main([str(corpus), "--out", str(out), "--run", str(moe_run),
                        "--samples", "100", "-q"]) == 0
    result = load_page(out, chromium=chromium, measure=["svg.chart", "img.thumb"],
                       fonts_of=["figure.pair .caption"], evaluate={
        "pwned": "window.__pwned === undefined ? null : window.__pwned",
        "title": "document.title",
        "scripts": "document.scripts.length",
        "handlers": "document.querySelectorAll('[onerror],[onload],[onclick]').length",
        "links": "[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))",
        "text": "document.body.textContent",
        "captions": "[...document.querySelectorAll('figure.pair .caption')].map(e => e.innerText)",
        "thumbs": "[...document.querySelectorAll('img.thumb')].map(i => i.naturalWidth)",
        "marks": "[...document.querySelectorAll('svg.chart')]"
                 ".map(s => s.querySelectorAll('rect,path,circle').length)",
        "charts": "[...document.querySelectorAll('svg.chart')]"
                  ".map(s => s.getAttribute('aria-label'))",
    })
    shot = corpus.parent / "report.png"
    shot.write_bytes(result.screenshot)
    return result, out, shot


def test_the_page_loads_without_console_errors_and_requests_nothing(page):
    result, out, _ = page
    assert result.errors == [] and result.exceptions == []
    assert result.requests[0] == out.as_uri()
    assert all(u.startswith("data:image/jpeg;base64,") for u in result.requests[1:])
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<script" not in html.lower()


def test_planted_html_shows_as_text_and_never_runs(page):
    result, out, _ = page
    v = result.values
    assert v["pwned"] is None and v["scripts"] == 0 and v["handlers"] == 0
    assert v["title"].startswith("m6 report")
    assert all(link.startswith("#") for link in v["links"])  # URLs are shown, never linked
    assert SCRIPT_CAPTION in v["captions"]  # visible, literally
    for planted in (REJECTED_TEXT, IMG_SOURCE, JS_URL, "<b>stage</b>"):
        assert planted in v["text"]


def test_every_chart_and_thumbnail_is_drawn(page):
    result, _, shot = page
    charts = result.rects["svg.chart"]
    labels = result.values["charts"]
    # Table-1 sections: lengths (6 sources + the planted one), perplexity (4), rejected (1),
    # duplicates (2), images (6), training (5) and MoE (3 + one bar chart per MoE layer).
    assert len(charts) == len(labels) >= 29
    for label in ("training loss per task", "validation loss", "learning rate",
                  "target tokens per second", "dropped tokens (fraction at capacity)",
                  "expert load: busiest / mean", "Rejected records by stage and reason (91)"):
        assert label in labels
    assert any(lbl.endswith("tokens per expert over the run") for lbl in labels)
    assert all(n > 0 for n in result.values["marks"]), dict(zip(labels, result.values["marks"]))
    png = shot.read_bytes()
    for rect, label in zip(charts, labels):
        stats = region_stats(png, rect)
        assert stats["foreground"] > 0.01 and stats["colours"] > 3, (label, stats)
    thumbs = result.rects["img.thumb"]
    assert len(thumbs) == 15 and all(w > 0 for w in result.values["thumbs"])
    for rect in thumbs:
        stats = region_stats(png, rect)
        assert stats["colours"] > 50 and stats["foreground"] > 0.3, stats
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (result.width, result.height) and result.height > 3000


def test_chinese_captions_are_drawn_with_a_cjk_font(page):
    result, _, _ = page
    first = result.values["captions"][0]
    han = sum(1 for c in first if "\u4e00" <= c <= "\u9fff")
    fonts = result.fonts["figure.pair .caption"]
    cjk = [f for f in fonts if f["familyName"] in cjk_fonts()]
    assert han and cjk and sum(f["glyphCount"] for f in cjk) >= han, fonts


def test_the_report_is_utf8_with_a_cjk_font_stack(page):
    _, out, _ = page
    head = out.read_text(encoding="utf-8")[:4000]
    assert '<meta charset="utf-8">' in head and 'lang="zh-CN"' in head
    assert '"Noto Sans CJK SC"' in head and '"Microsoft YaHei"' in head
    assert "default-src 'none'" in head


def test_table_1_shows_the_stats_json_figures(page, sample_corpus):
    result, _, _ = page
    stats = json.loads((sample_corpus / "stats.json").read_text())
    text = result.values["text"]
    assert "Table 1" in text and "Encyclopedia" in text and "Image & Text" in text
    assert f"{stats['totals']['all']['passages']}" in text
