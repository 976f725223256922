"""Stream record batches out of shards, one row group at a time, and stop as soon as the caller
has enough; or out of a DuckDB query when ``--where`` filters rows.

Both sources yield ``(shard url, the rows' indices in that shard, RecordBatch)``, so the head,
the column statistics and the image extraction work the same with or without a filter.

``--where`` is user SQL over hostile data (issue 15.5), so the DuckDB connection is locked before
it runs: ``allowed_paths`` lists the shards being inspected and nothing else,
``enable_external_access`` is off (no other file, no URL, no extension install), and
``lock_configuration`` keeps the expression from turning either back on. Column names come from the
files, so every identifier is quoted with ``"`` doubled (``quote_ident``), and an error is one
line with a bounded length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.inspect.files import InspectError, Shard
from schemas.image_column import with_image_bytes

Batch = tuple[str, Sequence[int], pa.RecordBatch]

# Added by DuckDB's read_parquet(..., filename=true, file_row_number=true).
FILENAME_COLUMN = "filename"
ROW_NUMBER_COLUMN = "file_row_number"


def file_batches(pf: pq.ParquetFile, url: str, batch_size: int,
                 columns: list[str] | None = None) -> Iterator[Batch]:
    """The batches of one open shard, row group by row group (nothing is read ahead). A row
    group whose pages cannot be read or hold invalid UTF-8 (a corrupt or truncated file whose
    footer still parses) is an ``InspectError`` naming the file and the row group, never a
    pyarrow traceback."""
    start = 0
    for i in range(pf.metadata.num_row_groups):
        batches = pf.iter_batches(batch_size=batch_size, row_groups=[i], columns=columns,
                                  use_threads=False)
        while True:
            try:
                batch = next(batches)
                # Parquet does not check that strings are UTF-8: a corrupt page would raise
                # UnicodeDecodeError later, in whatever turns a value into Python.
                batch.validate(full=True)
            except StopIteration:
                break
            except (OSError, pa.ArrowException, ValueError) as e:
                raise unreadable(url, i, e) from None
            yield url, range(start, start + batch.num_rows), with_image_bytes(batch)
            start += batch.num_rows


def unreadable(url: str, row_group: int, error: Exception) -> InspectError:
    message = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
    return InspectError(f"{url}: row group {row_group} is not readable ({message})")


def shard_batches(shards: list[Shard], batch_size: int,
                  columns: list[str] | None = None) -> Iterator[Batch]:
    """The batches of every shard in order; each file is closed before the next is opened."""
    for shard in shards:
        with shard.open() as pf:
            yield from file_batches(pf, shard.url, batch_size, columns)


# --- --where through DuckDB ----------------------------------------------------------------------

_TOKEN = re.compile(r"""'(?:[^']|'')*'|"((?:[^"\\]|\\.)*)"|\bNone\b|;|[^'";N]+|N""")


def to_sql(expr: str) -> str:
    """A Python-flavoured filter as DuckDB SQL: ``"forum"`` is a string (SQL: ``'forum'``),
    ``None`` is ``NULL``; ``==``, ``!=``, ``and``, ``or``, ``not``, ``in (...)`` work as they are.
    A ``;`` is refused: ``--where`` takes one expression, not statements."""
    out = []
    pos = 0
    for m in _TOKEN.finditer(expr):
        if m.start() != pos:
            break
        pos = m.end()
        tok = m.group(0)
        if tok == ";":
            raise InspectError(f"--where {expr!r}: ';' is not allowed, give one expression")
        if tok.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", m.group(1))
            out.append("'" + value.replace("'", "''") + "'")
        elif tok == "None":
            out.append("NULL")
        else:
            out.append(tok)
    if pos != len(expr):
        raise InspectError(f"--where {expr!r}: unterminated string at character {pos + 1}")
    return "".join(out)


MAX_ERROR_CHARS = 300


