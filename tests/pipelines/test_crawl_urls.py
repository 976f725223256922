"""``m6 crawl urls`` end to end against local web sites (tests/corpus/crawl/sites.py): robots.txt
rules and Crawl-delay, redirect chains and loops, a redirect to a refused address and to another
site, 404/500, a slow drip, a huge page, JSON, a robots.txt that answers 500; two worker
processes; a run killed mid-way and rerun; the crawl read by ``m6 corpus``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.crawl_urls import main as crawl_main
from schemas.version import m6_version
from tests.corpus.crawl.sites import Sites

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--allow-address", "127.0.0.1", "--delay", "0.2", "--max-bytes", "1000000",
        "--user-agent", "m6-test/1.0 (+https://example.org/tests)", "--quiet",
        "--set", "fetch.total_timeout_s=2", "--set", "fetch.read_timeout_s=1",
        "--set", "fetch.retries=0"]


def responses(folder: Path) -> dict[str, int]:
    """``{url: http status}`` of every response record in the crawl's WARC files."""
    out = {}
    for path in sorted((folder / "warc").glob("*.warc.gz")):
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                if rec.rec_type == "response":
                    out[rec.rec_headers.get_header("WARC-Target-URI")] = int(
                        rec.http_headers.get_statuscode())
    return out


def statuses(folder: Path) -> dict[str, str]:
    """The last logged status of each URL."""
    rows = pq.ParquetDataset(folder / "log").read().to_pylist()
    return {r["url"]: r["status"] for r in sorted(rows, key=lambda r: r["fetched_at"])}


@pytest.fixture(scope="module")
def sites():
    s = Sites(crawl_delay=0.25, drip_s=0.02)
    yield s
    s.close()


