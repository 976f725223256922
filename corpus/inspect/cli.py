"""``m6 inspect PATH...``: look inside corpus shards without loading them.

Prints, per file and in total, the schema name and version (from the schema metadata), rows, row
groups, bytes on disk and compression codecs, all from the Parquet footers, and, for a corpus
folder, the Table 1 statistics of its ``stats.json``. Options:

* ``--head N``: the first N rows (of the ``--where`` matches), Chinese as characters, long text
  cut (``--width``), binary columns as their size, an image as ``JPEG 640x480, 12.3 KB``;
* ``--stats``: per column nulls, string/binary length and numeric min/mean/max, and the most
  frequent values of label columns (``source``, ``reason``, ...), per schema;
* ``--validate``: every file against the project schema of its kind (``schemas/validate.py``),
  plus nulls in non-null columns; exit status 1 and every problem named on a mismatch;
* ``--where EXPR``: only rows matching a filter such as ``source == "forum"`` (DuckDB SQL where
  ``"..."`` is a string, as in Python); applied to ``--head``, ``--stats`` and ``--image``;
* ``--image ROW --out FILE``: write the image of row ROW of the ``image_text`` shards;
* ``--json``: everything above as one JSON document on stdout;
* ``--allow-incomplete``: read a corpus folder whose ``manifest.json`` is missing or does not
  match its shards (refused otherwise, as bad input: ``schemas/listing.py``); the output then
  says it is incomplete.

Everything streams row group by row group (``corpus/inspect/batches.py``): ``--head`` stops
reading when it has its rows, ``--stats`` holds one batch at a time. Exit status: 0 fine, 1 a file
failed ``--validate`` (every problem on stdout, the first on stderr), 2 bad input (no files,
unreadable file, bad filter, missing row, an m6 shard whose column types ``--stats`` cannot use),
each as one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

import fsspec
import pyarrow as pa

from corpus.inspect.batches import Batch, Query, shard_batches, unreadable
from corpus.inspect.columns import TableStats
from corpus.inspect.files import (
    FileSummary,
    InspectError,
    Shard,
    expand,
    row_group_of,
    stats_files,
    summarise,
)
from corpus.inspect.render import (
    json_safe,
    json_value,
    printable,
    show_value,
    stats_lines,
    summary_lines,
)
from corpus.inspect.types import ColumnTypeError, check_types
from corpus.stats import format_table, from_json, human_bytes
from schemas import SCHEMAS, schema_problems
from schemas.image_column import with_image_bytes
from schemas.validate import kind_of

BATCH_ROWS = 1024
IMAGE_COLUMNS = ["image", "format", "width", "height"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="m6 inspect",
        description="Look inside m6 Parquet shards: schema, counts, sizes, rows, column "
                    "statistics, validation. PATH is a file, a folder or a quoted glob, local or "
                    "an fsspec URL (s3://, gs://, memory://).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--head", type=int, metavar="N", help="show the first N rows")
    p.add_argument("--stats", action="store_true", help="per-column statistics")
    p.add_argument("--validate", action="store_true",
                   help="check every file against the project schema (exit 1 on mismatch)")
    p.add_argument("--kind", choices=sorted(SCHEMAS),
                   help="schema to validate against, for files without m6 metadata")
    p.add_argument("--where", metavar="EXPR",
                   help="filter rows, e.g. 'source == \"forum\" and n_chars > 100' "
                        "(DuckDB SQL; \"...\" is a string)")
    p.add_argument("--columns", metavar="A,B", help="columns for --head and --stats")
    p.add_argument("--width", type=int, default=100, metavar="CHARS",
                   help="cut strings after this many characters in --head (0: never; "
                        "default 100)")
    p.add_argument("--image", type=int, metavar="ROW",
                   help="write the image of row ROW of the image_text shards to --out")
    p.add_argument("--out", metavar="FILE", help="where --image writes")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="read a corpus folder without a complete manifest.json (a run still "
                        "going or killed) as the Parquet files that are there")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    _utf8(sys.stdout)
    try:
        report, lines, failed = run(args)
    except InspectError as e:
        print(f"m6 inspect: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json_safe(json.dumps(report, ensure_ascii=False, indent=2, default=str)))
    else:
        print("\n".join(map(printable, lines)))
    if failed:
        bad = [v for v in report["validation"] if not v["ok"]]
        print(printable(f"m6 inspect: {len(bad)} of {len(report['validation'])} files do not "
                        f"match their m6 schema; first: {bad[0]['path']}: "
                        f"{bad[0]['problems'][0]}"), file=sys.stderr)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], bool]:
    """Do what ``args`` ask: the JSON report, the same for people (lines), and whether
    validation failed."""
    if args.head is not None and args.head < 0:
        raise InspectError(f"--head must be >= 0, got {args.head}")
    if (args.image is None) != (args.out is None):
        raise InspectError("--image ROW and --out FILE go together")
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None

    incomplete: list[str] = []
    shards = expand(args.paths, allow_incomplete=args.allow_incomplete, notes=incomplete)
    summaries: list[FileSummary] = []
    schemas: dict[str, Any] = {}
    groups: dict[str, list[Shard]] = {}
    validation = []
    for shard in shards:
        try:
            with shard.open() as pf:
                summary = summarise(shard, pf)
                schema = pf.schema_arrow
                problems = validate_file(pf, args.kind) if args.validate else []
                if args.stats and not args.validate:
                    check_types(schema, args.kind or summary.schema, shard.url, columns)
        except ColumnTypeError as e:
            raise InspectError(str(e)) from None
        except (OSError, pa.ArrowException, ValueError) as e:  # a corrupt page under --validate
            e = InspectError(f"{shard.url}: not readable ({_first_line(e)})")
            if not args.validate:
                raise e from None
            validation.append({"path": shard.url, "kind": args.kind, "ok": False,
                               "problems": [str(e).removeprefix(f"{shard.url}: ")]})
            continue
        except InspectError as e:
            if not args.validate:
                raise
            validation.append({"path": shard.url, "kind": args.kind, "ok": False,
                               "problems": [str(e).removeprefix(f"{shard.url}: ")]})
            continue
        summaries.append(summary)
        group = summary.schema or "unknown"
        groups.setdefault(group, []).append(shard)
        schemas.setdefault(group, schema)
        if args.validate:
            validation.append({"path": shard.url, "kind": args.kind or summary.schema,
                               "ok": not problems, "problems": problems})
    if columns:
        known = {n for schema in schemas.values() for n in schema.names}
        missing = [c for c in columns if c not in known]
        if missing:
            raise InspectError(f"--columns: no column {', '.join(map(repr, missing))} in "
                               f"these files; columns are {', '.join(sorted(known))}")

    report: dict[str, Any] = {"files": [s.to_json() for s in summaries],
                              "total": _total(summaries)}
    lines = summary_lines(report["files"], report["total"])
    if incomplete:
        report["incomplete"] = incomplete
        lines += ["", *(f"WARNING: {n}" for n in incomplete)]
    for url, content in stats_files(args.paths):
        try:
            corpus_stats = from_json(content.decode("utf-8"))
            table = format_table(corpus_stats)
        except (ValueError, KeyError, TypeError) as e:
            lines += ["", f"{url}: not readable as m6 statistics ({e})"]
            continue
        report.setdefault("corpus_stats", {})[url] = corpus_stats
        lines += ["", f"From {url}:", table.rstrip("\n")]

    queries: dict[str, Query] = {}
    if args.where is not None:
        report["where"] = {"expr": args.where, "matches": {}, "skipped": {}}
        errors = []
        for group, members in groups.items():
            query = Query(members, args.where)
            try:
                report["where"]["matches"][group] = query.count()
                queries[group] = query
            except InspectError as e:
                report["where"]["skipped"][group] = str(e)
                errors.append(e)
        if not queries:
            raise errors[0] if errors else InspectError("no readable Parquet files to filter")
        lines += ["", f"--where {args.where}: " + ", ".join(
            f"{n:,} {g} rows match" for g, n in report["where"]["matches"].items())]
        lines += [f"  not applied to {g}: {msg}" for g, msg in report["where"]["skipped"].items()]

    if args.head is not None:
        rows = head(_all_batches(groups, schemas, queries, args.where,
                                 min(max(args.head, 1), BATCH_ROWS), columns, limit=args.head),
                    args.head)
        report["head"] = [{"file": f, "row": r, "values": {k: json_value(k, v, vals, args.width)
                                                           for k, v in vals.items()}}
                          for f, r, vals in rows]
        lines += ["", f"First {len(rows)} row{'' if len(rows) == 1 else 's'}"
                  + (" matching the filter" if args.where else "")]
        for f, r, vals in rows:
            lines.append(f"── {f} · row {r} ──")
            shown = {k: v for k, v in vals.items() if v is not None}
            w = max((len(k) for k in shown), default=0)
            lines += [f"  {k:<{w}}  {show_value(k, v, vals, args.width)}" for k, v in shown.items()]
            nulls = [k for k, v in vals.items() if v is None]
            if nulls:
                lines.append(f"  {'(null)':<{w}}  {', '.join(nulls)}")

    if args.stats:
        report["stats"] = {}
        for group, members in groups.items():
            cols = _columns_in(schemas[group], columns)
            if (args.where is not None and group not in queries) or cols == []:
                continue
            table = TableStats(pa.schema([schemas[group].field(c) for c in cols])
                               if cols else schemas[group])
            source = queries[group].batches(BATCH_ROWS, columns=cols) if group in queries \
                else shard_batches(members, BATCH_ROWS, cols)
            for _, _, batch in _progress(source, f"stats {group}"):
                table.add(batch)
            report["stats"][group] = table.to_json()
            lines += ["", *stats_lines(group, report["stats"][group])]

    failed = False
    if args.validate:
        report["validation"] = validation
        failed = any(not v["ok"] for v in validation)
        lines.append("")
        for v in validation:
            if v["ok"]:
                lines.append(f"OK    {v['path']} matches the m6 {v['kind']!r} schema")
            else:
                lines.append(f"FAIL  {v['path']}: " + "; ".join(v["problems"]))
        bad = sum(not v["ok"] for v in validation)
        lines.append(f"{bad} of {len(validation)} files do not match their m6 schema" if bad
                     else f"all {len(validation)} files match their m6 schema")

    if args.image is not None:
        report["image"] = write_image(groups, queries, args.image, args.out)
        img = report["image"]
        lines += ["", f"wrote the image of row {img['row']} of {img['file']} "
                      f"({img['format']} {img['width']}x{img['height']}, "
                      f"{human_bytes(img['bytes'])}) to {img['out']}"]

    return report, lines, failed


# --- pieces --------------------------------------------------------------------------------------

def head(batches: Iterator[Batch], n: int) -> list[tuple[str, int, dict[str, Any]]]:
    """The first ``n`` rows of ``batches`` as ``(file, row, values)``; stops pulling batches
    (and so stops reading the files) once it has them."""
    rows: list[tuple[str, int, dict[str, Any]]] = []
    if n == 0:
        return rows
    for url, indices, batch in batches:
        for index, values in zip(indices, batch.to_pylist()):
            rows.append((url, index, values))
            if len(rows) == n:
                return rows
    return rows


def validate_file(pf, kind: str | None) -> list[str]:
    """Every difference between the file and the project schema, and every null in a non-null
    column (from the row-group statistics when the writer kept them, else by reading it)."""
    kind = kind or kind_of(pf.schema_arrow)
    problems = schema_problems(pf.schema_arrow, kind)
    if problems:
        return problems
    meta = pf.metadata
    index = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
    for f in SCHEMAS[kind]:
        if f.nullable:
            continue
        j = index[f.name]
        nulls = 0
        for i in range(meta.num_row_groups):
            st = meta.row_group(i).column(j).statistics
            if st is not None and st.has_null_count:
                nulls += st.null_count
            else:
                nulls += pf.read_row_group(i, columns=[f.name]).column(0).null_count
        if nulls:
            problems.append(f"column {f.name!r} has {nulls} nulls but is non-null")
    return problems


def write_image(groups: dict[str, list[Shard]], queries: dict[str, Query], row: int,
                out: str) -> dict[str, Any]:
    """Write the image of row ``row`` (of the ``--where`` matches) of the image_text shards."""
    shards = groups.get("image_text")
    if not shards:
        raise InspectError(f"--image needs image_text shards; the files given hold "
                           f"{', '.join(sorted(groups))}")
    if row < 0:
        raise InspectError(f"--image ROW must be >= 0, got {row}")
    found = None
    if "image_text" in queries:
        for url, indices, batch in queries["image_text"].batches(1, limit=1, offset=row,
                                                                 columns=IMAGE_COLUMNS):
            found = (url, indices[0], batch.to_pylist()[0])
        total = "the matching"
    else:
        offset = row
        for shard in shards:
            with shard.open() as pf:
                n = pf.metadata.num_rows
                if offset < n:
                    rg, r = row_group_of(pf, offset)
                    try:
                        table = with_image_bytes(pf.read_row_group(rg, columns=IMAGE_COLUMNS))
                    except (OSError, pa.ArrowException, ValueError) as e:
                        raise unreadable(shard.url, rg, e) from None
                    found = (shard.url, offset, table.slice(r, 1).to_pylist()[0])
                    break
                offset -= n
        total = "all"
    if found is None:
        raise InspectError(f"--image {row}: no such row in {total} image_text rows")
    url, index, values = found
    data = values["image"]
    with fsspec.open(out, "wb") as f:
        f.write(data)
    fmt = (values.get("format") or "").lower()
    ext = out.rsplit(".", 1)[-1].lower() if "." in out else ""
    if fmt and ext and ext != fmt and not (ext in ("jpg", "jpeg") and fmt == "jpeg"):
        print(f"m6 inspect: note: the image is {fmt.upper()}, but {out} ends in .{ext}",
              file=sys.stderr)
    return {"file": url, "row": index, "format": values.get("format"),
            "width": values.get("width"), "height": values.get("height"), "bytes": len(data),
            "out": out}


def _all_batches(groups: dict[str, list[Shard]], schemas: dict[str, pa.Schema],
                 queries: dict[str, Query], where: str | None, batch_size: int,
                 columns: list[str] | None, limit: int | None = None) -> Iterator[Batch]:
    """Batches of every group of shards (filtered by its query under ``--where``), with the
    requested columns that the group's schema has."""
    for group, members in groups.items():
        cols = _columns_in(schemas[group], columns)
        if cols == [] or (where is not None and group not in queries):
            continue
        if where is None:
            yield from shard_batches(members, batch_size, cols)
        else:
            yield from queries[group].batches(batch_size, limit=limit, columns=cols)


