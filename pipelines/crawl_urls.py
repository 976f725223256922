"""``m6 crawl urls``: crawl URL lists and sitemaps politely into WARC files (issue 14.3, 14.4).

    m6 crawl urls --input urls.txt --input 'sitemaps/*.xml.gz' --output out/crawl \\
        --user-agent 'mylab-crawl/1.0 (+https://mylab.example/crawl; crawl@mylab.example)'

The driver reads the seeds (URL lists, sitemaps and sitemap indexes; remote sitemaps named by an
index are fetched through the egress policy), then runs Beam rounds until nothing is left: each
round takes the URLs the fetch log does not mark done (``corpus/crawl/state.py``), keys them by
a bucket of their origin and groups them (``GroupByKey``), so every host belongs to exactly one
worker for the round; the worker crawls its hosts side by side, one thread per host and one
request at a time per host (``corpus/crawl/host.py``), into one WARC file and one fetch-log part,
both committed by rename. Round N+1 holds the links found in round N (``--depth``) and the
redirects to other hosts, handed to their owners.

Output (``DIR``): ``warc/*.warc.gz`` (WARC/1.1, gzip per record), ``log/*.parquet`` (the fetch
log), ``robots/`` (cached robots.txt), ``config.json`` (the resolved settings, first) and
``manifest.json`` (last: only a finished run has one). ``m6 corpus --input DIR`` reads it, with
``source`` from ``--source`` (default ``webpage``).
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import logging
import sys
import time
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import apache_beam as beam

from corpus.crawl.config import DEFAULT_USER_AGENT, CrawlConfig
from corpus.crawl.fetch_log import LOG_DIR, read_log, write_log_part
from corpus.crawl.host import HostCrawler, HostState, Item
from corpus.crawl.sitemaps import parse_seeds, read_seed_files
from corpus.crawl.state import (
    CONFIG,
    clean_partial,
    new_run_id,
    plan_round,
    write_json_atomically,
    write_manifest,
)
from corpus.crawl.urls import normalise_url, origin, registered_domain
from corpus.crawl.warc_out import TEMP_DIR, WarcOutput
from corpus.fetch.client import Fetcher
from pipelines.options import pipeline_runner_and_options
from schemas.config import apply_overrides
from schemas.version import with_version

log = logging.getLogger("m6.crawl")


# -- the Beam step ------------------------------------------------------------------------------


def bucket_of(url: str, n: int) -> int:
    """The bucket of a URL's origin: stable across processes (crc32, not ``hash``)."""
    return zlib.crc32(origin(url).encode()) % n


class CrawlBucket(beam.DoFn):
    """``(bucket, [Item])`` -> its hosts crawled into one WARC file and one log part; yields
    ``(status, count)`` pairs for the round's summary."""

    def __init__(self, cfg: CrawlConfig, folder: str, run_id: str, round_no: int,
                 domains: frozenset[str]):
        self.cfg = cfg
        self.folder = folder
        self.run_id = run_id
        self.round_no = round_no
        self.domains = domains

    def process(self, element: tuple[int, list[Item]], hosts: dict[str, HostState]):
        bucket, items = element
        by_host: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            by_host[origin(item.url)].append(item)
        folder = Path(self.folder)
        stem = f"crawl-{self.run_id}-r{self.round_no:03d}-b{bucket:05d}"
        warc = WarcOutput(folder, stem + ".warc.gz")
        fetcher = Fetcher(self.cfg.fetch)
        crawler = HostCrawler(self.cfg, folder, fetcher, warc, self.domains, self.run_id)
        rows: list[dict[str, Any]] = []
        try:
            with ThreadPoolExecutor(max_workers=min(self.cfg.fetch.threads, len(by_host)),
                                    thread_name_prefix="m6-crawl") as pool:
                futures = [pool.submit(crawler.crawl, host, host_items,
                                       hosts.get(host, HostState(self.cfg.max_pages_per_host)))
                           for host, host_items in sorted(by_host.items())]
                for f in futures:
                    rows.extend(f.result())
        except BaseException:
            warc.abort()
            raise
        if warc.records:
            warc.close()  # the WARC file first: a log part always points at a complete file
        else:
            warc.abort()
        write_log_part(rows, folder / LOG_DIR / f"{stem}.parquet", folder / TEMP_DIR)
        counts = Counter(r["status"] for r in rows)
        for status, n in counts.items():
            beam.metrics.Metrics.counter("m6.crawl", status).inc(n)
        yield from counts.items()


