"""How ``m6 inspect`` shows values and tables to a person (and in ``--json``).

Chinese is printed as characters, never as ``\\u`` escapes; a long string is cut after ``width``
characters with an ellipsis and its full length; table columns line up by display width (a Chinese
character takes two terminal columns, ``corpus/display_width.py``), not by characters; newlines show as ``⏎`` so a row stays readable;
binary values show as their size, and an ``image_text`` row's image as ``JPEG 640x480, 12.3 KB``
(from its ``format``, ``width`` and ``height`` columns).
"""

from __future__ import annotations

import re
from typing import Any

from corpus.display_width import ljust, rjust
from corpus.display_width import width as display_width
from corpus.stats import human_bytes

IMAGE_COLUMN = "image"

# Characters a terminal acts on rather than shows: C0 and C1 controls (ANSI escape sequences can
# rewrite the screen or set the window title) and the bidirectional overrides that make text read
# other than it is stored ("Trojan Source", CVE-2021-42574). Cell values and column names are
# data from the web, so every line printed for a person goes through ``printable``.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def json_safe(document: str) -> str:
    """A JSON document with the same characters escaped as ``\\uXXXX`` (``json.dumps`` with
    ``ensure_ascii=False`` leaves C1 controls and bidi overrides raw); still the same JSON."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def printable(line: str) -> str:
    """``line`` with every terminal control character shown as an escape (``\\x1b``)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", line)


def cut(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters (0: never cut) with ``…`` and length
    (characters, as ``--width`` says, so ``--json`` and a person see the same cut)."""
    flat = text.replace("\r\n", "⏎").replace("\n", "⏎")
    if width and len(flat) > width:
        return f"{flat[:width]}… ({len(text):,} chars)"
    return flat


def show_value(name: str, value: Any, row: dict[str, Any], width: int) -> str:
    """One cell of ``--head`` for a person."""
    if value is None:
        return "null"
    if isinstance(value, (bytes, bytearray)):
        if name == IMAGE_COLUMN and row.get("width") is not None:
            return (f"{row.get('format') or '?'} {row['width']}x{row.get('height')}, "
                    f"{human_bytes(len(value))} ({len(value):,} bytes)")
        return f"<{len(value):,} bytes>"
    if isinstance(value, str):
        return cut(value, width)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def json_value(name: str, value: Any, row: dict[str, Any], width: int) -> Any:
    """One cell of ``--head --json``: strings cut like ``show_value``, binary as its size."""
    if isinstance(value, (bytes, bytearray)):
        out: dict[str, Any] = {"bytes": len(value)}
        if name == IMAGE_COLUMN and row.get("width") is not None:
            out.update(format=row.get("format"), width=row["width"], height=row.get("height"))
        return out
    if isinstance(value, str):
        return cut(value, width) if width else value
    return value


def grid(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """A plain-text table: the columns in ``right`` (figures) right-aligned, others left."""
    widths = [max(display_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(rjust(c, w) if i in right else ljust(c, w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths), *[fmt(r) for r in rows]]


def summary_lines(files: list[dict[str, Any]], total: dict[str, Any]) -> list[str]:
    header = ["File", "Schema", "Version", "Rows", "Row groups", "Bytes", "Compression"]
    rows = [[f["path"], f["schema"] or "?", f["version"] or "?", f"{f['rows']:,}",
             f"{f['row_groups']:,}", human_bytes(f["bytes"]), ",".join(f["compression"]) or "-"]
            for f in files]
    lines = grid(header, rows, right={3, 4, 5})
    by = ", ".join(f"{k}: {_n(v['files'], 'file')}, {_n(v['rows'], 'row')}, "
                   f"{human_bytes(v['bytes'])}" for k, v in total["by_schema"].items())
    lines.append(f"Total: {_n(total['files'], 'file')}, {_n(total['rows'], 'row')}, "
                 f"{_n(total['row_groups'], 'row group')}, {human_bytes(total['bytes'])} "
                 f"({human_bytes(total['uncompressed_bytes'])} uncompressed)"
                 + (f"; {by}" if len(total["by_schema"]) > 1 else ""))
    return lines


def stats_lines(kind: str, stats: dict[str, dict[str, Any]]) -> list[str]:
    header = ["Column", "Type", "Nulls", "Of", "Min", "Mean", "Max", "Top values"]
    rows = []
    for name, s in stats.items():
        top = ", ".join(f"{v if v is not None else 'null'} ({n:,})" for v, n in s.get("top", []))
        if "true" in s:
            top = f"true: {s['true']:,}"
        rows.append([
            name, s["type"], f"{s['nulls']:,}", s.get("of", ""),
            _num(s.get("min")), _num(s.get("mean")), _num(s.get("max")), top,
        ])
    n = max((s["rows"] for s in stats.values()), default=0)
    if n == 0:
        return [f"Column statistics of {kind}: no rows"]
    lines = [f"Column statistics of {kind} ({n:,} rows)"]
    lines += grid(header, rows, right={2, 4, 5, 6})
    return [line.rstrip() for line in lines]


def _n(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return f"{v:,}" if isinstance(v, int) else str(v)
