"""Shard layout: deterministic buckets, names and parts; Parquet bytes readable by pyarrow."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from corpus.shards import (
    ShardConfig,
    bucket_of,
    num_buckets,
    rows_to_table,
    shard_name,
    split_parts,
    table_to_parquet_bytes,
)
from schemas import SchemaMismatch, TextRecord, make_id


def _rows(n):
    return [TextRecord(id=make_id("forum", str(i)), source="forum", text="文本" * (i + 1),
                       n_chars=2 * (i + 1), n_tokens=2 * (i + 1)).to_row() for i in range(n)]


def test_bucket_count_and_bucket_of():
    assert num_buckets(0, 100) == 1
    assert num_buckets(250, 100) == 3
    ids = [r["id"] for r in _rows(200)]
    buckets = [bucket_of(i, 4) for i in ids]
    assert buckets == [bucket_of(i, 4) for i in ids]
    assert set(buckets) == {0, 1, 2, 3}  # digests spread over every bucket
    assert bucket_of(ids[0], 1) == 0


def test_names_are_deterministic():
    assert shard_name("text", 3, 8, 0) == "text/part-00003-of-00008-000.parquet"


def test_parts_are_sorted_and_bounded():
    rows = _rows(50)
    parts = list(split_parts(reversed(rows), target_bytes=400))
    flat = [r["id"] for p in parts for r in p]
    assert flat == sorted(r["id"] for r in rows)
    assert len(parts) > 1
    assert all(len(p) >= 1 for p in parts)


def test_parquet_bytes_round_trip_with_schema():
    cfg = ShardConfig(row_group_rows=10)
    data = table_to_parquet_bytes(rows_to_table(_rows(25), "text"), cfg)
    f = pq.ParquetFile(io.BytesIO(data))
    assert f.metadata.num_rows == 25
    assert f.metadata.num_row_groups == 3
    assert f.metadata.row_group(0).column(0).compression == "ZSTD"
    assert f.schema_arrow.metadata[b"m6.schema"] == b"text"


def test_a_bad_row_fails_at_the_source():
    row = _rows(1)[0]
    row["text"] = None
    with pytest.raises(SchemaMismatch, match="'text' has 1 nulls"):
        rows_to_table([row], "text")
