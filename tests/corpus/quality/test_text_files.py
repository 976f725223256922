"""Inputs of m6 lm/spam train: text, JSONL (compressed too) and Parquet; folders and globs."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.quality.text_files import TextFiles, expand_inputs


def test_every_format_folders_globs_and_bad_lines(tmp_path):
    (tmp_path / "a.txt").write_text("第一篇\n\n第二篇\n", encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": "第三篇", "title": "x"}, ensure_ascii=False) + "\n")
        f.write("{not json\n")
        f.write(json.dumps(["not", "an", "object"]) + "\n")
        f.write(json.dumps({"text": 42}) + "\n")
    sub = tmp_path / "shards"
    sub.mkdir()
    pq.write_table(pa.table({"text": ["第四篇", None, "第五篇"], "id": ["1", "2", "3"]}),
                   sub / "part-0.parquet")
    (sub / "notes.md").write_text("ignored in folders")
    files = TextFiles.of([tmp_path / "a.txt", str(tmp_path / "*.jsonl.gz"), sub])
    assert list(files.texts()) == ["第一篇", "第二篇", "第三篇", "第四篇", "第五篇"]
    assert files.skipped == 1 + 3 + 1  # the blank .txt line; bad JSON lines; a None cell
    assert [p.name for p in expand_inputs([tmp_path])] == ["a.txt", "b.jsonl.gz",
                                                          "part-0.parquet"]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .txt, .jsonl or .parquet file matches"):
        TextFiles.of([str(tmp_path / "*.jsonl")])
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="unknown text format"):
        TextFiles.of([tmp_path / "x.csv"])
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "p.parquet")
    with pytest.raises(ValueError, match="has no column 'text'"):
        list(TextFiles.of([tmp_path / "p.parquet"]).texts())
