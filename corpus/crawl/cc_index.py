"""Select records from Common Crawl's columnar URL index (issue 14 point 1).

Common Crawl publishes, for every crawl, a Parquet table with one row per capture, hive-partitioned
as ``cc-index/table/cc-main/warc/crawl=CC-MAIN-2024-22/subset=warc/part-*.parquet`` (about 300
files, ~250 GB per crawl), listed in ``crawl-data/<crawl>/cc-index-table.paths.gz``. Its schema is
published in commoncrawl/cc-index-table (``src/main/resources/schema/cc-index-schema-flat.json``);
the columns read here are ``url``, ``url_host_name``, ``url_host_registered_domain``,
``fetch_time``, ``fetch_status``, ``content_mime_detected``, ``content_languages`` (up to three
ISO-639-3 codes, primary first: ``"zho,eng"``), ``warc_filename``, ``warc_record_offset`` and
``warc_record_length``, plus ``crawl`` and ``subset`` (columns or, as published, path partitions).

Each index file is read with a pyarrow dataset over its fsspec filesystem (local, ``s3://``,
``https://``), only those columns, with ``fetch_status``, ``content_mime_detected`` and ``subset``
pushed down to the Parquet reader, so row groups that cannot match are skipped. The rest of the
filter runs on Arrow batches: primary language (or any language), the domain allow- and
exclude-lists (registered domain or host name), then the URL set is deduplicated across crawls
(the latest capture, by ``fetch_time`` then crawl name), sampled by a hash of the URL (the same
URLs at every run and on every machine: blake2b, not Python's salted ``hash``) and cut to
``limit`` in hash order, so a limited selection is a uniform sample too. No SQL is built: the
filters are Arrow expressions on bound values (cc-pyspark's ``CCIndexWarcSparkJob`` runs SQL text).
The selection is sorted by WARC file and offset, the order in which it is fetched.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from corpus.crawl.cc_config import SelectConfig

log = logging.getLogger(__name__)

SELECTION_SCHEMA = pa.schema([
    ("url", pa.string()),
    ("url_host_name", pa.string()),
    ("url_host_registered_domain", pa.string()),
    ("crawl", pa.string()),
    ("fetch_time", pa.timestamp("us", tz="UTC")),
    ("content_languages", pa.string()),
    ("content_mime_detected", pa.string()),
    ("warc_filename", pa.string()),
    ("warc_record_offset", pa.int64()),
    ("warc_record_length", pa.int64()),
])
REQUIRED = ("url", "url_host_name", "url_host_registered_domain", "fetch_status",
            "content_mime_detected", "content_languages", "warc_filename",
            "warc_record_offset", "warc_record_length")
OPTIONAL = ("fetch_time", "crawl", "subset")
_PARTITION = re.compile(r"(?:^|/)(crawl|subset)=([^/]+)")


class IndexReadError(ValueError):
    """The index cannot be read as asked (a missing file or column): a one-line message."""


def _url(fs: fsspec.AbstractFileSystem, path: str) -> str:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return path if protocol in ("file", "local") else f"{protocol}://{path}"


def index_files(spec: str, base_url: str) -> list[str]:
    """The Parquet files ``spec`` names: a local or fsspec glob, a folder (searched for
    ``*.parquet``), one file, or a ``*.paths`` / ``*.paths.gz`` list of paths (Common Crawl's
    ``cc-index-table.paths.gz``; relative lines are joined to ``base_url``, since HTTP cannot be
    globbed)."""
    name = spec.rstrip("/").rsplit("/", 1)[-1]
    if name.endswith((".paths", ".paths.gz")):
        with fsspec.open(spec, "rt", compression="infer", encoding="utf-8") as f:
            lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
        files = [ln if "://" in ln or ln.startswith("/") else base_url.rstrip("/") + "/" + ln
                 for ln in lines]
        files = [f for f in files if "/subset=" not in f or "/subset=warc/" in f]
        if not files:
            raise IndexReadError(f"index list {spec!r} names no files")
        return files
    fs, path = fsspec.core.url_to_fs(spec)
    if any(ch in path for ch in "*?["):
        found = sorted(fs.glob(path))
    elif fs.isdir(path):
        found = sorted(p for p in fs.find(path) if p.endswith(".parquet"))
    elif fs.exists(path):
        found = [path]
    else:
        raise IndexReadError(f"index {spec!r} does not exist (a Parquet file, folder, glob or "
                          "cc-index-table.paths.gz)")
    if not found:
        raise IndexReadError(f"index {spec!r} matched no files")
    return [_url(fs, p) for p in found]


def _partitions(path: str) -> dict[str, str]:
    return {k: v for k, v in _PARTITION.findall(path)}


def _language_pattern(cfg: SelectConfig) -> str:
    codes = "|".join(cfg.languages)  # validated [a-z]{3}: nothing to escape
    return f"^({codes})(,|$)" if not cfg.any_language else f"(^|,)({codes})(,|$)"


def read_domains(path: str | None) -> frozenset[str] | None:
    """Domains or host names of a list file, one a line (blank lines and ``#`` comments
    ignored), lower-cased; None when no file is given."""
    if not path:
        return None
    with fsspec.open(path, "rt", encoding="utf-8") as f:
        names = {ln.split("#", 1)[0].strip().lower().rstrip(".") for ln in f}
    names.discard("")
    return frozenset(names)


def _batches(path: str, cfg: SelectConfig) -> Iterator[pa.RecordBatch]:
    """Rows of one index file that pass the pushed-down filters, in SELECTION_SCHEMA order
    (before the language and domain filters)."""
    fs, local = fsspec.core.url_to_fs(path)
    try:
        dataset = ds.dataset(local, format="parquet", filesystem=fs)
    except (OSError, pa.ArrowInvalid) as e:
        raise IndexReadError(f"cannot read index file {path}: {e}") from None
    names = set(dataset.schema.names)
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise IndexReadError(f"index file {path} lacks column(s) {', '.join(missing)} (is it Common "
                          "Crawl's cc-index-table?)")
    parts = _partitions(path)
    if parts.get("subset", cfg.subset) != cfg.subset:
        return
    expr = ((ds.field("fetch_status") == cfg.fetch_status)
            & ds.field("content_mime_detected").isin(list(cfg.mime)))
    if "subset" in names:
        expr &= ds.field("subset") == cfg.subset
    columns = [c for c in REQUIRED + OPTIONAL if c in names]
    for batch in dataset.to_batches(columns=columns, filter=expr):
        if batch.num_rows == 0:
            continue
        n = batch.num_rows
        cols = {}
        for f in SELECTION_SCHEMA:
            if f.name in names:
                cols[f.name] = pc.cast(batch.column(f.name), f.type)
            elif f.name == "crawl":
                cols[f.name] = pa.array([parts.get("crawl")] * n, pa.string())
            else:
                cols[f.name] = pa.nulls(n, f.type)
        yield pa.RecordBatch.from_pydict(cols, schema=SELECTION_SCHEMA)


def _filter(batch: pa.RecordBatch, cfg: SelectConfig, allow: frozenset[str] | None,
            exclude: frozenset[str] | None) -> pa.RecordBatch:
    langs = pc.fill_null(batch.column("content_languages"), "")
    mask = pc.match_substring_regex(langs, _language_pattern(cfg))
    domain = pc.utf8_lower(pc.fill_null(batch.column("url_host_registered_domain"), ""))
    host = pc.utf8_lower(pc.fill_null(batch.column("url_host_name"), ""))
    if allow is not None:
        names = pa.array(sorted(allow), pa.string())
        mask = pc.and_(mask, pc.or_(pc.is_in(domain, names), pc.is_in(host, names)))
    if exclude:
        names = pa.array(sorted(exclude), pa.string())
        mask = pc.and_(mask, pc.invert(pc.or_(pc.is_in(domain, names), pc.is_in(host, names))))
    for name in ("url", "warc_filename", "warc_record_offset", "warc_record_length"):
        mask = pc.and_(mask, pc.is_valid(batch.column(name)))  # a row without them is no request
    return batch.filter(mask)


def url_fraction(url: str) -> float:
    """Where ``url`` falls in [0, 1): the first 8 bytes of its blake2b digest, scaled."""
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0 ** 64


def _latest_per_url(table: pa.Table) -> pa.Table:
    """One row per URL: the latest capture (fetch_time, then crawl name, both descending)."""
    if table.num_rows == 0:
        return table
    order = table.sort_by([("url", "ascending"), ("fetch_time", "descending"),
                           ("crawl", "descending"), ("warc_filename", "ascending"),
                           ("warc_record_offset", "ascending")])
    urls = order.column("url").combine_chunks()
    first = pc.not_equal(urls.slice(1), urls.slice(0, len(urls) - 1))
    keep = pa.concat_arrays([pa.array([True]), pc.fill_null(first, True)])
    return order.filter(keep)


@dataclass
class Selection:
    """The selected rows and what was scanned to find them."""

    table: pa.Table
    files: int
    scanned_rows: int  # rows that passed the pushed-down filters (status, MIME, subset)
    seconds: float


def select(index: tuple[str, ...] | list[str], cfg: SelectConfig, base_url: str) -> Selection:
    """Scan every index file that ``index`` names and return the selection (sorted by WARC
    file and offset). Raises ``IndexReadError`` (a ValueError) with a one-line message when an
    index cannot be read."""
    t0 = time.monotonic()
    allow = read_domains(cfg.domains_file)
    exclude = read_domains(cfg.exclude_domains_file)
    files = [f for spec in index for f in index_files(spec, base_url)]
    parts, scanned = [], 0
    for i, path in enumerate(files, 1):
        before = sum(p.num_rows for p in parts)
        for batch in _batches(path, cfg):
            scanned += batch.num_rows
            kept = _filter(batch, cfg, allow, exclude)
            if kept.num_rows:
                parts.append(kept)
        log.info("index %d/%d %s: %d rows selected", i, len(files), path.rsplit("/", 1)[-1],
                 sum(p.num_rows for p in parts) - before)
    table = pa.Table.from_batches(parts, schema=SELECTION_SCHEMA)
    table = _latest_per_url(table)
    if cfg.sample < 1.0 or cfg.limit is not None:
        fractions = pa.array([url_fraction(u) for u in table.column("url").to_pylist()],
                             pa.float64())
        table = table.append_column("_f", fractions)
        if cfg.sample < 1.0:
            table = table.filter(pc.less(table.column("_f"), cfg.sample))
        if cfg.limit is not None and table.num_rows > cfg.limit:
            table = table.sort_by([("_f", "ascending"), ("url", "ascending")]).slice(0, cfg.limit)
        table = table.drop_columns(["_f"])
    table = table.sort_by([("warc_filename", "ascending"), ("warc_record_offset", "ascending")])
    return Selection(table.combine_chunks(), len(files), scanned, time.monotonic() - t0)


def summarize(table: pa.Table, top: int = 20) -> dict:
    """What fetching ``table`` costs: requests, bytes, WARC files, counts per crawl and the
    ``top`` domains."""
    lengths = table.column("warc_record_length")
    crawls = Counter(table.column("crawl").to_pylist())
    domains = Counter(table.column("url_host_registered_domain").to_pylist())
    return {
        "requests": table.num_rows,
        "bytes": int(pc.sum(lengths).as_py() or 0),
        "warc_files": len(set(table.column("warc_filename").to_pylist())),
        "by_crawl": dict(sorted(((k or "(unknown)"), v) for k, v in crawls.items())),
        "top_domains": [(k or "(none)", v) for k, v in domains.most_common(top)],
        "domains": len(domains),
    }


def format_summary(summary: dict) -> str:
    """The dry run's printout."""
    mb = summary["bytes"] / 1e6
    lines = [f"{summary['requests']:,} requests, {summary['bytes']:,} bytes ({mb:,.1f} MB) to "
             f"fetch (sum of warc_record_length) from {summary['warc_files']:,} WARC files",
             "", "by crawl:"]
    lines += [f"  {k:<24} {v:>10,}" for k, v in summary["by_crawl"].items()]
    lines += ["", f"by domain (top {len(summary['top_domains'])} of {summary['domains']:,}):"]
    lines += [f"  {k:<40} {v:>10,}" for k, v in summary["top_domains"]]
    return "\n".join(lines)
