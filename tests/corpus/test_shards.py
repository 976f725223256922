"""Shard layout: deterministic buckets, names and parts; Parquet bytes readable by pyarrow."""

from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpus.shards import (
    ShardConfig,
    bucket_of,
    encode_chunk,
    estimate_row_bytes,
    merge_chunks,
    num_buckets,
    part_bounds,
    row_chunks,
    rows_to_table,
    shard_name,
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
    half = len(rows) // 2
    # two chunks, each in reverse order: the merge sorts across them
    table, sizes = merge_chunks([encode_chunk(rows[half:][::-1], "text"),
                                 encode_chunk(rows[:half][::-1], "text")])
    assert table.column("id").to_pylist() == sorted(r["id"] for r in rows)
    by_id = {r["id"]: estimate_row_bytes(r) for r in rows}
    assert sizes.tolist() == [by_id[i] for i in table.column("id").to_pylist()]
    bounds = part_bounds(sizes, target_bytes=400)
    assert len(bounds) > 1
    assert bounds[0][0] == 0 and bounds[-1][1] == len(rows)
    assert all(a < b for a, b in bounds)
    assert all(prev[1] == nxt[0] for prev, nxt in zip(bounds, bounds[1:]))
    # each part is at most the target, unless one row alone is larger
    assert all(sizes[a:b].sum() <= 400 or b - a == 1 for a, b in bounds)
    # and a part ends only where the next row would take it over the target
    assert all(sizes[a:b + 1].sum() > 400 for a, b in bounds[:-1])
    assert part_bounds(sizes[:0], 400) == []
    assert part_bounds(np.array([900, 10]), 400) == [(0, 1), (1, 2)]


def test_chunks_go_to_their_bucket_and_write_the_same_bytes_as_one_table():
    rows = _rows(60)
    chunks = list(row_chunks(rows, "text", 3))
    assert [b for b, _ in chunks] == sorted({bucket_of(r["id"], 3) for r in rows})
    for bucket, chunk in chunks:
        table, _ = merge_chunks([chunk])
        assert {bucket_of(i, 3) for i in table.column("id").to_pylist()} == {bucket}
    # a bucket cut into chunks in any order gives the bytes of its sorted rows as one table
    cfg = ShardConfig(row_group_rows=7)
    whole = table_to_parquet_bytes(rows_to_table(sorted(rows, key=lambda r: r["id"]), "text"), cfg)
    pieces = [encode_chunk(rows[i:i + 13], "text") for i in range(0, 60, 13)][::-1]
    assert table_to_parquet_bytes(merge_chunks(pieces)[0], cfg) == whole


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
