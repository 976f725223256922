"""Arrow schemas and row dataclasses of the m6 corpus outputs, and the layout of an output folder
(``layout.py``: kinds, file names, the manifest; ``statistics.py``: ``stats.json``; ``listing.py``:
how readers list a corpus folder's shards): the one package all others import."""

from schemas.arrow import (
    IMAGE_TEXT_SCHEMA,
    REJECTED_SCHEMA,
    SCHEMA_VERSION,
    SCHEMAS,
    TEXT_SCHEMA,
    schema_for,
)
from schemas.records import (
    REJECTED_TEXT_LIMIT,
    ImageTextRecord,
    Quality,
    RejectedRecord,
    TextRecord,
    make_id,
)
from schemas.sources import IMAGE_TEXT_SOURCES, PLAIN_TEXT_SOURCES, SOURCES, check_source
from schemas.validate import SchemaMismatch, schema_problems, validate_table

__all__ = [
    "IMAGE_TEXT_SCHEMA",
    "IMAGE_TEXT_SOURCES",
    "PLAIN_TEXT_SOURCES",
    "REJECTED_SCHEMA",
    "REJECTED_TEXT_LIMIT",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "SOURCES",
    "TEXT_SCHEMA",
    "ImageTextRecord",
    "Quality",
    "RejectedRecord",
    "SchemaMismatch",
    "TextRecord",
    "check_source",
    "make_id",
    "schema_for",
    "schema_problems",
    "validate_table",
]
