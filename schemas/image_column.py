"""The ``image`` column of ``image_text`` shards, stored the way Hugging Face ``datasets`` stores
an ``Image`` feature, and read back from every version m6 has written.

Version 2.0 of the ``image_text`` schema stores the image as ``struct<bytes: binary, path:
string>`` (``path`` is always null: the bytes are the image) and records the column's features in
the schema metadata under ``huggingface`` (``{"info": {"features": ...}}``, the key
``datasets.Features.from_arrow_schema`` reads). ``datasets.load_dataset("parquet", ...)`` then
yields PIL images with no cast. ``datasets`` only honours the metadata of a column whose Arrow
field is exactly its own (same type, nullable), which is why the Arrow type changed and the field
is nullable: that a kept pair always has image bytes is checked by ``validate_table`` instead.
(Source: ``datasets.features.Image.pa_type`` and ``Features.from_arrow_schema``, datasets 5.2;
the same layout since datasets 2.x.)

Version 1.0 shards stored plain ``binary``. Readers never look at the Arrow type themselves: they
call ``image_bytes`` on a row value or ``image_bytes_array`` on a column, which accept both.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

IMAGE_COLUMN = "image"
IMAGE_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
IMAGE_TYPE_V1 = pa.binary()

HF_METADATA_KEY = b"huggingface"

# Arrow types of the m6 schemas as ``datasets.Value`` dtype names.
_VALUE_DTYPES = {
    pa.string(): "string",
    pa.binary(): "binary",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float32(): "float32",
    pa.float64(): "float64",
    pa.bool_(): "bool",
}


def hf_features(fields: list[pa.Field]) -> dict[str, Any]:
    """``datasets.Features.to_dict()`` of ``fields``: ``Image`` for the image column, ``Value``
    for the scalars (written by hand: ``schemas`` does not import ``datasets``)."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.name == IMAGE_COLUMN and f.type.equals(IMAGE_TYPE):
            out[f.name] = {"_type": "Image"}
        else:
            out[f.name] = {"dtype": _VALUE_DTYPES[f.type], "_type": "Value"}
    return out


def hf_metadata(fields: list[pa.Field]) -> dict[bytes, bytes]:
    """The ``huggingface`` schema metadata entry for ``fields``."""
    info = {"info": {"features": hf_features(fields)}}
    return {HF_METADATA_KEY: json.dumps(info, ensure_ascii=False).encode()}


def image_value(data: bytes | None) -> dict[str, Any] | None:
    """The stored value of encoded image ``data`` (what a row dict holds before writing)."""
    return None if data is None else {"bytes": data, "path": None}


def image_bytes(value: Any) -> bytes | None:
    """The encoded image of a row value read from any ``image_text`` version (bytes or struct)."""
    if value is None or isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, dict):
        data = value.get("bytes")
        return data if data is None or isinstance(data, (bytes, bytearray)) else None
    raise TypeError(f"image value of type {type(value).__name__} is neither bytes nor "
                    "{bytes, path}")


def image_bytes_array(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The image bytes of an ``image`` column of any version, as a binary array."""
    if pa.types.is_struct(column.type):
        if isinstance(column, pa.ChunkedArray):
            return pa.chunked_array([_struct_bytes(c) for c in column.chunks], pa.binary())
        return _struct_bytes(column)
    return column


def _struct_bytes(arr: pa.StructArray) -> pa.Array:
    # flatten (not field) applies the struct's own nulls and slice offset to the child.
    return arr.flatten()[arr.type.get_field_index("bytes")]


def with_image_bytes(data: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
    """``data`` with its ``image`` column (if any) as plain binary, whatever version wrote it:
    what m6's own readers (trainer, inspect, report, apps) work on."""
    names = data.schema.names
    if IMAGE_COLUMN not in names:
        return data
    i = names.index(IMAGE_COLUMN)
    column = data.column(i)
    if not pa.types.is_struct(column.type):
        return data
    return data.set_column(i, pa.field(IMAGE_COLUMN, pa.binary()), image_bytes_array(column))


def with_image_structs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose ``image`` holds encoded bytes, as the current ``image_text`` schema stores them
    (``pa.Table.from_pylist(with_image_structs(rows), schema=IMAGE_TEXT_SCHEMA)``)."""
    return [{**r, IMAGE_COLUMN: image_value(image_bytes(r.get(IMAGE_COLUMN)))} for r in rows]
