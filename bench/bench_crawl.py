"""Crawler benchmark (issue 14.9, crawler half): pages per second of ``m6 crawl urls`` over many
hosts at a fixed per-host delay, against the physical limit of a polite crawler.

Run: ``.venv/bin/python bench/bench_crawl.py`` (``make bench``); well under a minute on 2 cores.

``--hosts`` local sites (real HTTP servers on 127.0.0.1, one port each: each port is an origin,
so a host of its own to the crawler; 127.0.0.1 opened with ``allow_addresses``) each serve
``--pages`` HTML pages and no robots.txt (404). The seeds list every page; the crawl runs through
``pipelines.crawl_urls.crawl`` exactly as the command does (one Beam round on the in-process
runner, WARC and fetch log written). A polite crawler may not beat ``hosts / delay`` pages per
second: every host gets one request per ``delay``, and the first request of a host (its
robots.txt) costs one slot too, so the bound for the whole crawl is
``hosts * pages / ((pages + 1) * delay)`` over the crawl's duration. The figure printed is the
measured rate, the bound, and their ratio (1.0 = the crawl is limited by politeness alone, not by
the crawler). Runner start-up (about a second in-process) is included, and printed apart.

Measured on the 2-core build machine under load from other jobs: see the README, "Getting the
crawl".
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.crawl.config import CrawlConfig  # noqa: E402
from pipelines.crawl_urls import crawl  # noqa: E402
from tests.corpus.crawl.sites import Sites  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=40)
    ap.add_argument("--pages", type=int, default=10)
    ap.add_argument("--delay", type=float, default=0.5)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    names = tuple(f"site{i:03d}" for i in range(args.hosts))
    sites = Sites(names=names, crawl_delay=None)
    try:
        base = CrawlConfig()
        cfg = dataclasses.replace(base, fetch=dataclasses.replace(
            base.fetch, per_host_delay_s=args.delay, allow_addresses=("127.0.0.1",),
            user_agent="m6-bench/1.0 (+https://example.org/bench)"))
        with tempfile.TemporaryDirectory() as tmp:
            seeds = Path(tmp) / "seeds.txt"
            seeds.write_text("".join(sites.url(n, f"/p/{p}") + "\n" for n in names
                                     for p in range(args.pages)))
            t0 = time.time()
            manifest = crawl(cfg, [str(seeds)], str(Path(tmp) / "out"))
            elapsed = time.time() - t0
        first = min(t for _, _, t, _ in sites.log)
        last = max(t for _, _, t, _ in sites.log)
    finally:
        sites.close()
    pages = manifest["status"].get("ok", 0)
    assert pages == args.hosts * args.pages, manifest["status"]
    limit = args.hosts / args.delay * args.pages / (args.pages + 1)
    span = last - first  # a host's pages + 1 requests span pages * delay at best
    span_rate, span_limit = pages / max(span, 1e-9), args.hosts / args.delay
    print(f"{args.hosts} hosts x {args.pages} pages, per-host delay {args.delay} s")
    print(f"end to end: {pages / elapsed:7.1f} pages/s against the limit {limit:.1f} "
          f"(hosts / delay, robots.txt slot included): {pages / elapsed / limit:.2f}x "
          f"({elapsed:.1f} s)")
    print(f"first to last request: {span_rate:7.1f} pages/s against hosts / delay = "
          f"{span_limit:.1f}: {span_rate / span_limit:.2f}x (start-up and writing "
          f"{elapsed - span:.1f} s)")

if __name__ == "__main__":
    main()