def run_round(cfg: CrawlConfig, folder: Path, run_id: str, round_no: int, items: list[Item],
              hosts: dict[str, HostState], domains: frozenset[str], runner: str, workers: int,
              beam_args: list[str]) -> None:
    # One bucket per worker: a worker crawls its bucket's hosts side by side (fetch.threads at a
    # time); more buckets than workers would only make a worker crawl its buckets one by one.
    n_buckets = max(1, min(len(hosts), workers))
    runner_obj, options = pipeline_runner_and_options(runner, workers, beam_args)
    with beam.Pipeline(runner=runner_obj, options=options) as p:
        host_state = p | "HostState" >> beam.Create(sorted(hosts.items()))
        _ = (p
             | "Frontier" >> beam.Create(items)
             | "ByHostBucket" >> beam.Map(lambda i, n=n_buckets: (bucket_of(i.url, n), i))
             | "OneOwnerPerHost" >> beam.GroupByKey()
             | "Crawl" >> beam.ParDo(CrawlBucket(cfg, str(folder), run_id, round_no, domains),
                                     hosts=beam.pvalue.AsDict(host_state)))


# -- seeds --------------------------------------------------------------------------------------


def read_seeds(patterns: list[str], fetcher: Fetcher) -> list[str]:
    """Every seed URL of the inputs, in input order (duplicates kept; normalised later)."""
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        found = [f for f in found if Path(f).is_file()]
        if not found:
            raise FileNotFoundError(f"--input {pattern!r} names no file")
        paths += [Path(f) for f in found]
    urls: list[str] = []
    remote: list[str] = []
    for _path, seeds in read_seed_files(paths):
        urls += seeds.urls
        remote += seeds.sitemaps
    seen: set[str] = set()
    while remote:  # sitemaps named by an index: fetched like any URL from data
        loc = remote.pop(0)
        if loc in seen or len(seen) >= 10_000:
            continue
        seen.add(loc)
        r = fetcher.fetch(loc)
        if not r.ok:
            log.warning("sitemap %s: %s %s", loc, r.status, r.detail or "")
            continue
        seeds = parse_seeds(r.body or b"")
        urls += seeds.urls
        remote += seeds.sitemaps
    return urls


# -- the command --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    d = CrawlConfig()
    ap = argparse.ArgumentParser(
        prog="m6 crawl urls",
        description="Crawl URL lists and sitemaps politely into WARC files (robots.txt, one "
                    "connection and --delay per host, a fetch log, resumable).",
        epilog="Every setting is a field of CrawlConfig (corpus/crawl/config.py); --print-config "
               "shows them all. Flags not listed here are passed to Beam. Rerun the same "
               "command to resume.")
    ap.add_argument("--input", "-i", action="append", default=[],
                    help="URL list (one URL a line), sitemap.xml or sitemap index, gzipped or "
                         "not; a file or a glob; repeatable (required, no default)")
    ap.add_argument("--output", "-o", help="crawl folder, created; a rerun into it fetches only "
                    "what is not done yet (required, no default)")
    ap.add_argument("--user-agent", default=None,
                    help="User-Agent with your project's page and a contact (default: an m6 "
                         "placeholder that must be changed for any real crawl)")
    ap.add_argument("--delay", type=float, default=None,
                    help=f"seconds between two requests to one host; a larger robots "
                         f"Crawl-delay wins (default: {d.fetch.per_host_delay_s})")
    ap.add_argument("--depth", type=int, default=None,
                    help=f"link levels to follow within the seeds' registered domains "
                         f"(default: {d.depth})")
    ap.add_argument("--max-pages-per-host", type=int, default=None,
                    help=f"requests for pages per host over all runs into the folder "
                         f"(default: {d.max_pages_per_host})")
    ap.add_argument("--max-bytes", type=int, default=None,
                    help=f"bytes per page, too_large above (default: {d.fetch.max_bytes})")
    ap.add_argument("--source", default=None,
                    help=f"the 'source' m6 corpus gives these pages (default: {d.source})")
    ap.add_argument("--allow-address", action="append", default=[], metavar="ADDRESS_OR_CIDR",
                    help="let the crawl reach this non-public address or network; repeatable "
                         "(default: only public addresses)")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="PART.FIELD=V",
                    help="any setting, e.g. --set fetch.retries=2; repeatable (default: none)")
    ap.add_argument("--runner", default="DirectRunner", help="Beam runner (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=1,
                    help="DirectRunner worker processes, 1 = in-process; each owns the hosts of "
                         "its bucket (default: %(default)s)")
    ap.add_argument("--print-config", action="store_true",
                    help="print the resolved settings as JSON and exit (default: off)")
    ap.add_argument("--quiet", "-q", action="store_true",
                    help="only warnings and the summary (default: progress is logged)")
    return ap


