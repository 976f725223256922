"""Selecting records from Common Crawl's URL index (issue 14 point 1): the real index layout
built from real WARC files (``local_cc``), and hand-written rows for each filter's edge."""

from __future__ import annotations

import gzip
import hashlib
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.crawl.cc_config import SelectConfig
from corpus.crawl.cc_index import (
    IndexReadError,
    format_summary,
    index_files,
    select,
    summarize,
    url_fraction,
)
from tests.corpus.crawl.conftest import CRAWLS, INDEX_SCHEMA, start_server


def _expected(local_cc) -> dict[str, dict]:
    """What the default selection must be, computed from the rows written, not by the code
    under test: status 200, text/html, Chinese first, subset warc, one row per URL from the
    latest crawl."""
    best: dict[str, dict] = {}
    for r in local_cc.rows:
        if (r["fetch_status"] == 200 and r["content_mime_detected"] == "text/html"
                and (r["content_languages"] or "").split(",")[0] == "zho"):
            if r["url"] not in best or r["fetch_time"] > best[r["url"]]["fetch_time"]:
                best[r["url"]] = r
    return best


def test_default_selection_is_chinese_html_once_per_url_from_the_latest_crawl(local_cc):
    sel = select([str(local_cc.index)], SelectConfig(), "unused")
    rows = sel.table.to_pylist()
    expected = _expected(local_cc)
    assert len(rows) == len(expected) == 38
    assert {r["url"] for r in rows} == set(expected)
    assert {r["url"]: r["crawl"] for r in rows} == {u: r["crawl"] for u, r in expected.items()}
    assert sum(r["crawl"] == CRAWLS[1] for r in rows) == 8
    assert sel.files == 3  # two crawls' warc subsets and the robotstxt subset, which adds nothing
    keys = [(r["warc_filename"], r["warc_record_offset"]) for r in rows]
    assert keys == sorted(keys)
    for r in rows:
        src = expected[r["url"]]
        assert (r["warc_filename"], r["warc_record_offset"], r["warc_record_length"]) == (
            src["warc_filename"], src["warc_record_offset"], src["warc_record_length"])


def test_summary_counts_requests_bytes_crawls_and_domains(local_cc):
    table = select([str(local_cc.index)], SelectConfig(), "unused").table
    s = summarize(table)
    rows = _expected(local_cc).values()
    assert s["requests"] == 38
    assert s["bytes"] == sum(r["warc_record_length"] for r in rows)
    assert s["by_crawl"] == {CRAWLS[0]: 30, CRAWLS[1]: 8}
    assert s["top_domains"][0] == ("example.cn", 20)
    text = format_summary(s)
    assert text.startswith(f"38 requests, {s['bytes']:,} bytes")
    assert "CC-MAIN-2024-18" in text and "example.com.cn" in text


def _hand_index(tmp_path, rows: list[dict]) -> str:
    base = {"url_surtkey": "x", "url_protocol": "https", "fetch_status": 200,
            "content_mime_type": "text/html", "content_mime_detected": "text/html",
            "warc_filename": "crawl-data/X/a.warc.gz", "warc_record_length": 100,
            "warc_segment": "1", "fetch_time": datetime(2024, 1, 1, tzinfo=timezone.utc)}
    full = []
    for i, r in enumerate(rows):
        host = r["url"].split("/")[2]
        full.append({**base, "url_host_name": host,
                     "url_host_registered_domain": ".".join(host.split(".")[-2:]),
                     "warc_record_offset": i * 100, **r})
    path = tmp_path / "idx" / "crawl=CC-MAIN-2024-10" / "subset=warc" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(full, schema=INDEX_SCHEMA), path)
    return str(tmp_path / "idx" / "**" / "*.parquet")


ROWS = [
    {"url": "https://a.example.cn/1", "content_languages": "zho"},
    {"url": "https://a.example.cn/2", "content_languages": "zho,eng"},
    {"url": "https://b.example.com/3", "content_languages": "eng,zho"},
    {"url": "https://b.example.com/4", "content_languages": "eng"},
    {"url": "https://c.example.tw/5", "content_languages": "zho", "fetch_status": 404},
    {"url": "https://c.example.tw/6", "content_languages": "zho",
     "content_mime_detected": "application/pdf"},
    {"url": "https://d.other.cn/7", "content_languages": "jpn,zho"},
    {"url": "https://d.other.cn/8", "content_languages": None},
    {"url": "https://d.other.cn/9", "content_languages": "zhoo"},
]


def _urls(glob: str, **kw) -> list[str]:
    return sorted(r["url"] for r in select([glob], SelectConfig(**kw), "x").table.to_pylist())


