"""`m6 inspect` and `m6 report` on hostile shards (issue 15.5 and 15.8): column names that are
SQL, ``--where`` expressions that try to read or write other files, terminal escapes in values,
and m6 shards whose columns have the right names and other types."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.inspect import main
from report.cli import main as report_main
from schemas import TEXT_SCHEMA, TextRecord, make_id

SECRET = "root:x:0:0:SECRET-MARKER:/root:/bin/bash"


def text_rows(n: int = 4) -> list[dict]:
    return [TextRecord(id=make_id("forum", str(i)), source="forum",
                       text=f"第{i}段正文，北京欢迎你。", n_chars=11 + i, n_tokens=8,
                       cjk_ratio=1.0).to_row() for i in range(n)]


@pytest.fixture()
def shards(tmp_path):
    """A text shard, a secret file beside it, and a shard with a column named like an
    injection that would write ``pwned.csv``."""
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    good = tmp_path / "text.parquet"
    pq.write_table(pa.Table.from_pylist(text_rows(), schema=TEXT_SCHEMA), good)
    evil = f"x\"; COPY (SELECT 1) TO '{tmp_path}/pwned.csv'; --"
    table = pa.Table.from_pylist(text_rows(), schema=TEXT_SCHEMA)
    table = table.append_column(evil, pa.array(["a", "b", "c", "d"]))
    pq.write_table(table, tmp_path / "evil.parquet")
    return tmp_path, good, evil


def test_a_column_named_like_sql_is_shown_never_run(shards, capsys):
    tmp, _, evil = shards
    for extra in (["--head", "1"], ["--stats"]):
        assert main([str(tmp / "evil.parquet"), "--where", "n_chars > 12", "--columns",
                     f"id,{evil}", *extra]) == 0
        out = capsys.readouterr().out
        assert evil in out
        assert not (tmp / "pwned.csv").exists()
    assert "2 text rows match" in out


@pytest.mark.parametrize("where", [
    "n_chars = (SELECT count(*) FROM read_text('{secret}'))",
    "source = (SELECT content FROM read_text('{secret}'))",
    "n_chars = (SELECT content FROM read_text('{secret}'))::INTEGER",
    "n_chars = (SELECT count(*) FROM read_csv('{secret}', header=false))",
    "n_chars = (SELECT count(*) FROM glob('{tmp}/*'))",
    "n_chars = (SELECT count(*) FROM read_parquet('{tmp}/evil.parquet'))",
])
def test_where_cannot_read_other_files_nor_echo_them(shards, where, capsys):
    tmp, good, _ = shards
    expr = where.format(secret=tmp / "secret.txt", tmp=tmp)
    assert main([str(good), "--where", expr, "--head", "1"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"m6 inspect: --where {expr!r}: Permission Error")
    assert "SECRET" not in captured.err + captured.out


def test_where_cannot_turn_the_lock_off(shards, capsys):
    _, good, _ = shards
    # A statement cannot be smuggled in (';' is refused) and settings are locked anyway.
    assert main([str(good), "--where", "true; SET enable_external_access=true"]) == 2
    assert "';' is not allowed" in capsys.readouterr().err
    assert main([str(good), "--where", "current_setting('enable_external_access') = false",
                 "--head", "1"]) == 0
    assert "4 text rows match" in capsys.readouterr().out


def test_terminal_escapes_in_values_are_shown_not_sent(tmp_path, capsys):
    rows = text_rows(1)
    rows[0]["text"] = "标题\x1b]0;owned\x07\x1b[2J正文\u202e"
    pq.write_table(pa.Table.from_pylist(rows, schema=TEXT_SCHEMA), tmp_path / "t.parquet")
    assert main([str(tmp_path / "t.parquet"), "--head", "1"]) == 0
    out = capsys.readouterr().out
    assert "标题\\x1b]0;owned\\x07\\x1b[2J正文\\u202e" in out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert main([str(tmp_path / "t.parquet"), "--head", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert json.loads(out)["head"][0]["values"]["text"] == rows[0]["text"]


@pytest.fixture()
def mistyped(tmp_path):
    """A corpus folder whose text shard has m6's column names and metadata, with ``source`` a
    list and ``n_chars`` a string."""
    table = pa.Table.from_pylist(text_rows(), schema=TEXT_SCHEMA)
    i, j = table.schema.get_field_index("source"), table.schema.get_field_index("n_chars")
    table = table.set_column(i, "source", pa.array([["forum"]] * 4, pa.list_(pa.string())))
    table = table.set_column(j, "n_chars", pa.array(["11", "12", "13", "14"]))
    (tmp_path / "text").mkdir()
    shard = "text/part-00000-of-00001-000.parquet"
    pq.write_table(table.replace_schema_metadata(TEXT_SCHEMA.metadata), tmp_path / shard)
    # A complete run's manifest, as the sink writes it: the folder is a whole corpus.
    (tmp_path / "manifest.json").write_text(json.dumps({
        "files": {"text": [{"path": shard, "rows": 4}], "image_text": [], "rejected": []},
        "rows": {"text": 4, "image_text": 0, "rejected": 0}}))
    return tmp_path


def test_stats_and_validate_name_the_mistyped_column(mistyped, capsys):
    shard = mistyped / "text" / "part-00000-of-00001-000.parquet"
    assert main([str(shard), "--stats"]) == 2
    err = capsys.readouterr().err
    assert err == (f"m6 inspect: {shard}: column 'source' has type list<element: string>, "
                   "expected string ('m6 inspect --validate' lists every difference)\n")
    assert main([str(shard), "--validate"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (f"m6 inspect: 1 of 1 files do not match their m6 schema; first: "
                            f"{shard}: column 'source' has type list<element: string>, "
                            "expected string\n")
    assert "column 'n_chars' has type string, expected int32" in captured.out
    # Only the columns asked for are checked.
    assert main([str(shard), "--stats", "--columns", "id,text"]) == 0


def test_report_names_the_mistyped_column(mistyped, capsys):
    assert report_main([str(mistyped), "--out", str(mistyped / "r.html"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err == (f"m6 report: {mistyped}/text/part-00000-of-00001-000.parquet: column 'source' "
                   "has type "
                   "list<element: string>, expected string ('m6 inspect --validate' lists "
                   "every difference)\n")
    assert not (mistyped / "r.html").exists()
