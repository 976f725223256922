"""The crawler's pure parts (corpus/crawl/): URL normalisation and registered domains, robots.txt
decisions, URL lists and sitemaps (plain, gzipped, indexes, hostile), the fetch-log schema, the
resumption plan, and the WARC writer read back by the corpus's own WARC reader."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from corpus.crawl.fetch_log import log_row, read_log, write_log_part
from corpus.crawl.host import HostState, Item
from corpus.crawl.robots import Robots, RobotsVerdict, load_cached, save_cached
from corpus.crawl.sitemaps import MAX_SITEMAP_BYTES, parse_seeds, read_seed_files
from corpus.crawl.state import clean_partial, plan_round
from corpus.crawl.urls import normalise_url, origin, registered_domain
from corpus.crawl.warc_out import WarcOutput
from corpus.parse.warc import iter_records


@pytest.mark.parametrize("raw,norm", [
    ("HTTP://WWW.Example.CN:80/a/./b/../c?b=2&a=1#frag", "http://www.example.cn/a/c?a=1&b=2"),
    ("https://例子.cn/图片 1.jpg", "https://xn--fsqu00a.cn/%E5%9B%BE%E7%89%87%201.jpg"),
    ("http://x.cn", "http://x.cn/"),
    ("http://x.cn/%7euser/%2fa%zz?", "http://x.cn/~user/%2Fa%25zz"),
    ("http://u:p@x.cn:8080/a//b/", "http://x.cn:8080/a/b/"),
    ("https://x.cn:443/a?c=3&a=2&a=1", "https://x.cn/a?a=2&a=1&c=3"),
    ("http://x.cn./../../a", "http://x.cn/a"),
    ("http://[2001:DB8::1]:8080/a.jpg", "http://[2001:db8::1]:8080/a.jpg"),
    ("ftp://x.cn/", None), ("mailto:a@x.cn", None), ("http:///a", None),
    ("http://x.cn:99999/", None),
])
def test_normalise_url(raw, norm):
    assert normalise_url(raw) == norm


def test_spellings_of_one_page_are_one_url():
    same = ["http://Shop.CN/p?a=1&b=2", "http://shop.cn:80/p?b=2&a=1#x", "HTTP://shop.cn/./p?a=1&b=2"]
    assert {normalise_url(u) for u in same} == {"http://shop.cn/p?a=1&b=2"}
    assert origin("http://shop.cn:8080/p?a=1") == "http://shop.cn:8080"


def test_registered_domains_use_the_public_suffix_list():
    assert registered_domain("http://news.sina.com.cn/a") == "sina.com.cn"
    assert registered_domain("https://a.b.example.co.uk/") == "example.co.uk"
    assert registered_domain("http://127.0.0.1:8000/x") == "127.0.0.1"
    assert registered_domain("com.cn") is None


ROBOTS = (b"User-agent: *\nDisallow: /private\nAllow: /private/ok\nDisallow: /*.pdf$\n"
          b"Crawl-delay: 2.5\n\nUser-agent: m6-crawl\nDisallow: /m6-only\n")


def test_robots_longest_match_and_crawl_delay():
    generic = Robots(RobotsVerdict.from_fetch("http://x.cn", "ok", 200, ROBOTS), "somebot/1.0")
    allowed = {u: generic.allowed("http://x.cn" + u) for u in
               ("/", "/private", "/private/x", "/private/ok", "/private/ok/deeper", "/a.pdf",
                "/a.pdf?x=1")}
    assert allowed == {"/": True, "/private": False, "/private/x": False, "/private/ok": True,
                       "/private/ok/deeper": True, "/a.pdf": False, "/a.pdf?x=1": True}
    assert generic.crawl_delay() == 2.5
    ours = Robots(RobotsVerdict.from_fetch("http://x.cn", "ok", 200, ROBOTS), "m6-crawl/0.1 (x)")
    assert (ours.allowed("http://x.cn/m6-only"), ours.allowed("http://x.cn/private")) == (
        False, True)  # its own group replaces the * group


@pytest.mark.parametrize("status,code,kind,blocking", [
    ("http_404", 404, "allow_all", None), ("http_403", 403, "allow_all", None),
    ("http_503", 503, "unreachable", "robots_unavailable"),
    ("timeout", None, "unreachable", "robots_unavailable"),
    ("too_large", 200, "unreachable", "robots_unavailable"),
    ("blocked_address", None, "blocked_address", "blocked_address"),
])
def test_robots_answers(status, code, kind, blocking):
    v = RobotsVerdict.from_fetch("http://x.cn", status, code, None)
    assert (v.kind, v.blocking_status) == (kind, blocking)
    assert Robots(v, "ua").allowed("http://x.cn/a") is (blocking is None)


def test_robots_cache_keeps_only_reusable_answers(tmp_path):
    ok = RobotsVerdict.from_fetch("http://x.cn", "ok", 200, ROBOTS)
    down = RobotsVerdict.from_fetch("http://y.cn", "http_500", 500, None)
    save_cached(tmp_path, ok)
    save_cached(tmp_path, down)
    assert load_cached(tmp_path, "http://x.cn", 60).text == ok.text
    assert load_cached(tmp_path, "http://y.cn", 60) is None  # a 5xx is asked again next time
    assert load_cached(tmp_path, "http://x.cn", -1) is None  # too old


SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://shop.example.cn/a?x=1&amp;y=2</loc><lastmod>2024-01-01</lastmod></url>
  <url><loc>
     https://shop.example.cn/b
  </loc></url>
</urlset>"""


