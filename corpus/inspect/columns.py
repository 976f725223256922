"""Per-column statistics for ``m6 inspect --stats``, accumulated batch by batch.

For every column: rows and nulls. Strings: length in characters (min, mean, max). Binary: length
in bytes. Numbers: min, mean, max. Booleans: how many are true. Low-cardinality label columns
(``source``, ``reason``, ``stage``, ...) also get their most frequent values. Memory stays bounded
by one batch plus one counter per distinct label, whatever the size of the shards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Columns whose values are labels worth counting (the rest are free text or numbers).
TOP_COLUMNS = ("source", "reason", "stage", "kind", "format", "orig_format", "lang",
               "perplexity_bucket")
TOP_N = 10


@dataclass
class ColumnStats:
    """Running figures of one column."""

    name: str
    type: str
    measure: str | None = None  # "chars", "bytes" or "value": what min/mean/max are of
    rows: int = 0
    nulls: int = 0
    count: int = 0  # non-null values measured
    total: float = 0.0
    min: Any = None
    max: Any = None
    true: int | None = None
    top: Counter = field(default_factory=Counter)

    def add(self, array: pa.Array) -> None:
        self.rows += len(array)
        self.nulls += array.null_count
        t = array.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            self.measure = "chars"
            self._measure(pc.utf8_length(array))
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
            self.measure = "bytes"
            self._measure(pc.binary_length(array))
        elif pa.types.is_integer(t) or pa.types.is_floating(t):
            self.measure = "value"
            self._measure(array)
        elif pa.types.is_boolean(t):
            self.true = (self.true or 0) + int(pc.sum(array).as_py() or 0)
        if self.name in TOP_COLUMNS and _countable(t):
            counts = pc.value_counts(array)
            for value, n in zip(counts.field("values").to_pylist(),
                                counts.field("counts").to_pylist()):
                if value is not None:  # nulls are counted in ``nulls``
                    self.top[value] += n

    def _measure(self, values: pa.Array) -> None:
        n = len(values) - values.null_count
        if n == 0:
            return
        mm = pc.min_max(values)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)
        self.total += float(pc.sum(values).as_py() or 0)
        self.count += n

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "rows": self.rows, "nulls": self.nulls}
        if self.measure:
            out["of"] = self.measure
            out["min"], out["max"] = self.min, self.max
            out["mean"] = round(self.total / self.count, 3) if self.count else None
        if self.true is not None:
            out["true"] = self.true
        if self.name in TOP_COLUMNS:
            out["top"] = [[v, n] for v, n in
                          sorted(self.top.items(), key=lambda kv: (-kv[1], str(kv[0])))[:TOP_N]]
        return out


def _countable(t: pa.DataType) -> bool:
    """Whether values of type ``t`` can be counted (a file from elsewhere may call a list or a
    struct ``source``)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
            or pa.types.is_boolean(t))


class TableStats:
    """``ColumnStats`` of every column of one schema."""

    def __init__(self, schema: pa.Schema):
        self.columns = {f.name: ColumnStats(f.name, str(f.type)) for f in schema}

    def add(self, batch: pa.RecordBatch) -> None:
        for name in batch.schema.names:
            if name not in self.columns:
                self.columns[name] = ColumnStats(name, str(batch.schema.field(name).type))
            self.columns[name].add(batch.column(name))

    def to_json(self) -> dict[str, Any]:
        return {name: c.to_json() for name, c in self.columns.items()}
