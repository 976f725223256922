"""The sharded sink on a real Beam pipeline: files named deterministically, rows read back by
pyarrow and DuckDB, stale shards of an earlier run removed, empty outputs still self-describing."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from corpus.shards import ShardConfig
from corpus.stats import compute_stats, to_json
from pipelines.sink import KINDS, WriteShards, finalize, list_shards
from schemas import RejectedRecord, TextRecord, make_id
from schemas.layout import Manifest


def _text_rows(n, salt=""):
    return [TextRecord(id=make_id("forum", f"{salt}{i}"), source="forum",
                       text=f"第{i}条帖子，内容足够长了。{salt}", n_chars=12, n_tokens=11).to_row()
            for i in range(n)]


# The sink writes typed statistics (schemas/statistics.py): a real fold, of one rejected row.
STATS = compute_stats([("rejected", {"source": "forum", "stage": "clean",
                                     "reason": "text_too_short"})])
SMALL = ShardConfig(target_bytes=2000, row_group_rows=7)


def _run(tmp: Path, text_rows, n_buckets, cfg=SMALL):
    out = str(tmp)
    with beam.Pipeline(runner=FnApiRunner()) as p:
        written = ({"text": p | beam.Create(text_rows)}
                   | "WriteText" >> WriteShards(out, n_buckets, cfg))
        rej = [RejectedRecord(id="r1", source="forum", kind="text", stage="clean",
                              reason="text_too_short", text="短").to_row()]
        written_rej = ({"rejected": p | "R" >> beam.Create(rej)}
                       | "WriteRejected" >> WriteShards(out, 1, cfg))
        (
            (written, written_rej) | beam.Flatten()
            | beam.Map(lambda nr: (0, nr)) | beam.GroupByKey()
            | beam.Map(lambda kv: finalize(list(kv[1]), STATS, output=out, cfg=cfg))
        )
    return json.loads((tmp / "manifest.json").read_text())


def test_shards_are_complete_deterministic_and_readable(tmp_path):
    rows = _text_rows(120)
    manifest = _run(tmp_path, rows, n_buckets=3)
    names = [f["path"] for f in manifest["files"]["text"]]
    assert all(n.startswith("text/part-0000") and "-of-00003-" in n for n in names)
    assert len(names) > 3  # target_bytes=2000 cuts buckets into several parts
    assert manifest["rows"] == {"text": 120, "image_text": 0, "rejected": 1}

    table = pq.read_table(tmp_path / "text")
    assert sorted(table.column("id").to_pylist()) == sorted(r["id"] for r in rows)
    assert table.schema.metadata[b"m6.schema"] == b"text"
    con = duckdb.connect()
    n, = con.execute(f"select count(*) from read_parquet('{tmp_path}/text/*.parquet')").fetchone()
    assert n == 120
    # an output with no rows still gets one empty shard with the schema
    empty = pq.read_table(tmp_path / "image_text")
    assert empty.num_rows == 0 and empty.schema.metadata[b"m6.schema"] == b"image_text"
    assert (tmp_path / "stats.json").read_text() == to_json(STATS)
    assert Manifest.from_json((tmp_path / "manifest.json").read_text()).rows == manifest["rows"]
    assert not (tmp_path / "_temporary").exists()

    # the same input again gives byte-identical shards under the same names
    before = {n: (tmp_path / n).read_bytes() for n in names}
    _run(tmp_path, list(reversed(rows)), n_buckets=3)
    assert {n: (tmp_path / n).read_bytes() for n in names} == before


def test_rerun_with_other_layout_leaves_no_stale_shards(tmp_path):
    _run(tmp_path, _text_rows(60), n_buckets=4)
    manifest = _run(tmp_path, _text_rows(10, salt="b"), n_buckets=1)
    on_disk = list_shards(str(tmp_path), "text")
    assert on_disk == [f["path"] for f in manifest["files"]["text"]]
    assert pq.read_table(tmp_path / "text").num_rows == 10
    for kind in KINDS:
        assert list_shards(str(tmp_path), kind)