def _columns_in(schema: pa.Schema, columns: list[str] | None) -> list[str] | None:
    """``columns`` that ``schema`` has (``None``: all of them)."""
    return None if columns is None else [c for c in columns if c in schema.names]


def _total(summaries: list[FileSummary]) -> dict[str, Any]:
    by: dict[str, dict[str, int]] = {}
    for s in summaries:
        b = by.setdefault(s.schema or "unknown", {"files": 0, "rows": 0, "bytes": 0})
        b["files"] += 1
        b["rows"] += s.rows
        b["bytes"] += s.bytes
    return {
        "files": len(summaries),
        "rows": sum(s.rows for s in summaries),
        "row_groups": sum(s.row_groups for s in summaries),
        "bytes": sum(s.bytes for s in summaries),
        "uncompressed_bytes": sum(s.uncompressed_bytes for s in summaries),
        "by_schema": by,
    }


def _progress(batches: Iterator[Batch], label: str) -> Iterator[Batch]:
    """Batches with a progress line on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield from batches
        return
    from tqdm import tqdm

    with tqdm(desc=label, unit=" rows", file=sys.stderr, leave=False) as bar:
        for item in batches:
            bar.update(item[2].num_rows)
            yield item


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _utf8(stream) -> None:
    """Print Chinese as characters even where the locale says ASCII (a C locale, a pipe)."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if encoding != "utf8" and hasattr(stream, "reconfigure"):
        stream.reconfigure(encoding="utf-8")
