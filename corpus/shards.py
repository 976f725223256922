"""Shard layout of the corpus outputs: which rows go to which file, under which name, and how a
shard's bytes are made.

The layout is a pure function of the rows and of the input files' sizes, so the same input gives
the same files on every runner and every rerun (docs/design.md, "Outputs and their invariants"; cc_net's deterministic shard names):

- ``num_buckets(total_bytes, target)``: the number of buckets is the total size of the crawl,
  dump and listing files as stored (``InputPlan.total_bytes``: compressed bytes for ``.gz``)
  over the target shard size, and the same count is used for every output kind. The driver knows
  it before the pipeline runs, so no side input or second pass is needed; the price is that a
  kind much smaller than the input (``image_text``) gets as many buckets as ``text``, so more
  and smaller files. Sizing each kind from its own rows would change shard names.
- ``bucket_of(id, n)``: a row's bucket is its id (a hex digest) modulo the bucket count.
- Inside a bucket rows are sorted by id and cut into files of at most ``target_bytes`` (the
  rows' uncompressed size estimate, ``estimate_row_bytes``), so a bucket usually is one file.
- ``shard_name(kind, bucket, n, part)``: ``<kind>/part-BBBBB-of-NNNNN-PPP.parquet``.

Shards are zstd-compressed Parquet with the project schema (and its version metadata) and a
bounded row-group size, so readers can stream them (``m6 inspect`` never loads a whole shard).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import schema_for, validate_table
from schemas.image_column import IMAGE_COLUMN, image_value

SHARD_PREFIX = "part-"
SHARD_SUFFIX = ".parquet"


@dataclass(frozen=True, kw_only=True)
class ShardConfig:
    """How outputs are cut into Parquet shards."""

    target_bytes: int = 128 * 1024 * 1024  # uncompressed estimate per shard
    row_group_rows: int = 1024
    compression: str = "zstd"
    compression_level: int = 3


def estimate_row_bytes(row: dict[str, Any]) -> int:
    """Cheap uncompressed size estimate of a row: string/binary lengths plus 8 bytes a scalar."""
    n = 0
    for v in row.values():
        if isinstance(v, (bytes, bytearray, str)):
            n += len(v)
        else:
            n += 8
    return n


def num_buckets(total_bytes: int, target_bytes: int) -> int:
    return max(1, math.ceil(total_bytes / max(1, target_bytes)))


def bucket_of(row_id: str, n: int) -> int:
    """Bucket of a row: its hex id modulo ``n`` (ids are uniformly distributed digests)."""
    return int(row_id[:15], 16) % n if n > 1 else 0


def shard_name(kind: str, bucket: int, n: int, part: int, batch: int | None = None) -> str:
    """``<kind>/part-<bucket>-of-<n>-<part>.parquet``; a run in batches (``pipelines/batch_run.py``)
    puts the batch first, ``part-b<batch>-<bucket>-of-<n>-<part>.parquet``."""
    prefix = SHARD_PREFIX if batch is None else f"{SHARD_PREFIX}b{batch:05d}-"
    return f"{kind}/{prefix}{bucket:05d}-of-{n:05d}-{part:03d}{SHARD_SUFFIX}"


def split_parts(rows: Iterable[dict[str, Any]], target_bytes: int) -> Iterator[list[dict]]:
    """Sort rows by id and cut them into consecutive parts of at most ``target_bytes``."""
    ordered = sorted(rows, key=lambda r: r["id"])
    part: list[dict] = []
    size = 0
    for row in ordered:
        b = estimate_row_bytes(row)
        if part and size + b > target_bytes:
            yield part
            part, size = [], 0
        part.append(row)
        size += b
    if part:
        yield part


def rows_to_table(rows: list[dict[str, Any]], kind: str) -> pa.Table:
    """Build a table with the project schema of ``kind``, validated (raises on mismatch)."""
    schema = schema_for(kind)
    if kind == "image_text":
        # Rows carry the encoded bytes; the shard stores them as the HF Image struct.
        rows = [{**r, IMAGE_COLUMN: image_value(r.get(IMAGE_COLUMN))} for r in rows]
    table = pa.Table.from_pylist(rows, schema=schema)
    validate_table(table, kind)
    return table


def table_to_parquet_bytes(table: pa.Table, cfg: ShardConfig) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression=cfg.compression,
        compression_level=cfg.compression_level,
        row_group_size=cfg.row_group_rows,
        write_statistics=True,
    )
    return sink.getvalue().to_pybytes()


def empty_shard_bytes(kind: str, cfg: ShardConfig) -> bytes:
    """An empty shard with the schema, so an output with no rows is still self-describing."""
    return table_to_parquet_bytes(schema_for(kind).empty_table(), cfg)