def test_primary_or_any_language_mime_and_status(tmp_path):
    glob = _hand_index(tmp_path, ROWS)
    assert _urls(glob) == ["https://a.example.cn/1", "https://a.example.cn/2"]
    assert _urls(glob, any_language=True) == [
        "https://a.example.cn/1", "https://a.example.cn/2", "https://b.example.com/3",
        "https://d.other.cn/7"]
    assert _urls(glob, languages=("jpn", "eng")) == [
        "https://b.example.com/3", "https://b.example.com/4", "https://d.other.cn/7"]
    assert _urls(glob, mime=("application/pdf",)) == ["https://c.example.tw/6"]
    with pytest.raises(ValueError, match="ISO-639-3"):
        SelectConfig(languages=("zh.*",))


def test_domain_allow_and_exclude_lists(tmp_path):
    glob = _hand_index(tmp_path, ROWS)
    allow = tmp_path / "allow.txt"
    allow.write_text("# shops we want\nexample.cn\n\nB.EXAMPLE.COM.  # a host name\n")
    deny = tmp_path / "deny.txt"
    deny.write_text("a.example.cn\n")
    kw = {"any_language": True}
    assert _urls(glob, domains_file=str(allow), **kw) == [
        "https://a.example.cn/1", "https://a.example.cn/2", "https://b.example.com/3"]
    assert _urls(glob, exclude_domains_file=str(deny), **kw) == [
        "https://b.example.com/3", "https://d.other.cn/7"]


def test_sample_and_limit_are_deterministic_hash_choices(tmp_path):
    rows = [{"url": f"https://s.example.cn/{i}", "content_languages": "zho"} for i in range(400)]
    glob = _hand_index(tmp_path, rows)
    half = _urls(glob, sample=0.5)
    assert half == _urls(glob, sample=0.5)
    assert half == sorted(r["url"] for r in rows if url_fraction(r["url"]) < 0.5)
    assert 160 < len(half) < 240
    assert set(_urls(glob, sample=0.25)) < set(half)
    ten = _urls(glob, limit=10)
    by_hash = sorted((r["url"] for r in rows), key=url_fraction)[:10]
    assert ten == sorted(by_hash)
    assert url_fraction("https://s.example.cn/0") == pytest.approx(
        int.from_bytes(hashlib.blake2b(b"https://s.example.cn/0", digest_size=8).digest(),
                       "big") / 2 ** 64)


def test_a_paths_gz_list_is_read_relative_to_the_base_url(local_cc, tmp_path):
    files = sorted(str(p.relative_to(local_cc.index.parent))
                   for p in local_cc.index.rglob("*.parquet"))
    listing = tmp_path / "cc-index-table.paths.gz"
    listing.write_bytes(gzip.compress(("\n".join(files) + "\n").encode()))
    base = str(local_cc.index.parent)
    named = index_files(str(listing), base)
    assert len(named) == 2  # the robotstxt subset is left out of the list
    assert all(p.startswith(base + "/index/crawl=") for p in named)
    sel = select([str(listing)], SelectConfig(), base)
    assert sel.table.num_rows == 38


def test_the_index_is_read_over_http_from_a_paths_list(local_cc, tmp_path):
    """As from Common Crawl's HTTPS endpoint: the paths list and the Parquet files over HTTP
    (fsspec's HTTP filesystem, ranged reads of the Parquet footers and row groups)."""
    root = local_cc.index.parent
    files = sorted(str(p.relative_to(root)) for p in local_cc.index.rglob("*.parquet"))
    listing = root / "cc-index-table.paths.gz"
    listing.write_bytes(gzip.compress(("\n".join(files) + "\n").encode()))
    srv = start_server(root)
    try:
        sel = select([srv.base_url + "cc-index-table.paths.gz"], SelectConfig(), srv.base_url)
    finally:
        srv.shutdown()
        srv.server_close()
    assert (sel.table.num_rows, sel.files) == (38, 2)
    assert {p.split("?")[0] for _, p, _, _ in srv.requests} == {
        "/cc-index-table.paths.gz", *(f"/{f}" for f in files if "subset=warc" in f)}


def test_unreadable_indexes_are_one_line_errors(tmp_path):
    with pytest.raises(IndexReadError, match="does not exist"):
        index_files(str(tmp_path / "nothing"), "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexReadError, match="matched no files"):
        index_files(str(tmp_path / "empty" / "*.parquet"), "x")
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"url": ["https://a.cn/"]}), bad)
    with pytest.raises(IndexReadError, match="lacks column.*url_host_name"):
        select([str(bad)], SelectConfig(), "x")
