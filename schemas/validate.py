"""Check that a table or Parquet schema matches the project's schema for its output kind.

Used by the shard writer before it writes (so a bad row fails loudly at the source) and by
``m6 inspect --validate`` on shards written by anyone. A mismatch is reported as a list of
human-readable problems, not a bare exception, so a user sees every difference at once.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.arrow import (
    NON_NULL_COLUMNS,
    READABLE_MAJORS,
    SCHEMA_NAME_KEY,
    SCHEMA_VERSION_KEY,
    SCHEMA_VERSIONS,
    SCHEMAS,
    schema_of_version,
)
from schemas.image_column import image_bytes_array


class SchemaMismatch(ValueError):
    """Raised when data does not match the project schema; ``problems`` lists every difference."""

    def __init__(self, kind: str, problems: list[str]):
        self.kind = kind
        self.problems = problems
        super().__init__(f"does not match the m6 {kind!r} schema: " + "; ".join(problems))


def kind_of(schema: pa.Schema) -> str | None:
    """The output kind recorded in ``schema``'s metadata, or ``None`` if it has none."""
    meta = schema.metadata or {}
    name = meta.get(SCHEMA_NAME_KEY)
    return name.decode() if name else None


def version_of(schema: pa.Schema) -> str | None:
    meta = schema.metadata or {}
    v = meta.get(SCHEMA_VERSION_KEY)
    return v.decode() if v else None


def schema_problems(schema: pa.Schema, kind: str | None = None) -> list[str]:
    """Every way ``schema`` differs from the project schema of ``kind`` (from metadata if None).

    Nullability is not compared here: other writers (DuckDB, Spark) may mark every column
    nullable. ``validate_table`` checks the actual nulls instead."""
    kind = kind or kind_of(schema)
    if kind is None:
        return ["no m6.schema in the schema metadata: not written by m6, pass the kind explicitly"]
    if kind not in SCHEMAS:
        return [f"unknown kind {kind!r} (expected one of {sorted(SCHEMAS)})"]
    problems: list[str] = []
    version = version_of(schema)
    if version is not None and version.split(".")[0] not in READABLE_MAJORS[kind]:
        problems.append(f"schema version {version} is incompatible with {SCHEMA_VERSIONS[kind]}")
        return problems
    # A shard without a version (written by another tool) is compared with the current schema.
    expected = schema_of_version(kind, version)
    got = {f.name: f for f in schema}
    for f in expected:
        g = got.get(f.name)
        if g is None:
            problems.append(f"missing column {f.name!r} ({f.type})")
        elif not g.type.equals(f.type):
            problems.append(f"column {f.name!r} has type {g.type}, expected {f.type}")
    for name in got:
        if name not in expected.names:
            problems.append(f"unexpected column {name!r}")
    return problems


def null_problems(table: pa.Table, kind: str) -> list[str]:
    """Nulls in columns the schema declares non-null (Parquet readers may relax nullability)."""
    expected = SCHEMAS[kind]
    required = set(NON_NULL_COLUMNS.get(kind, ()))
    problems = []
    for f in expected:
        if (not f.nullable or f.name in required) and f.name in table.column_names:
            column = table.column(f.name)
            if pa.types.is_struct(column.type):  # the image struct: its bytes must be there too
                column = image_bytes_array(column)
            n = column.null_count
            if n:
                problems.append(f"column {f.name!r} has {n} nulls but is non-null")
    return problems


def validate_table(table: pa.Table, kind: str | None = None) -> None:
    """Raise ``SchemaMismatch`` unless ``table`` matches the project schema of its kind."""
    kind = kind or kind_of(table.schema) or "?"
    problems = schema_problems(table.schema, kind)
    if not problems:
        problems = null_problems(table, kind)
    if problems:
        raise SchemaMismatch(kind, problems)
