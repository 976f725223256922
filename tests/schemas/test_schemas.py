"""Schemas: version metadata, rows that match their schema, and validation that names problems."""

from __future__ import annotations

import pyarrow as pa
import pytest

from schemas import (
    IMAGE_TEXT_SCHEMA,
    REJECTED_SCHEMA,
    SCHEMA_VERSION,
    TEXT_SCHEMA,
    ImageTextRecord,
    RejectedRecord,
    SchemaMismatch,
    TextRecord,
    make_id,
    schema_problems,
    validate_table,
)
from schemas.image_column import with_image_structs


def test_every_schema_carries_name_and_version():
    for name, schema, version in [("text", TEXT_SCHEMA, SCHEMA_VERSION),
                                  ("image_text", IMAGE_TEXT_SCHEMA, "2.0"),
                                  ("rejected", REJECTED_SCHEMA, SCHEMA_VERSION)]:
        assert schema.metadata[b"m6.schema"] == name.encode()
        assert schema.metadata[b"m6.schema_version"] == version.encode()
    assert SCHEMA_VERSION == "1.0"


def test_make_id_is_stable_and_source_dependent():
    a = make_id("forum", "https://x.cn/1")
    assert a == make_id("forum", "https://x.cn/1")
    assert a != make_id("encyclopedia", "https://x.cn/1")
    assert len(a) == 32 and int(a, 16) >= 0


def test_rows_build_tables_that_validate():
    t = TextRecord(id=make_id("forum", "1"), source="forum", text="今天天气很好，我们去公园散步。",
                   n_chars=15, n_tokens=14, perplexity=123.5)
    i = ImageTextRecord(id=make_id("webpage", "2"), source="webpage", text="一只猫", image=b"\xff",
                        format="JPEG", width=100, height=80, orig_width=200, orig_height=160,
                        sha256="0" * 64)
    r = RejectedRecord(id="ab", source="forum", kind="text", stage="clean", reason="too_short",
                       text="x" * 5000)
    assert len(r.text) == 2000
    for rec, schema, kind in [(t, TEXT_SCHEMA, "text"), (i, IMAGE_TEXT_SCHEMA, "image_text"),
                              (r, REJECTED_SCHEMA, "rejected")]:
        table = pa.Table.from_pylist(with_image_structs([rec.to_row()]), schema=schema)
        validate_table(table, kind)
        assert table.num_rows == 1


def test_unknown_source_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="encyclopedia"):
        TextRecord(id="x", source="blog", text="t")


def test_validation_names_every_problem():
    bad = pa.schema([pa.field("id", pa.string()), pa.field("source", pa.int64()),
                     pa.field("extra", pa.string())])
    problems = schema_problems(bad, "text")
    assert "column 'source' has type int64, expected string" in problems
    assert "unexpected column 'extra'" in problems
    assert any(p.startswith("missing column 'text'") for p in problems)
    with pytest.raises(SchemaMismatch, match="missing column"):
        validate_table(bad.empty_table(), "text")


def test_nulls_in_required_columns_are_caught():
    relaxed = pa.schema([f.with_nullable(True) for f in TEXT_SCHEMA], metadata=TEXT_SCHEMA.metadata)
    row = TextRecord(id="a", source="forum", text="x").to_row()
    row["text"] = None
    table = pa.Table.from_pylist([row], schema=relaxed)
    with pytest.raises(SchemaMismatch, match="'text' has 1 nulls"):
        validate_table(table, "text")
