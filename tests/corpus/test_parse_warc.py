"""corpus.parse.warc: every response of the sample crawl comes out as a Page; damage (truncated
or corrupt gzip, malformed or truncated records) becomes one rejected row and reading goes on;
real WARCs from warcio, resiliparse, dolma and Common Crawl read in full."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import fsspec
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from corpus.document import Page
from corpus.parse.counts import RecordCounts
from corpus.parse.warc import ParseConfig, iter_records
from schemas import RejectedRecord, make_id

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "crawl"
FIXTURES = ROOT / "tests" / "fixtures" / "warc"
MANIFEST = [json.loads(line) for line in
            (ROOT / "data" / "sample" / "truth" / "crawl_manifest.jsonl").open(encoding="utf-8")]


def read(path, **kw) -> tuple[list[Page], list[RejectedRecord], RecordCounts]:
    counts = RecordCounts()
    pages, rejected = [], []
    for rec in iter_records(str(path), counts=counts, **kw):
        (rejected if isinstance(rec, RejectedRecord) else pages).append(rec)
    return pages, rejected, counts


def html_warc(path: Path, bodies: list[tuple[str, bytes]], *, compress: bool = True) -> Path:
    """A WARC with one text/html response per (url, body)."""
    with path.open("wb") as f:
        w = WARCWriter(f, gzip=compress)
        for i, (url, body) in enumerate(bodies):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                               ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
                warc_headers_dict={"WARC-Date": f"2024-01-01T00:00:{i:02d}Z",
                                   "WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-{i:012d}>"}))
    return path


# ---------------------------------------------------------------------------------------------
# The sample crawl, against the manifest its generator wrote


@pytest.mark.parametrize("name", ["crawl-00000.warc.gz", "crawl-00001.warc.gz",
                                  "crawl-00003.arc.gz"])
def test_every_response_of_the_sample_is_a_page_with_status_and_type(name):
    pages, rejected, counts = read(SAMPLE / name)
    expected = [m for m in MANIFEST if m["file"] == name and m["type"] == "response"]
    assert rejected == []
    assert [(p.url, p.status, p.content_type) for p in pages] == [
        (m["url"], m["status"], m["content_type"]) for m in expected]
    assert all(p.id == make_id("common_crawl", p.url) and p.source == "common_crawl" for p in pages)
    assert all(p.input_file == str(SAMPLE / name) and p.crawl_date for p in pages)
    skipped = {}
    for m in MANIFEST:
        if m["file"] == name and m["type"] in ("request", "revisit", "metadata"):
            skipped[m["type"]] = skipped.get(m["type"], 0) + 1
    skipped["warcinfo"] = 1
    assert counts.skipped == skipped
    assert counts.kept == len(expected)
    assert counts.images == sum(m["content_type"].startswith("image/") for m in expected)


def test_offsets_point_at_the_records():
    pages, _, _ = read(SAMPLE / "crawl-00000.warc.gz")
    data = (SAMPLE / "crawl-00000.warc.gz").read_bytes()
    for p in pages[:5]:
        member = gzip.GzipFile(fileobj=io.BytesIO(data[p.offset:])).read(600)
        assert member.startswith(b"WARC/1.1\r\n")
        assert f"WARC-Target-URI: {p.url}".encode() in member


def test_content_encoding_and_chunking_are_undone():
    pages = {p.url: p for p in read(SAMPLE / "crawl-00000.warc.gz")[0]}
    gz = pages["https://news.example.com.cn/2024/05/n04.html"]
    chunked = pages["https://news.example.com.cn/2024/05/n06.html"]
    for page in (gz, chunked):
        assert page.body.startswith(b"<!DOCTYPE html>")
        assert page.body.rstrip().endswith(b"</html>")
    assert "今年首场寒潮来袭".encode() in gz.body
    assert b"\r\n3e8\r\n" not in chunked.body and not chunked.body.startswith(b"3e8")


def test_caller_chooses_the_source():
    pages, _, _ = read(SAMPLE / "crawl-00003.arc.gz", source="forum")
    assert {p.source for p in pages} == {"forum"}
    assert pages[0].id == make_id("forum", "http://travel.example.com/guide/e06")


def test_malformed_record_in_plain_warc_is_rejected_and_the_rest_read():
    pages, rejected, counts = read(SAMPLE / "crawl-00002.warc")
    assert [(r.reason, r.url, r.stage, r.kind) for r in rejected] == [
        ("malformed_record", "https://broken.example.cn/bad-record", "parse", "record")]
    assert "12ab" in rejected[0].detail
    data = (SAMPLE / "crawl-00002.warc").read_bytes()
    assert data[rejected[0].offset:].startswith(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: "
                                                b"https://broken.example.cn/")
    assert [p.url for p in pages] == [m["url"] for m in MANIFEST
                                      if m["file"] == "crawl-00002.warc" and m["type"] == "response"]
    assert counts.rejected == {"malformed_record": 1}


# ---------------------------------------------------------------------------------------------
# Damage made here from the sample


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.83, 0.999])
def test_truncated_gzip_gives_records_up_to_the_cut_and_one_rejected_row(tmp_path, fraction):
    src = SAMPLE / "crawl-00001.warc.gz"
    whole, _, _ = read(src)
    data = src.read_bytes()
    cut = int(len(data) * fraction)
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[:cut])
    pages, rejected, counts = read(path)
    assert [r.reason for r in rejected] == ["truncated_gzip"]
    damaged_at = rejected[0].offset
    assert damaged_at < cut
    assert [p.url for p in pages] == [p.url for p in whole if p.offset < damaged_at]
    assert [p.body for p in pages] == [p.body for p in whole if p.offset < damaged_at]
    assert counts.rejected == {"truncated_gzip": 1}


def test_corrupt_gzip_member_is_rejected_and_later_records_still_come_out(tmp_path):
    src = SAMPLE / "crawl-00000.warc.gz"
    whole, _, _ = read(src)
    victim = whole[12]
    data = bytearray(src.read_bytes())
    for i in range(victim.offset + 400, victim.offset + 450):  # inside the member's deflate data
        data[i] ^= 0x55
    path = tmp_path / "corrupt.warc.gz"
    path.write_bytes(bytes(data))
    pages, rejected, _ = read(path)
    assert [(r.reason, r.offset) for r in rejected] == [("corrupt_gzip", victim.offset)]
    assert rejected[0].url == victim.url
    assert [p.url for p in pages] == [p.url for p in whole if p is not victim]


@pytest.mark.parametrize("cut", [120, 600, 2100])
def test_truncated_plain_warc_rejects_the_cut_record(tmp_path, cut):
    bodies = [(f"https://t.example.cn/{i}", (f"<html><body><p>第{i}页" + "内容" * 300 + "</p></body></html>").encode())
              for i in range(4)]
    full = html_warc(tmp_path / "full.warc", bodies, compress=False).read_bytes()
    whole, _, _ = read(tmp_path / "full.warc")
    path = tmp_path / "cut.warc"
    cut_at = whole[2].offset + cut
    path.write_bytes(full[:cut_at])
    pages, rejected, _ = read(path)
    assert [p.url for p in pages] == [bodies[0][0], bodies[1][0]]
    uri_survived = f"WARC-Target-URI: {bodies[2][0]}\r\n".encode() in full[whole[2].offset:cut_at]
    assert [(r.reason, r.offset, r.url) for r in rejected] == [
        ("truncated_record", whole[2].offset, bodies[2][0] if uri_survived else None)]


def test_garbage_between_records_is_skipped_with_one_row(tmp_path):
    bodies = [(f"https://g.example.cn/{i}", f"<p>页面{i}</p>".encode()) for i in range(3)]
    full = html_warc(tmp_path / "a.warc", bodies, compress=False).read_bytes()
    whole, _, _ = read(tmp_path / "a.warc")
    junk = b"\x00\xffnot a warc record at all\r\n" * 10
    path = tmp_path / "b.warc"
    path.write_bytes(full[:whole[1].offset] + junk + full[whole[1].offset:])
    pages, rejected, _ = read(path)
    assert [p.url for p in pages] == [u for u, _ in bodies]
    assert [(r.reason, r.offset) for r in rejected] == [("malformed_record", whole[1].offset)]


def test_record_over_the_limit_is_rejected_unread(tmp_path):
    bodies = [("https://s.example.cn/small", b"<p>small</p>"),
              ("https://s.example.cn/big", b"<p>" + b"x" * 50_000 + b"</p>"),
              ("https://s.example.cn/after", b"<p>after</p>")]
    path = html_warc(tmp_path / "big.warc.gz", bodies)
    pages, rejected, _ = read(path, config=ParseConfig(max_record_bytes=10_000))
    assert [p.url for p in pages] == ["https://s.example.cn/small", "https://s.example.cn/after"]
    assert [(r.reason, r.url) for r in rejected] == [("record_too_large", "https://s.example.cn/big")]


def test_non_page_content_types_are_counted_not_kept(tmp_path):
    path = tmp_path / "css.warc.gz"
    with path.open("wb") as f:
        w = WARCWriter(f, gzip=True)
        for url, ctype in (("https://c.example.cn/a.css", "text/css"),
                           ("https://c.example.cn/", "text/html")):
            body = b"body{}" if ctype == "text/css" else b"<p>hi</p>"
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                length=len(body), http_headers=http))
    pages, rejected, counts = read(path)
    assert [p.url for p in pages] == ["https://c.example.cn/"]
    assert counts.skipped == {"content_type": 1}


def test_fsspec_urls_are_read(tmp_path):
    data = (SAMPLE / "crawl-00003.arc.gz").read_bytes()
    with fsspec.open("memory://m6-test/crawl.arc.gz", "wb") as f:
        f.write(data)
    pages, rejected, _ = read("memory://m6-test/crawl.arc.gz")
    assert len(pages) == 2 and rejected == []
    assert pages[0].input_file == "memory://m6-test/crawl.arc.gz"


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        list(iter_records(str(tmp_path / "nope.warc.gz")))


def test_counts_add_up_over_files():
    total = RecordCounts()
    for name in ("crawl-00000.warc.gz", "crawl-00002.warc"):
        total.add(read(SAMPLE / name)[2])
    d = total.as_dict()
    assert d["kept"] == 33 + 4 and d["rejected"] == {"malformed_record": 1}
    assert d["skipped"]["warcinfo"] == 2 and d["skipped"]["request"] == 4


# ---------------------------------------------------------------------------------------------
# Real WARCs written by other tools


def test_warcio_truncated_example_keeps_the_response_and_the_request_after_it():
    pages, rejected, counts = read(FIXTURES / "warcio_example-trunc.warc")
    assert [p.url for p in pages] == ["http://example.com/"]
    assert pages[0].status == 200 and b"<title>Example Domain</title>" in pages[0].body
    assert counts.skipped == {"warcinfo": 2, "request": 1}  # fastwarc alone stops before it
    assert rejected == []


def test_warcio_chunked_example_is_dechunked():
    pages, _, _ = read(FIXTURES / "warcio_example-iana.org-chunked.warc")
    (page,) = pages
    assert page.url == "http://www.iana.org/"
    assert page.body.lstrip().lower().startswith(b"<!doctype html>")
    assert page.body.rstrip().endswith(b"</html>")


def test_warcio_example_skips_the_revisit():
    pages, _, counts = read(FIXTURES / "warcio_example.warc.gz")
    assert [p.url for p in pages] == ["http://example.com/"]
    assert counts.skipped["revisit"] == 1 and counts.skipped["request"] == 2


def test_clueweb09_quirk_file_reads_all_29_pages():
    pages, rejected, _ = read(FIXTURES / "resiliparse_clueweb09-ja_quirk.warc.gz")
    assert len(pages) == 29 and rejected == []
    assert all(p.url.startswith("http") and p.status == 200 for p in pages)


def test_dolma_and_common_crawl_samples():
    pages, rejected, counts = read(FIXTURES / "dolma_sample-0000.warc.gz")
    assert len(pages) == 22 and rejected == [] and counts.skipped["request"] == 22
    pages, _, counts = read(FIXTURES / "commoncrawl_whirlwind.warc.gz")
    assert len(pages) == 1 and pages[0].status == 200
    assert counts.skipped == {"warcinfo": 1, "request": 1, "metadata": 1}


@pytest.mark.parametrize("data, reason", [
    (b"<html><body>not a warc</body></html>\n" * 100, "malformed_record"),
    (gzip.compress(b"<html>not a warc</html>" * 100), "malformed_record"),
    (b"\x1f\x8b\x08" + b"junkjunk" * 100, "corrupt_gzip"),
])
def test_a_file_that_is_not_a_crawl_is_one_rejected_row(tmp_path, data, reason):
    path = tmp_path / "x.warc.gz"
    path.write_bytes(data)
    pages, rejected, _ = read(path)
    assert pages == [] and [(r.reason, r.offset) for r in rejected] == [(reason, 0)]


def test_an_empty_file_gives_nothing(tmp_path):
    (tmp_path / "e.warc").write_bytes(b"")
    assert read(tmp_path / "e.warc")[:2] == ([], [])
