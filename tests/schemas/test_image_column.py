"""The image_text 2.0 image column: Hugging Face's Image struct and features metadata, and
readers that take 1.0's binary column as well (schemas/image_column.py)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from schemas import IMAGE_TEXT_SCHEMA, ImageTextRecord, SchemaMismatch, make_id, validate_table
from schemas.arrow import IMAGE_TEXT_SCHEMA_V1, schema_of_version
from schemas.image_column import (
    IMAGE_TYPE,
    image_bytes,
    image_bytes_array,
    with_image_bytes,
    with_image_structs,
)
from schemas.validate import schema_problems


def _row(i: int, data: bytes) -> dict:
    return ImageTextRecord(id=make_id("webpage", str(i)), source="webpage", text="一只猫",
                           image=data, format="JPEG", width=4, height=3, orig_width=4,
                           orig_height=3, sha256="0" * 64).to_row()


def test_the_huggingface_metadata_names_every_column_with_image_as_image():
    meta = json.loads(IMAGE_TEXT_SCHEMA.metadata[b"huggingface"])
    features = meta["info"]["features"]
    assert list(features) == IMAGE_TEXT_SCHEMA.names
    assert features["image"] == {"_type": "Image"}
    assert features["width"] == {"dtype": "int32", "_type": "Value"}
    assert features["perplexity"] == {"dtype": "float32", "_type": "Value"}
    assert features["text"] == {"dtype": "string", "_type": "Value"}
    field = IMAGE_TEXT_SCHEMA.field("image")
    assert field.type == IMAGE_TYPE and field.nullable  # what datasets requires to honour it


def test_version_1_and_2_tables_both_validate_and_read_as_bytes():
    rows = [_row(i, bytes([i]) * (i + 1)) for i in range(3)]
    v2 = pa.Table.from_pylist(with_image_structs(rows), schema=IMAGE_TEXT_SCHEMA)
    v1 = pa.Table.from_pylist(rows, schema=IMAGE_TEXT_SCHEMA_V1)
    for table in (v1, v2):
        validate_table(table, "image_text")
        plain = with_image_bytes(table)
        assert plain.schema.field("image").type == pa.binary()
        assert plain.column("image").to_pylist() == [b"\x00", b"\x01\x01", b"\x02\x02\x02"]
    assert v2.column("image").to_pylist()[1] == {"bytes": b"\x01\x01", "path": None}
    assert image_bytes(v2.column("image")[1].as_py()) == b"\x01\x01"
    assert image_bytes(b"ab") == b"ab"
    assert image_bytes(None) is None
    assert image_bytes_array(v2.column("image").combine_chunks().slice(2)).to_pylist() == [b"\x02" * 3]


def test_each_version_is_checked_against_its_own_columns():
    assert schema_of_version("image_text", "1.0") is IMAGE_TEXT_SCHEMA_V1
    assert schema_of_version("image_text", "2.0") is IMAGE_TEXT_SCHEMA
    # a 1.0 shard that claims binary but holds the struct is a mismatch, and the other way round
    mixed = IMAGE_TEXT_SCHEMA.with_metadata({**IMAGE_TEXT_SCHEMA.metadata,
                                             b"m6.schema_version": b"1.0"})
    assert schema_problems(mixed, "image_text") == [
        "column 'image' has type struct<bytes: binary, path: string>, expected binary"]
    future = IMAGE_TEXT_SCHEMA.with_metadata({**IMAGE_TEXT_SCHEMA.metadata,
                                              b"m6.schema_version": b"3.0"})
    assert schema_problems(future, "image_text") == ["schema version 3.0 is incompatible with 2.0"]


def test_a_pair_without_image_bytes_is_refused():
    rows = with_image_structs([_row(0, b"\xff")])
    rows[0]["image"] = None
    with pytest.raises(SchemaMismatch, match="'image' has 1 nulls"):
        validate_table(pa.Table.from_pylist(rows, schema=IMAGE_TEXT_SCHEMA), "image_text")
    rows[0]["image"] = {"bytes": None, "path": "x.jpg"}
    with pytest.raises(SchemaMismatch, match="'image' has 1 nulls"):
        validate_table(pa.Table.from_pylist(rows, schema=IMAGE_TEXT_SCHEMA), "image_text")
