"""The fetch log of a crawl (issue 14.4): one Parquet row per request outcome, in ``DIR/log/``.

Both crawl routes (``m6 crawl urls`` and ``m6 crawl cc``) write this schema, so one
``m6 inspect DIR/log`` or one DuckDB query audits either: what was asked for, what came back
(``status`` is ``ok``, ``redirect``, ``http_<code>`` or an error class such as
``robots_disallowed``, ``robots_unavailable``, ``timeout``, ``too_large``, ``blocked_address``,
``range_mismatch``), how many bytes, how many attempts, when, and where the record lies (WARC
file name relative to the crawl folder, byte offset and length of its gzip member).

A log part is the commit mark of the work it describes: it is written under a temporary name and
renamed only after the WARC file it points into has been renamed into place, so a part that
exists always points at a complete WARC file, and a WARC file without a part is an orphan of a
killed run (``state.clean_partial`` removes it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

LOG_DIR = "log"

FETCH_LOG_SCHEMA = pa.schema([
    pa.field("url", pa.string(), nullable=False),  # normalised URL asked for
    pa.field("host", pa.string(), nullable=False),  # scheme://host[:port], the politeness unit
    pa.field("status", pa.string(), nullable=False),
    pa.field("http_status", pa.int32()),
    pa.field("bytes", pa.int64()),  # body bytes received (0 when none)
    pa.field("attempts", pa.int32()),  # requests made for this URL (retries included)
    pa.field("fetched_at", pa.float64()),  # wall-clock seconds since the epoch, request start
    pa.field("elapsed_s", pa.float64()),
    pa.field("warc_file", pa.string()),  # relative to the crawl folder; null: no record
    pa.field("warc_offset", pa.int64()),  # of the response (or resource) record's gzip member
    pa.field("warc_length", pa.int64()),
    pa.field("detail", pa.string()),
    pa.field("location", pa.string()),  # normalised redirect target
    pa.field("depth", pa.int32()),  # link hops from a seed
    pa.field("hops", pa.int32()),  # redirects that led here
    pa.field("links", pa.list_(pa.string())),  # in-scope links found (only below --depth)
    pa.field("run_id", pa.string()),
])


def log_row(**values: Any) -> dict[str, Any]:
    """A row with every column of the schema (missing ones null)."""
    unknown = set(values) - set(FETCH_LOG_SCHEMA.names)
    if unknown:
        raise KeyError(f"not fetch-log columns: {sorted(unknown)}")
    return {name: values.get(name) for name in FETCH_LOG_SCHEMA.names}


def write_log_part(rows: Iterable[dict[str, Any]], path: Path, temp_dir: Path) -> int:
    """Write ``rows`` as one Parquet file at ``path``, atomically (temporary file, then rename).
    Returns the number of rows."""
    rows = [log_row(**r) for r in rows]
    table = pa.Table.from_pylist(rows, schema=FETCH_LOG_SCHEMA)
    temp_dir.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir / f"{uuid.uuid4().hex}.parquet.tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return len(rows)


def read_log(folder: Path) -> pa.Table:
    """Every complete log part under ``folder/log`` as one table (empty if none)."""
    parts = sorted((Path(folder) / LOG_DIR).glob("*.parquet"))
    if not parts:
        return FETCH_LOG_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(p, schema=FETCH_LOG_SCHEMA) for p in parts])
