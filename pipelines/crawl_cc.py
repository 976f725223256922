"""``m6 crawl cc``: the Chinese part of Common Crawl, selected from its URL index and fetched by
range requests into WARC files that ``m6 corpus`` reads unchanged (issue 14 points 1, 2, 4, 6).

    m6 crawl cc --index 'cc-index/table/cc-main/warc/crawl=CC-MAIN-2024-22/subset=warc/*.parquet' \\
        --output out/crawl --limit 10000 --dry-run
    m6 crawl cc --index s3://commoncrawl/crawl-data/CC-MAIN-2024-22/cc-index-table.paths.gz \\
        --base-url s3://commoncrawl/ --output out/crawl --limit 10000
    m6 corpus --input out/crawl --output out/corpus

The driver selects the index rows (``corpus.crawl.cc_index``: pyarrow over fsspec) and writes
them to ``DIR/selection/``; ``--dry-run`` stops there and prints what a fetch would cost. Then the
records not yet done (``corpus.crawl.cc_output``: the fetch log of earlier runs) are keyed by WARC
file in Beam, grouped, cut into batches of ``--batch-records`` and fetched, one batch per
worker call, ``--concurrency`` connections at a time, every request waiting its turn at the
worker's share of ``--max-requests-per-second`` (Beam workers share no state, so the cap is
divided among ``--workers``). Each batch is written as one WARC file and one log file; the
manifest is written last by the driver. Flags we do not know go to Beam's ``PipelineOptions``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import apache_beam as beam
from apache_beam.metrics import Metrics

from corpus.crawl.cc_config import (
    DEFAULT_BASE_URL,
    DEFAULT_USER_AGENT,
    CcCrawlConfig,
    RangeFetchConfig,
    SelectConfig,
)
from corpus.crawl.cc_fetch import RangeFetcher
from corpus.crawl.cc_index import format_summary, select, summarize
from corpus.crawl.cc_output import (
    CONFIG,
    OutputDir,
    read_selection,
    record_key,
    write_batch,
    write_manifest,
    write_selection,
)
from pipelines.options import pipeline_runner_and_options
from schemas.config import apply_overrides
from schemas.version import with_version

log = logging.getLogger("m6.crawl.cc")


class FetchBatch(beam.DoFn):
    """``(warc_filename, rows)`` -> the batch fetched, written (WARC + log), and a summary."""

    def __init__(self, cfg: RangeFetchConfig, output: str, run_id: str | None = None):
        self.cfg = cfg
        self.output = output
        self.run_id = run_id

    def setup(self):
        self.fetcher = RangeFetcher(self.cfg)
        self.out = OutputDir(self.output)

    def process(self, item):
        warc_filename, rows = item
        rows = sorted(rows, key=lambda r: r["warc_record_offset"])
        t0 = time.monotonic()

        def one(row):
            return self.fetcher.fetch(warc_filename, row["warc_record_offset"],
                                      row["warc_record_length"], row["url"])

        with ThreadPoolExecutor(max_workers=min(self.cfg.concurrency, len(rows)),
                                thread_name_prefix="m6-range") as pool:
            results = list(pool.map(one, rows))
        log_rows = write_batch(self.out, warc_filename, rows, results, self.run_id)
        ok = sum(r.ok for r in results)
        for r in log_rows:
            Metrics.counter("crawl_cc", r["status"]).inc()
        log.info("%s: %d/%d records, %.1f MB, %.1f s", warc_filename.rsplit("/", 1)[-1], ok,
                 len(rows), sum(r["bytes"] for r in log_rows) / 1e6, time.monotonic() - t0)
        yield {"warc_filename": warc_filename, "records": len(rows), "ok": ok}


def _batches(item, size: int):
    warc_filename, rows = item
    rows = sorted(rows, key=lambda r: r["warc_record_offset"])
    for i in range(0, len(rows), size):
        yield warc_filename, rows[i:i + size]


def todo_rows(output: str):
    """The selected rows of ``output`` that earlier runs have not done, read where the pipeline
    runs (the selection can hold millions of rows: they are not put into the pipeline graph)."""
    out = OutputDir(output)
    done = out.done()
    table = read_selection(out)
    for batch in table.to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            if record_key(row) not in done:
                row.pop("fetch_time", None)  # not needed to fetch; keeps rows plain
                yield row


def build(p: beam.Pipeline, cfg: RangeFetchConfig, output: str, batch_records: int,
          run_id: str | None = None) -> beam.PCollection:
    """Add the fetch to ``p``: the rows not yet done keyed by WARC file, grouped, batched,
    spread over the workers, fetched."""
    return (p | "Output" >> beam.Create([output])
            | "Todo" >> beam.FlatMap(todo_rows)
            | "KeyByWarc" >> beam.Map(lambda r: (r["warc_filename"], r))
            | "GroupByWarc" >> beam.GroupByKey()
            | "Batch" >> beam.FlatMap(_batches, batch_records)
            | "Spread" >> beam.Reshuffle()
            | "Fetch" >> beam.ParDo(FetchBatch(cfg, output, run_id)))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="m6 crawl cc",
        description="Select Chinese records from Common Crawl's URL index (Parquet) and fetch "
                    "them by HTTP range requests into WARC files for 'm6 corpus'.",
        epilog="Flags not listed here are passed to Beam. README: 'Getting the crawl'.")
    ap.add_argument("--index", action="append", required=True, metavar="GLOB",
                    help="index Parquet files: a local or fsspec glob, a folder, or Common "
                         "Crawl's cc-index-table.paths.gz; repeatable")
    ap.add_argument("--base-url", default=DEFAULT_BASE_URL,
                    help=f"where warc_filename is fetched from (default {DEFAULT_BASE_URL}; "
                         "s3://commoncrawl/ or a local folder work too)")
    ap.add_argument("--output", "-o", required=True, help="crawl folder (WARC, log, selection)")
    ap.add_argument("--languages", default="zho",
                    help="ISO-639-3 codes, comma-separated (default zho): a row whose primary "
                         "content language is one of them")
    ap.add_argument("--any-language", action="store_true",
                    help="keep a row when any of its languages is listed, not only the first")
    ap.add_argument("--mime", default="text/html", help="content_mime_detected values, "
                    "comma-separated (default text/html)")
    ap.add_argument("--domains", metavar="FILE", help="allow-list: domains or hosts, one a line")
    ap.add_argument("--exclude-domains", metavar="FILE", help="domains or hosts to leave out")
    ap.add_argument("--sample", type=float, default=1.0, metavar="FRACTION",
                    help="keep this fraction of URLs, chosen by a hash of the URL")
    ap.add_argument("--limit", type=int, help="at most this many records")
    ap.add_argument("--dry-run", action="store_true",
                    help="write the selection, print its counts and cost, fetch nothing")
    ap.add_argument("--max-requests-per-second", type=float,
                    default=RangeFetchConfig.max_requests_per_second,
                    help="cap of the whole job (default %(default)s), shared by the workers")
    ap.add_argument("--concurrency", type=int, default=RangeFetchConfig.concurrency,
                    help="connections per worker (default %(default)s)")
    ap.add_argument("--retries", type=int, default=RangeFetchConfig.retries,
                    help="extra attempts after 503, 429, 5xx, timeouts (default %(default)s)")
    ap.add_argument("--user-agent", default=DEFAULT_USER_AGENT,
                    help="say who you are: put your own contact in it")
    ap.add_argument("--allow-address", action="append", default=[], metavar="ADDRESS_OR_CIDR",
                    help="open a non-public address to the egress policy (intranet mirrors, "
                         "tests); repeatable")
    ap.add_argument("--batch-records", type=int, default=1000,
                    help="records of one WARC file fetched and written together (default "
                         "%(default)s)")
    ap.add_argument("--runner", default="DirectRunner", help="Beam runner (default DirectRunner)")
    ap.add_argument("--workers", type=int, default=1, help="Beam workers (DirectRunner processes)")
    ap.add_argument("--set", dest="overrides", action="append", default=[],
                    metavar="PART.FIELD=V", help="change any setting of config.json, e.g. "
                    "--set fetch.backoff_max_s=120; repeatable")
    ap.add_argument("--quiet", "-q", action="store_true", help="only warnings and the summary")
    return ap


def _split(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def resolve_config(args: argparse.Namespace) -> CcCrawlConfig:
    split = _split
    cfg = CcCrawlConfig(
        index=tuple(args.index),
        select=SelectConfig(languages=split(args.languages), any_language=args.any_language,
                            mime=split(args.mime), domains_file=args.domains,
                            exclude_domains_file=args.exclude_domains, sample=args.sample,
                            limit=args.limit),
        fetch=RangeFetchConfig(base_url=args.base_url,
                               max_requests_per_second=args.max_requests_per_second,
                               workers=max(1, args.workers), concurrency=args.concurrency,
                               retries=args.retries, user_agent=args.user_agent,
                               allow_addresses=tuple(args.allow_address)))
    return apply_overrides(cfg, args.overrides)


def _reusable_selection(out: OutputDir, cfg: CcCrawlConfig) -> bool:
    """True when DIR holds a selection made with these settings (it is reused). Other settings
    are an error once records have been fetched (they would be mixed with ours); before that
    (a dry run with another --limit, say) the selection is simply made again."""
    text = out.read_text(CONFIG)
    if text is None or read_selection(out) is None:
        return False
    old = json.loads(text)
    new = json.loads(json.dumps(cfg.to_dict()))  # tuples as JSON lists, like the old one
    changed = [part for part in ("index", "select") if old.get(part) != new[part]]
    if not changed:
        return True
    if out.log_table().num_rows:
        raise ValueError(f"{out.url} holds a crawl with other '{changed[0]}' settings "
                         f"({old.get(changed[0])!r}); use a new --output, or the same settings "
                         "to resume it")
    log.info("%s settings changed and nothing was fetched yet: selecting again",
             " and ".join(changed))
    return False


def run(args: argparse.Namespace, beam_args: list[str]) -> dict:
    cfg = resolve_config(args)
    out = OutputDir(args.output)
    reuse = _reusable_selection(out, cfg)
    removed = out.clean_partial()
    if removed:
        log.info("removed %d files a killed run left: %s", len(removed), ", ".join(removed[:5]))
    if reuse:
        table = read_selection(out)
        log.info("selection: %d records (reused from %s/selection)", table.num_rows, out.url)
    else:
        sel = select(cfg.index, cfg.select, cfg.fetch.base_url)
        table = sel.table
        log.info("selection: %d records from %d index files (%d rows scanned) in %.1f s",
                 table.num_rows, sel.files, sel.scanned_rows, sel.seconds)
    # the resolved settings (the fetch part may differ from an earlier run's), then the
    # selection they made; a failed selection leaves DIR as it was
    out.write_bytes(CONFIG, (json.dumps(with_version(cfg.to_dict()), indent=2) + "\n").encode())
    if not reuse:
        write_selection(out, table)
    summary = summarize(table)
    if cfg.fetch.user_agent == DEFAULT_USER_AGENT and not args.dry_run:
        log.warning("using the placeholder user agent; pass --user-agent with your project's "
                    "page and a contact (Common Crawl asks who is fetching)")
    if args.dry_run:
        return {"dry_run": True, "summary": summary}
    done = out.done()
    todo = sum(record_key(r) not in done for r in table.select(["url"]).to_pylist())
    log.info("%d selected, %d done in earlier runs, %d to fetch", table.num_rows,
             table.num_rows - todo, todo)
    t0 = time.time()
    if todo:
        runner, options = pipeline_runner_and_options(args.runner, args.workers, beam_args)
        p = beam.Pipeline(runner=runner, options=options)
        run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())  # tells runs apart in the log
        build(p, cfg.fetch, out.url, args.batch_records, run_id)
        p.run().wait_until_finish()
    manifest = write_manifest(out, table.num_rows)
    return {"dry_run": False, "summary": summary, "manifest": manifest, "fetched": todo,
            "elapsed_s": time.time() - t0, "output": out.url}


def main(argv: list[str]) -> int:
    args, beam_args = parser().parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    for noisy in ("apache_beam", "urllib3", "fsspec", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.batch_records < 1:
        print("m6 crawl cc: --batch-records must be >= 1", file=sys.stderr)
        return 2
    try:
        info = run(args, beam_args)
    except (OSError, ValueError, ImportError) as e:
        # a missing or unreadable index, other settings in DIR, s3:// without s3fs installed
        print(f"m6 crawl cc: {e}", file=sys.stderr)
        return 2
    print(format_summary(info["summary"]))
    if info["dry_run"]:
        print(f"\ndry run: selection written to {args.output.rstrip('/')}/selection/ "
              "(m6 inspect it); nothing fetched")
        return 0
    m = info["manifest"]
    print(f"\nfetched {info['fetched']:,} records in {info['elapsed_s']:.1f} s; "
          f"{args.output.rstrip('/')} holds {m['records']:,} records "
          f"({m['bytes'] / 1e6:,.1f} MB) in {len(m['warc_files'])} WARC files")
    print("statuses: " + ", ".join(f"{k} {v:,}" for k, v in m["statuses"].items()))
    if m["not_done"]:
        print(f"{m['not_done']:,} records are not done (retryable errors or not yet tried): "
              "run the same command again to fetch them")
    print(f"next: m6 corpus --input {args.output.rstrip('/')} --output out/corpus")
    return 0

