"""Which columns of a shard have types that the readers of m6 shards cannot use.

``m6 inspect --stats`` and ``m6 report`` compute on a shard's columns by name (lengths of
``text``, histograms of ``n_chars``, counts of ``source``); a Parquet file with the right names and
other types (written by another tool, or crafted) made pyarrow's kernels raise deep inside
(``value_counts`` of a list, ``dictionary_encode`` of a struct: issue 15.8). Each reader checks
first and stops with one line naming the column, the type found and the type expected.

The check is by family, not exact type: ``int64`` where ``int32`` is declared, ``large_string`` for
``string`` or a dictionary of strings all work, and are what DuckDB, Spark or Polars write. The
exact comparison is ``--validate``'s (``schemas/validate.py``).
"""

from __future__ import annotations

import pyarrow as pa

from schemas import SCHEMAS


def family(t: pa.DataType) -> str:
    """``number``, ``string``, ``binary``, ``bool`` or the type itself, for other types."""
    if pa.types.is_dictionary(t):
        return family(t.value_type)
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_struct(t) and t.get_field_index("bytes") >= 0 \
            and family(t.field("bytes").type) == "binary":
        # The Hugging Face Image struct of image_text 2.0: the same bytes as 1.0's binary.
        return "binary"
    return str(t)


class ColumnTypeError(ValueError):
    """A column of an m6 shard whose type the reader cannot use."""

    def __init__(self, where: str, column: str, found: pa.DataType, expected: pa.DataType):
        self.column, self.found, self.expected = column, found, expected
        super().__init__(f"{where}: column {column!r} has type {found}, expected {expected} "
                         "('m6 inspect --validate' lists every difference)")


def check_types(schema: pa.Schema, kind: str | None, where: str,
                columns: list[str] | None = None) -> None:
    """Raise ``ColumnTypeError`` for the first column of ``schema`` (of ``columns``, when given)
    whose type is not of the family the m6 schema of ``kind`` declares. Unknown kinds and
    columns the m6 schema does not have are not checked: there is nothing to expect."""
    expected = SCHEMAS.get(kind) if kind else None
    if expected is None:
        return
    for f in schema:
        if columns is not None and f.name not in columns:
            continue
        i = expected.get_field_index(f.name)
        if i >= 0 and family(f.type) != family(expected.field(i).type):
            raise ColumnTypeError(where, f.name, f.type, expected.field(i).type)