@pytest.fixture(scope="module")
def crawled(sites, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl")
    seeds = tmp / "seeds.txt"
    seeds.write_text(f"{sites.url('shop', '/')}\n{sites.url('down', '/a')}\n"
                     f"not a url\n{sites.url('shop', '/')}#dup\n")
    out = tmp / "crawl"
    assert crawl_main(["--input", str(seeds), "--output", str(out), "--depth", "1",
                       "--workers", "2", *FAST]) == 0
    return out


@pytest.mark.slow
def test_every_url_gets_its_outcome(sites, crawled):
    shop, blog = sites.url("shop", ""), sites.url("blog", "")
    port = sites.port("shop")
    assert statuses(crawled) == {
        f"{shop}/": "ok", f"{shop}/p1": "ok", f"{shop}/p2?a=1&b=2": "ok",
        f"{shop}/private/secret": "robots_disallowed", f"{shop}/private/ok": "ok",
        f"{shop}/chain/3": "redirect", f"{shop}/chain/2": "redirect",
        f"{shop}/chain/1": "redirect", f"{shop}/chain/0": "redirect", f"{shop}/final": "ok",
        f"{shop}/loop-a": "redirect_loop", f"{shop}/loop-b": "redirect",  # a->b->a: a again
        f"{shop}/to-forbidden": "redirect", f"http://127.0.0.2:{port}/p1": "blocked_address",
        f"{shop}/to-blog": "redirect", f"{blog}/landing": "ok", f"{blog}/post/1": "ok",
        f"{shop}/missing": "http_404", f"{shop}/error": "http_500", f"{shop}/drip": "timeout",
        f"{shop}/huge": "too_large", f"{shop}/data.json": "ok",
        f"{sites.url('down', '/a')}": "robots_unavailable",
        # each host's robots.txt request (127.0.0.2's was refused before it was made)
        f"{shop}/robots.txt": "robots_txt", f"{blog}/robots.txt": "robots_txt",
        f"{sites.url('down', '/robots.txt')}": "robots_txt",
    }
    rows = pq.ParquetDataset(crawled / "log").read().to_pylist()
    robots = {r["url"]: (r["http_status"], r["detail"]) for r in rows
              if r["status"] == "robots_txt"}
    assert robots == {f"{shop}/robots.txt": (200, "available: ok"),
                      f"{blog}/robots.txt": (404, "allow_all: http_404"),
                      f"{sites.url('down', '/robots.txt')}": (500, "unreachable: http_500")}
    got = responses(crawled)
    assert got[f"{shop}/chain/3"] == 301 and got[f"{shop}/final"] == 200
    assert f"{shop}/huge" not in got and f"{shop}/missing" not in got
    manifest = json.loads((crawled / "manifest.json").read_text())
    assert (manifest["kind"], manifest["source"], manifest["records"]) == (
        "m6 crawl", "webpage", len(got))
    config = json.loads((crawled / "config.json").read_text())
    assert config["crawl"]["fetch"]["allow_addresses"] == ["127.0.0.1"]
    assert config["crawl"]["fetch"]["per_host_delay_s"] == 0.2
    assert config["m6_version"] == m6_version()


@pytest.mark.slow
def test_nothing_disallowed_or_refused_was_requested(sites, crawled):
    shop = sites.requested("shop")
    assert not [p for p in shop if p.startswith("/private/secret")]
    assert "/private/ok" in shop
    assert sites.requested("down") == ["/robots.txt"]  # robots.txt 500: nothing else asked
    assert shop.count("/robots.txt") == 1  # once per host, cached for round 2
    assert not [p for p in shop if p.endswith("#dup") or p == "/p2?b=2&a=1"]  # normalised
    assert shop.count("/loop-a") == 1 and shop.count("/loop-b") == 1
    assert "/deep" not in shop  # linked from depth-1 pages only: one level beyond --depth 1


@pytest.mark.slow
def test_per_host_delay_held_across_two_workers(sites, crawled):
    for site, floor in (("shop", 0.25), ("blog", 0.2)):  # shop: its Crawl-delay is larger
        times = sorted(sites.times(site))
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert len(times) >= 3 and min(gaps) >= floor, (site, gaps)
    sent = [h for s, _, _, h in sites.log if s == "shop"]
    assert {h["User-Agent"] for h in sent} == {"m6-test/1.0 (+https://example.org/tests)"}


@pytest.mark.slow
def test_a_rerun_fetches_nothing_more_and_corpus_reads_the_crawl(sites, crawled, tmp_path):
    before = len(sites.log)
    seeds = crawled.parent / "seeds.txt"
    assert crawl_main(["--input", str(seeds), "--output", str(crawled), "--depth", "1",
                       *FAST]) == 0
    new = [p for _, p, _, _ in sites.log[before:]]
    # only what failed for a passing reason is tried again: the host whose robots.txt answered
    # 500, the page that timed out, the page that answered 500
    assert sorted(new) == ["/drip", "/error", "/robots.txt"]
    from pipelines.cli import main as corpus_main

    out = tmp_path / "corpus"
    assert corpus_main(["--input", str(crawled), "--output", str(out), "--quiet",
                        "--no-quality", "--no-report"]) == 0
    text = pq.ParquetDataset(out / "text").read().to_pylist()
    rejected = pq.ParquetDataset(out / "rejected").read().to_pylist()
    shop, blog = sites.url("shop", ""), sites.url("blog", "")
    # the sample's articles served under the sites' paths: kept, or dropped by the paper's rule
    # for short topic titles, which applies to source "webpage" (corpus/clean/length.py)
    assert sorted(r["url"] for r in text) == sorted([f"{blog}/post/1", f"{shop}/private/ok"])
    short = {r["url"] for r in rejected if (r["stage"], r["reason"]) == ("clean.length",
                                                                       "title_too_short")}
    assert {f"{shop}/p1", f"{shop}/p2?a=1&b=2", f"{shop}/final", f"{blog}/landing"} <= short
    assert {r["url"] for r in rejected if r["reason"] == "http_status"} == {
        f"{shop}/chain/{i}" for i in range(4)} | {f"{shop}/{p}" for p in (
            "loop-a", "loop-b", "to-forbidden", "to-blog")}  # the redirects' own records
    assert {r["source"] for r in text} == {"webpage"}
    assert {r["source"] for r in rejected} == {"webpage"}


def _run_crawl(seeds: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "m6.cli", "crawl", "urls", "--input",
                             str(seeds), "--output", str(out), "--depth", "1", *FAST],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_killed_and_rerun_gives_the_same_records(tmp_path):
    sites = Sites(names=("a", "b", "c"), crawl_delay=None, pages=4)
    try:
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("".join(f"{sites.url(s, '/')}\n" for s in ("a", "b", "c")))
        # every page of the three sites: "/" and the four it links
        whole = sorted(sites.url(s, p) for s in ("a", "b", "c")
                       for p in ("/", "/p/0", "/p/1", "/p/2", "/p/3"))
        cut = tmp_path / "cut"
        proc = _run_crawl(seeds, cut)
        deadline = time.monotonic() + 60
        # killed once round 1 (the linked pages) has begun: round 0 is committed, round 1 not
        while len([p for p in sites.requested() if p.startswith("/p/")]) < 3:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert not (cut / "manifest.json").exists()
        for path in (cut / "warc").glob("*.warc.gz"):  # whatever is there is whole
            with open(path, "rb") as f:
                assert sum(1 for _ in ArchiveIterator(f)) >= 4
        assert list((cut / "log").glob("*.parquet"))  # round 0 was committed
        assert _run_crawl(seeds, cut).wait(timeout=120) == 0
        assert sorted(responses(cut)) == whole
        assert json.loads((cut / "manifest.json").read_text())["records"] == len(whole)
        assert not (cut / "_tmp").exists()
        fetched_twice = [p for p in sites.requested() if p == "/"]
        assert len(fetched_twice) == 3  # round 0's pages were not fetched again
    finally:
        sites.close()


def test_seeds_from_a_sitemap_index_with_a_remote_gzipped_sitemap(sites, tmp_path):
    from corpus.fetch.client import Fetcher
    from pipelines.crawl_urls import read_seeds

    index = tmp_path / "index.xml"
    index.write_text(f'<?xml version="1.0"?><sitemapindex><sitemap><loc>'
                     f'{sites.url("shop", "/sitemap.xml.gz")}</loc></sitemap><sitemap><loc>'
                     f'{sites.url("shop", "/sitemap.xml.gz")}</loc></sitemap></sitemapindex>')
    (tmp_path / "list.txt").write_text("http://a.example.cn/1\n")
    fetcher = Fetcher(resolve_cfg(["--allow-address", "127.0.0.1"]).fetch)
    assert read_seeds([str(index), str(tmp_path / "*.txt")], fetcher) == [
        "http://a.example.cn/1", sites.url("shop", "/p1"), sites.url("shop", "/final")]
    closed = Fetcher(resolve_cfg([]).fetch)  # without --allow-address: refused, nothing read
    assert read_seeds([str(index)], closed) == []


def resolve_cfg(extra: list[str]):
    from pipelines.crawl_urls import parser, resolve_config

    args, _ = parser().parse_known_args(["--input", "x", "--output", "y", "--delay", "0", *extra])
    return resolve_config(args)


def test_bad_input_is_one_line(tmp_path, capsys):
    assert crawl_main(["--input", str(tmp_path / "missing.txt"), "--output",
                       str(tmp_path / "o")]) == 2
    assert crawl_main(["--input", str(tmp_path / "*.txt"), "--output", str(tmp_path / "o"),
                       "--allow-address", "intranet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("m6 crawl urls: --input") and "names no file" in err[0]
    assert err[1] == ("m6 crawl urls: --allow-address 'intranet' is not an IP address or CIDR "
                      "network (e.g. 10.0.0.0/8, 127.0.0.1, ::1)")


def test_print_config_shows_the_resolved_settings(capsys):
    assert crawl_main(["--print-config", "--delay", "2", "--depth", "1",
                       "--allow-address", "10.0.0.0/8", "--set", "fetch.retries=3"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["depth"], cfg["source"], cfg["fetch"]["per_host_delay_s"],
            cfg["fetch"]["allow_addresses"], cfg["fetch"]["retries"]) == (
        1, "webpage", 2.0, ["10.0.0.0/8"], 3)
    assert crawl_main([]) == 2
    assert capsys.readouterr().err.strip() == "m6 crawl urls: --input and --output are required"
