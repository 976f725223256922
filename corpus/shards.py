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
- Rows reach a bucket as ``RowChunk``s (``row_chunks``): Arrow IPC bytes of a few hundred rows of
  one bucket and their size estimates, built where the rows are made; ``merge_chunks`` sorts a
  bucket's chunks into one table and ``part_bounds`` cuts it. Why (issue 17.2): a bucket is one
  group of the runner's shuffle, and a few thousand rows as Python dicts cost the runner a
  decode and an encode per field, and the one worker that writes the bucket a decode and the
  conversion to Arrow, while the other workers wait; as chunks that work is spread over the
  workers that make the rows, and the bytes written are the same (the sort is stable).
- ``shard_name(kind, bucket, n, part)``: ``<kind>/part-BBBBB-of-NNNNN-PPP.parquet``.

Shards are zstd-compressed Parquet with the project schema (and its version metadata) and a
bounded row-group size, so readers can stream them (``m6 inspect`` never loads a whole shard).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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


RowChunk = tuple[bytes, bytes]  # (Arrow IPC stream of rows of one kind, their int64 size estimates)


def encode_chunk(rows: list[dict[str, Any]], kind: str) -> RowChunk:
    """Rows of ``kind`` (validated, ``rows_to_table``) as a ``RowChunk``."""
    table = rows_to_table(rows, kind)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    sizes = np.fromiter((estimate_row_bytes(r) for r in rows), dtype="<i8", count=len(rows))
    return sink.getvalue().to_pybytes(), sizes.tobytes()


def row_chunks(rows: list[dict[str, Any]], kind: str, n_buckets: int
               ) -> Iterator[tuple[int, RowChunk]]:
    """``(bucket, chunk)`` for each bucket that ``rows`` fall in, the rows in their order."""
    by_bucket: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_bucket.setdefault(bucket_of(row["id"], n_buckets), []).append(row)
    for bucket in sorted(by_bucket):
        yield bucket, encode_chunk(by_bucket[bucket], kind)


def merge_chunks(chunks: Iterable[RowChunk]) -> tuple[pa.Table, np.ndarray]:
    """One bucket's chunks -> (its rows as one table sorted by id, their size estimates in that
    order). The sort is stable, as Python's ``sorted`` of the rows was."""
    tables, sizes = [], []
    for data, size in chunks:
        tables.append(pa.ipc.open_stream(data).read_all())
        sizes.append(np.frombuffer(size, dtype="<i8"))
    table = pa.concat_tables(tables)
    order = pc.sort_indices(table, sort_keys=[("id", "ascending")])
    return table.take(order).combine_chunks(), np.concatenate(sizes)[order.to_numpy()]


def part_bounds(sizes: np.ndarray, target_bytes: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: consecutive parts of rows of these sizes, each of at most
    ``target_bytes`` unless one row alone is larger."""
    bounds, start, size = [], 0, 0
    for i, b in enumerate(sizes.tolist()):
        if i > start and size + b > target_bytes:
            bounds.append((start, i))
            start, size = i, 0
        size += b
    if len(sizes):
        bounds.append((start, len(sizes)))
    return bounds


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