def resolve_config(args: argparse.Namespace) -> CrawlConfig:
    cfg = apply_overrides(CrawlConfig(), args.overrides)
    fetch: dict[str, Any] = {}
    if args.user_agent is not None:
        fetch["user_agent"] = args.user_agent
    if args.delay is not None:
        fetch["per_host_delay_s"] = args.delay
    if args.max_bytes is not None:
        fetch["max_bytes"] = args.max_bytes
    if args.allow_address:
        fetch["allow_addresses"] = tuple(dict.fromkeys((*cfg.fetch.allow_addresses,
                                                        *args.allow_address)))
    top: dict[str, Any] = {}
    if args.depth is not None:
        top["depth"] = args.depth
    if args.max_pages_per_host is not None:
        top["max_pages_per_host"] = args.max_pages_per_host
    if args.source is not None:
        top["source"] = args.source
    return dataclasses.replace(cfg, fetch=dataclasses.replace(cfg.fetch, **fetch), **top)


def crawl(cfg: CrawlConfig, inputs: list[str], output: str, runner: str = "DirectRunner",
          workers: int = 1, beam_args: list[str] | None = None) -> dict[str, Any]:
    """Run (or resume) a crawl into ``output``; returns the manifest."""
    seed_urls = read_seeds(inputs, Fetcher(cfg.fetch))  # bad inputs fail before DIR is touched
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    removed = clean_partial(folder)
    if removed:
        log.info("removed what an interrupted run left: %s", ", ".join(removed))
    run_id = new_run_id()
    write_json_atomically(folder / CONFIG, with_version({
        "crawl": cfg.to_dict(), "inputs": list(inputs), "runner": runner, "workers": workers}))
    if cfg.fetch.user_agent == DEFAULT_USER_AGENT:
        log.warning("using the placeholder user agent; pass --user-agent with your project's "
                    "page and a contact before crawling sites you do not run")
    seeds = [Item(u) for u in dict.fromkeys(filter(None, map(normalise_url, seed_urls)))]
    dropped = len(seed_urls) - len(seeds)
    domains = frozenset(filter(None, (registered_domain(s.url) for s in seeds)))
    log.info("%d seed URLs (%d duplicates or not http(s)) on %d hosts", len(seeds), dropped,
             len({origin(s.url) for s in seeds}))
    rounds = 0
    while rounds < cfg.max_rounds:
        plan = plan_round(seeds, read_log(folder), cfg.depth, cfg.max_pages_per_host, run_id)
        if not plan.items:
            break
        t0 = time.time()
        log.info("round %d: %d URLs on %d hosts", rounds, len(plan.items), len(plan.hosts))
        run_round(cfg, folder, run_id, rounds, plan.items, plan.hosts, domains, runner,
                  workers, beam_args or [])
        log.info("round %d done in %.1f s", rounds, time.time() - t0)
        rounds += 1
    tmp = folder / TEMP_DIR
    if tmp.exists() and not any(tmp.iterdir()):
        tmp.rmdir()
    return write_manifest(folder, source=cfg.source, run_id=run_id, rounds=rounds)


def main(argv: list[str]) -> int:
    args, beam_args = parser().parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    try:
        cfg = resolve_config(args)
        if args.print_config:
            print(cfg.to_json())
            return 0
        if not args.input or not args.output:
            raise ValueError("--input and --output are required")
        t0 = time.time()
        manifest = crawl(cfg, args.input, args.output, args.runner, args.workers, beam_args)
    except (FileNotFoundError, ValueError) as e:
        print(f"m6 crawl urls: {e}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{k} {v}" for k, v in manifest["status"].items()) or "nothing"
    print(f"crawled {manifest['urls']} URLs into {args.output} in {time.time() - t0:.1f} s: "
          f"{manifest['records']} WARC records in {len(manifest['warc_files'])} files ({counts})")
    return 0