def test_url_lists_and_sitemaps(tmp_path):
    assert parse_seeds(b"# seeds\nhttp://a.cn/1\n\n  http://a.cn/2  trailing words\n").urls == (
        "http://a.cn/1", "http://a.cn/2")
    assert parse_seeds(SITEMAP).urls == ("https://shop.example.cn/a?x=1&y=2",
                                         "https://shop.example.cn/b")
    assert parse_seeds(gzip.compress(SITEMAP)).urls == parse_seeds(SITEMAP).urls
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "part1.xml.gz").write_bytes(gzip.compress(SITEMAP))
    (tmp_path / "secret.txt").write_text("http://outside.cn/should-not-be-read\n")
    index = (b'<?xml version="1.0"?><sitemapindex><sitemap><loc>part1.xml.gz</loc></sitemap>'
             b"<sitemap><loc>../secret.txt</loc></sitemap>"
             b"<sitemap><loc>https://shop.example.cn/sitemap2.xml</loc></sitemap></sitemapindex>")
    (tmp_path / "maps" / "index.xml").write_bytes(index)
    got = dict(read_seed_files([tmp_path / "maps" / "index.xml"]))
    assert [s.urls for s in got.values()] == [(), parse_seeds(SITEMAP).urls]
    assert got[str((tmp_path / "maps" / "index.xml").resolve())].sitemaps == (
        "https://shop.example.cn/sitemap2.xml",)  # remote: fetched by the caller


def test_a_sitemap_gzip_bomb_stops_at_the_cap():
    bomb = gzip.compress(b"<urlset>" + b" " * (MAX_SITEMAP_BYTES + 10_000_000)
                         + b"<loc>http://late.cn/</loc></urlset>")
    assert len(bomb) < 200_000
    assert parse_seeds(bomb).urls == ()  # the loc after the cap is never reached


def test_warc_records_read_back(tmp_path):
    out = WarcOutput(tmp_path, "t.warc.gz")
    body = "<html><body><p>长江流域</p></body></html>".encode()
    offset, length = out.write_exchange(
        "http://x.cn/a", request_line="GET /a HTTP/1.1", request_headers=[("Host", "x.cn")],
        http_version="HTTP/1.1", status=200, reason="OK",
        headers=[("Content-Type", "text/html; charset=utf-8"), ("Transfer-Encoding", "chunked")],
        body=body, peer="203.0.113.9", metadata={"depth": "0"})
    assert not (tmp_path / "warc").exists()  # nothing under the final name before close()
    assert out.close() == "warc/t.warc.gz"
    path = tmp_path / "warc" / "t.warc.gz"
    with open(path, "rb") as f:
        kinds = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                 for r in ArchiveIterator(f)]
    assert kinds == [("warcinfo", None), ("response", "http://x.cn/a"),
                     ("request", "http://x.cn/a"), ("metadata", "http://x.cn/a")]
    with open(path, "rb") as f:
        f.seek(offset)
        member = f.read(length)
    rec = next(ArchiveIterator(__import__("io").BytesIO(member)))
    assert rec.rec_type == "response" and rec.content_stream().read() == body
    assert rec.rec_headers.get_header("WARC-IP-Address") == "203.0.113.9"
    assert rec.http_headers.get_header("Transfer-Encoding") is None
    assert rec.http_headers.get_header("X-Crawler-Transfer-Encoding") == "chunked"
    (page,) = list(iter_records(str(path), source="webpage"))
    assert (page.url, page.body, page.source) == ("http://x.cn/a", body, "webpage")


def test_plan_round_resumes_from_the_log(tmp_path):
    rows = [log_row(url="http://a.cn/", host="http://a.cn", status="ok", attempts=1,
                    fetched_at=100.0, depth=0, hops=0, run_id="old",
                    links=["http://a.cn/x", "http://a.cn/y"]),
            log_row(url="http://a.cn/x", host="http://a.cn", status="http_503", attempts=2,
                    fetched_at=101.0, depth=1, hops=0, run_id="old"),
            log_row(url="http://a.cn/r", host="http://a.cn", status="redirect", attempts=1,
                    fetched_at=102.0, depth=0, hops=0, run_id="old",
                    location="http://b.cn/landing"),
            log_row(url="http://c.cn/", host="http://c.cn", status="robots_unavailable",
                    attempts=0, fetched_at=103.0, depth=0, hops=0, run_id="now")]
    write_log_part(rows, tmp_path / "log" / "p.parquet", tmp_path / "_tmp")
    seeds = [Item("http://a.cn/"), Item("http://a.cn/r"), Item("http://c.cn/")]
    plan = plan_round(seeds, read_log(tmp_path), 1, 10, run_id="now")
    assert plan.items == [Item("http://a.cn/x", 1, 0), Item("http://a.cn/y", 1, 0),
                          Item("http://b.cn/landing", 0, 1)]
    assert plan.hosts == {"http://a.cn": HostState(7, 102.0), "http://b.cn": HostState(10)}
    # a later run retries the 5xx robots host too; depth 0 follows no links
    assert [i.url for i in plan_round(seeds, read_log(tmp_path), 0, 10, "later").items] == [
        "http://b.cn/landing", "http://c.cn/"]


def test_clean_partial_removes_uncommitted_warc_files(tmp_path):
    (tmp_path / "warc").mkdir()
    (tmp_path / "_tmp").mkdir()
    for stem in ("done", "orphan"):
        (tmp_path / "warc" / f"{stem}.warc.gz").write_bytes(b"x")
    write_log_part([], tmp_path / "log" / "done.parquet", tmp_path / "_tmp")
    (tmp_path / "manifest.json").write_text("{}")
    assert clean_partial(tmp_path) == ["_tmp", "warc/orphan.warc.gz"]
    assert sorted(p.name for p in (tmp_path / "warc").iterdir()) == ["done.warc.gz"]
    assert not (tmp_path / "manifest.json").exists()
    assert Path(tmp_path / "log" / "done.parquet").exists()