def quote_ident(name: str) -> str:
    """``name`` as a DuckDB identifier: in double quotes, an inner ``"`` doubled (a Parquet
    column may be called ``x"; COPY ... --``)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _one_line(error: Exception) -> str:
    lines = str(error).strip().splitlines() or [type(error).__name__]
    line = lines[0]
    return line if len(line) <= MAX_ERROR_CHARS else line[:MAX_ERROR_CHARS] + "…"


def _allowed(shard: Shard, local: bool) -> list[str]:
    """The spellings of a shard's path that DuckDB checks against ``allowed_paths``: a local
    path as given; an fsspec URL as given and with the ``proto:///`` form DuckDB normalises to."""
    if local:
        return [shard.url]
    protocol, _, rest = shard.url.partition("://")
    return [shard.url, f"{protocol}:///{rest.lstrip('/')}"]


def _reader(relation, batch_size: int) -> pa.RecordBatchReader:
    if hasattr(relation, "to_arrow_reader"):  # the name in duckdb 2.x
        return relation.to_arrow_reader(batch_size)
    return relation.fetch_arrow_reader(batch_size)  # the name in duckdb 0.10 and 1.x


class Query:
    """``--where`` over a group of shards of one schema, run by DuckDB (streams its result)."""

    def __init__(self, shards: list[Shard], expr: str):
        import duckdb  # imported here: only --where needs it

        self.expr = expr
        self.sql_expr = to_sql(expr)
        self.urls = [s.url for s in shards]
        self.con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                          "autoload_known_extensions": False})
        allowed: list[str] = []
        for fs in {id(s.fs): s.fs for s in shards}.values():
            protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
            local = "file" in protocols or "local" in protocols
            if not local:
                self.con.register_filesystem(fs)
            allowed += [a for s in shards if s.fs is fs for a in _allowed(s, local)]
        # SET takes no bound parameters: the paths are quoted as literals.
        self.con.execute(f"SET allowed_paths = [{', '.join(map(quote_literal, allowed))}]")  # sql-checked
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")
        self._error = duckdb.Error

    def _relation(self, select: str, suffix: str = ""):
        # sql-checked: select holds quoted identifiers only; the WHERE is the user's own SQL, run in
        # this connection, locked to the shards; the file list is a bound parameter
        sql = (f"SELECT {select} FROM read_parquet($files, filename=true, file_row_number=true) "  # sql-checked
               f"WHERE ({self.sql_expr}) {suffix}")
        try:
            return self.con.sql(sql, params={"files": self.urls})
        except self._error as e:
            raise self._failed(e) from None

    def _failed(self, error: Exception) -> InspectError:
        return InspectError(f"--where {self.expr!r}: {_one_line(error)}")

    def count(self) -> int:
        rel = self._relation("count(*)")
        try:
            return int(rel.fetchall()[0][0])
        except self._error as e:
            raise self._failed(e) from None

    def _guarded(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        """The reader's batches; an error while streaming is one line, like one at the start."""
        it = iter(reader)
        while True:
            try:
                batch = next(it)
            except StopIteration:
                return
            except (self._error, pa.ArrowException) as e:
                raise self._failed(e) from None
            yield batch

    def batches(self, batch_size: int, limit: int | None = None, offset: int = 0,
                columns: list[str] | None = None) -> Iterator[Batch]:
        """Matching rows in file order (DuckDB preserves the scan order), ``limit`` at most."""
        extra = [FILENAME_COLUMN, ROW_NUMBER_COLUMN]
        select = ", ".join(map(quote_ident, [*columns, *extra])) if columns else "*"
        suffix = f"LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        try:
            reader = _reader(self._relation(select, suffix), batch_size)
        except self._error as e:
            raise self._failed(e) from None
        for batch in self._guarded(reader):
            if batch.num_rows == 0:
                continue
            files = batch.column(FILENAME_COLUMN).to_pylist()
            rows = batch.column(ROW_NUMBER_COLUMN).to_pylist()
            keep = [n for n in batch.schema.names if n not in extra]
            batch = with_image_bytes(
                pa.RecordBatch.from_arrays([batch.column(n) for n in keep], names=keep))
            # One batch may hold rows of several files: split where the file changes.
            start = 0
            for k in range(1, len(files) + 1):
                if k == len(files) or files[k] != files[start]:
                    yield files[start], rows[start:k], batch.slice(start, k - start)
                    start = k
