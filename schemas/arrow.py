"""Arrow schemas of the three corpus outputs: ``text``, ``image_text`` and ``rejected``.

These schemas are the contract between the corpus pipeline (which writes Parquet shards) and
everything that reads them (``m6 inspect``, the trainer in ``model/``, DuckDB, pandas). Each
carries ``m6.schema`` (its name) and ``m6.schema_version`` in the schema metadata, so a reader
can tell which contract a shard was written under (docs/design.md, "Outputs and their invariants").

Columns that a stage may not have filled (a perplexity when no language model is configured,
say) are nullable; identity columns (``id``, ``source``) are not.

Versioning rule: adding a nullable column bumps the minor version; renaming, removing or changing
a type bumps the major version. Each kind has its own version (``SCHEMA_VERSIONS``); a reader
accepts a shard whose major version is one of ``READABLE_MAJORS[kind]``, and ``schema_of_version``
gives the columns that version had.

History: ``image_text`` 2.0 stores ``image`` as a Hugging Face ``Image`` struct and carries the
``huggingface`` features metadata (``schemas/image_column.py``); 1.0 stored it as ``binary``.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.image_column import IMAGE_COLUMN, IMAGE_TYPE, IMAGE_TYPE_V1, hf_metadata

SCHEMA_VERSION = "1.0"  # of text and rejected (kept for readers of the 1.x contract)
SCHEMA_VERSIONS = {"text": "1.0", "image_text": "2.0", "rejected": "1.0"}
READABLE_MAJORS = {"text": ("1",), "image_text": ("1", "2"), "rejected": ("1",)}

SCHEMA_NAME_KEY = b"m6.schema"
SCHEMA_VERSION_KEY = b"m6.schema_version"


def _with_meta(name: str, fields: list[pa.Field], *, huggingface: bool = False,
               version: str | None = None) -> pa.Schema:
    version = version or SCHEMA_VERSIONS[name]
    meta = {SCHEMA_NAME_KEY: name.encode(), SCHEMA_VERSION_KEY: version.encode()}
    if huggingface:
        meta.update(hf_metadata(fields))
    return pa.schema(fields, metadata=meta)


# Quality columns shared by text rows and the text side of image-text rows.
_QUALITY_FIELDS = [
    pa.field("perplexity", pa.float32(), nullable=True),
    pa.field("perplexity_bucket", pa.string(), nullable=True),  # head | middle | tail (cc_net)
    pa.field("spam_score", pa.float32(), nullable=True),
    pa.field("badword_ratio", pa.float32(), nullable=True),
    pa.field("cjk_ratio", pa.float32(), nullable=True),
    pa.field("latin_ratio", pa.float32(), nullable=True),
    pa.field("lang", pa.string(), nullable=True),
    pa.field("lang_score", pa.float32(), nullable=True),
    pa.field("dup_line_frac", pa.float32(), nullable=True),
    pa.field("top_ngram_frac", pa.float32(), nullable=True),
]

TEXT_SCHEMA = _with_meta(
    "text",
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=True),
        pa.field("title", pa.string(), nullable=True),
        pa.field("text", pa.string(), nullable=False),
        pa.field("n_chars", pa.int32(), nullable=False),
        pa.field("n_tokens", pa.int32(), nullable=False),
        pa.field("input_file", pa.string(), nullable=True),
        pa.field("crawl_date", pa.string(), nullable=True),
        *_QUALITY_FIELDS,
    ],
)

_IMAGE_TEXT_FIELDS = [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=True),  # page the pair came from
        pa.field("image_url", pa.string(), nullable=True),
        pa.field("text", pa.string(), nullable=False),  # the cleaned pair text
        pa.field("alt", pa.string(), nullable=True),
        pa.field("title", pa.string(), nullable=True),
        pa.field("caption", pa.string(), nullable=True),
        pa.field("context_before", pa.string(), nullable=True),
        pa.field("context_after", pa.string(), nullable=True),
        # nullable in Arrow so that datasets takes it as its Image feature; validate_table
        # still refuses a null image (NON_NULL_COLUMNS).
        pa.field(IMAGE_COLUMN, IMAGE_TYPE, nullable=True),
        pa.field("format", pa.string(), nullable=False),
        pa.field("width", pa.int32(), nullable=False),
        pa.field("height", pa.int32(), nullable=False),
        pa.field("orig_width", pa.int32(), nullable=False),
        pa.field("orig_height", pa.int32(), nullable=False),
        pa.field("orig_format", pa.string(), nullable=True),
        pa.field("sha256", pa.string(), nullable=False),  # of the stored bytes
        pa.field("orig_sha256", pa.string(), nullable=True),  # of the fetched bytes
        pa.field("phash", pa.string(), nullable=True),  # 64-bit perceptual hash, 16 hex digits
        pa.field("sharpness", pa.float32(), nullable=True),
        pa.field("entropy", pa.float32(), nullable=True),
        pa.field("colourfulness", pa.float32(), nullable=True),
        pa.field("jpeg_quality", pa.float32(), nullable=True),
        pa.field("n_chars", pa.int32(), nullable=False),
        pa.field("n_tokens", pa.int32(), nullable=False),
        pa.field("input_file", pa.string(), nullable=True),
        *_QUALITY_FIELDS,
]

IMAGE_TEXT_SCHEMA = _with_meta("image_text", _IMAGE_TEXT_FIELDS, huggingface=True)

# Version 1.0 of image_text: the same columns, ``image`` as non-null binary, no HF metadata.
IMAGE_TEXT_SCHEMA_V1 = _with_meta(
    "image_text",
    [pa.field(IMAGE_COLUMN, IMAGE_TYPE_V1, nullable=False) if f.name == IMAGE_COLUMN else f
     for f in _IMAGE_TEXT_FIELDS],
    version="1.0",
)

# Columns that hold a value in every row although their Arrow field is nullable.
NON_NULL_COLUMNS = {"image_text": (IMAGE_COLUMN,)}

REJECTED_SCHEMA = _with_meta(
    "rejected",
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # record | page | text | image_text | image
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=True),
        pa.field("detail", pa.string(), nullable=True),
        pa.field("duplicate_of", pa.string(), nullable=True),
        pa.field("url", pa.string(), nullable=True),
        pa.field("image_url", pa.string(), nullable=True),
        pa.field("title", pa.string(), nullable=True),
        pa.field("text", pa.string(), nullable=True),  # bounded to REJECTED_TEXT_LIMIT characters
        pa.field("input_file", pa.string(), nullable=True),
        pa.field("offset", pa.int64(), nullable=True),
    ],
)

SCHEMAS: dict[str, pa.Schema] = {
    "text": TEXT_SCHEMA,
    "image_text": IMAGE_TEXT_SCHEMA,
    "rejected": REJECTED_SCHEMA,
}


def schema_of_version(kind: str, version: str | None) -> pa.Schema:
    """The schema of ``kind`` as version ``version`` wrote it (``None``: the current one)."""
    schema = schema_for(kind)
    if kind == "image_text" and version is not None and version.split(".")[0] == "1":
        return IMAGE_TEXT_SCHEMA_V1
    return schema


def schema_for(kind: str) -> pa.Schema:
    """The schema of output ``kind`` (``text``, ``image_text`` or ``rejected``)."""
    try:
        return SCHEMAS[kind]
    except KeyError:
        raise ValueError(f"unknown output kind {kind!r}; expected one of {sorted(SCHEMAS)}") from None
