"""Read plain-text dumps (JSON lines, gzipped or not) into ``Document`` records.

The paper's plain-text sources besides crawled pages (Table 1: encyclopedia, community QA, forum)
arrive as dumps with one JSON object a line::

    {"id": "qa-10001", "url": "https://...", "title": "为什么天空是蓝色的？", "text": "...",
     "source": "community_qa"}

``title`` and ``text`` are required (a QA dump's question is the title, its answer the text; the
aliases ``question``/``answer``, ``content``/``body`` are read too); ``id`` and ``url`` are
optional. The source of a line is the ``source`` argument if the caller gives one, else the
line's ``source`` field, else the dump's file name (``encyclopedia*.jsonl``,
``community_qa*.jsonl.gz``, ``forum*``). Document ids are ``make_id(source, key)`` with key the
URL, else ``id:<the line's id>``, else ``<file name>:<line number>``, so a rerun gives the same
ids wherever the dump is stored.

One bad line never stops the file: it becomes a rejected row (``kind="record"``,
``stage="parse"``) and the lines around it are read. Reasons: ``malformed_json``,
``too_deep`` (brackets nested deeper than ``max_json_depth``: ``corpus.parse.jsonl``),
``not_an_object``, ``empty_text`` (missing or blank text), ``bad_field`` (a non-string title,
text, url or id), ``unknown_source``, ``bad_encoding`` (not UTF-8), ``line_too_long``; a gzip
file cut short gives its lines up to the cut and one ``truncated_gzip`` row (``corrupt_gzip``
when a member does not inflate); an unexpected exception on one line is
``error:<ExceptionType>`` for that line, and the next line is read. Blank lines are skipped and counted. Short titles are *not*
rejected here: that is the cleaning stage's rule (paper 2.3), with its own reason.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec

from corpus.document import Document
from corpus.parse.counts import RecordCounts
from corpus.parse.jsonl import loads_limited
from schemas import SOURCES, RejectedRecord, make_id

STAGE = "parse"
DUMP_SOURCES = ("encyclopedia", "community_qa", "forum")
TEXT_KEYS = ("text", "answer", "content", "body")
TITLE_KEYS = ("title", "question")


@dataclass(frozen=True, kw_only=True)
class DumpConfig:
    """Limits of the dump reader."""

    max_line_bytes: int = 8 * 1024 * 1024  # a longer line is rejected unparsed (line_too_long)
    max_json_depth: int = 64  # deeper nesting is rejected unparsed (too_deep)


def source_from_name(path: str) -> str | None:
    """The dump source named by a file name (``forum-00001.jsonl.gz`` -> ``forum``), or None."""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower()
    for source in sorted(DUMP_SOURCES, key=len, reverse=True):
        if name.startswith(source) or f"_{source}" in name or f"-{source}" in name:
            return source
    return None


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for k in keys:
        if k in obj:
            return k, obj[k]
    return None, None


class _Line:
    __slots__ = ("raw", "number", "offset")

    def __init__(self, raw: bytes, number: int, offset: int):
        self.raw = raw
        self.number = number
        self.offset = offset


def _lines(f, max_bytes: int) -> Iterator[_Line]:
    offset = 0
    number = 0
    while True:
        raw = f.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            rest = 0
            while True:  # skip the rest of the over-long line
                more = f.readline(1 << 20)
                rest += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield _Line(b"", number, offset)
            offset += len(raw) + rest
            continue
        yield _Line(raw, number, offset)
        offset += len(raw)


def iter_dump_docs(path: str, *, source: str | None = None, counts: RecordCounts | None = None,
                   config: DumpConfig | None = None) -> Iterator[Document | RejectedRecord]:
    """Documents and rejected rows of one JSON-lines dump (local path or fsspec URL).

    Raises ``OSError`` only when the file cannot be opened.
    """
    cfg = config or DumpConfig()
    counts = counts if counts is not None else RecordCounts()
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    name = path.rstrip("/").rsplit("/", 1)[-1]
    default_source = source or source_from_name(path)
    with fsspec.open(path, "rb") as raw_f:
        magic = raw_f.read(2)
        raw_f.seek(0)
        f = gzip.GzipFile(fileobj=raw_f, mode="rb") if magic == b"\x1f\x8b" else raw_f
        line_no = 0
        last_offset = 0
        try:
            for line in _lines(f, cfg.max_line_bytes):
                line_no, last_offset = line.number, line.offset
                try:
                    out = _parse_line(line, name, path, source, default_source, counts, cfg)
                except Exception as e:  # noqa: BLE001 - one line's bug never loses the file
                    out = _line_error(line, name, path, default_source, counts, e)
                if out is not None:
                    yield out
        except EOFError as e:
            yield _file_damage(name, path, default_source, counts, "truncated_gzip",
                               f"the gzip stream ends after line {line_no}: {e}", last_offset)
        except (gzip.BadGzipFile, zlib.error, OSError) as e:
            yield _file_damage(name, path, default_source, counts, "corrupt_gzip",
                               f"after line {line_no}: {type(e).__name__}: {e}", last_offset)


def _line_error(line: _Line, name: str, path: str, source: str | None, counts: RecordCounts,
                exc: Exception) -> RejectedRecord:
    reason = f"error:{type(exc).__name__}"
    counts.reject(reason)
    src = source or "unknown"
    return RejectedRecord(id=make_id(src, f"{name}:{line.number}"), source=src, kind="record",
                          stage=STAGE, reason=reason, detail=f"line {line.number}: {exc}",
                          input_file=path, offset=line.offset)


def _file_damage(name: str, path: str, source: str | None, counts: RecordCounts, reason: str,
                 detail: str, offset: int) -> RejectedRecord:
    counts.records += 1
    counts.reject(reason)
    src = source or "unknown"
    return RejectedRecord(id=make_id(src, f"{name}@{reason}"), source=src, kind="record",
                          stage=STAGE, reason=reason, detail=detail, input_file=path, offset=offset)


def _parse_line(line: _Line, name: str, path: str, forced: str | None, default: str | None,
                counts: RecordCounts, cfg: DumpConfig) -> Document | RejectedRecord | None:
    def reject(reason: str, detail: str, src: str | None = None, key: str | None = None,
               url: str | None = None, title: Any = None) -> RejectedRecord:
        counts.reject(reason)
        s = src or default or "unknown"
        return RejectedRecord(
            id=make_id(s, key or f"{name}:{line.number}"), source=s, kind="record", stage=STAGE,
            reason=reason, detail=f"line {line.number}: {detail}", url=url,
            title=title if isinstance(title, str) else None,
            text=line.raw.decode("utf-8", "replace").rstrip("\r\n") or None,
            input_file=path, offset=line.offset)

    if not line.raw.strip():
        if line.raw:
            counts.skip("blank_line")
            return None
        counts.records += 1
        return reject("line_too_long", f"over max_line_bytes={cfg.max_line_bytes}")
    counts.records += 1
    try:
        text_line = line.raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return reject("bad_encoding", f"not UTF-8 at byte {e.start}")
    try:
        obj = loads_limited(text_line, cfg.max_json_depth, cfg.max_line_bytes)
    except ValueError as e:
        return reject(getattr(e, "reason", "malformed_json"), str(e))
    if not isinstance(obj, dict):
        return reject("not_an_object", f"a JSON {type(obj).__name__}, expected an object")
    line_source = obj.get("source")
    src = forced or (line_source if isinstance(line_source, str) and line_source else None) or default
    if src is None or src not in SOURCES:
        return reject("unknown_source", f"source {src!r} is not one of {', '.join(SOURCES)}; "
                      "set a 'source' field or name the file after its source")
    url, dump_id = obj.get("url"), obj.get("id")
    text_key, text = _first(obj, TEXT_KEYS)
    title_key, title = _first(obj, TITLE_KEYS)
    for field_name, value in (("url", url), (title_key or "title", title), (text_key or "text", text)):
        if value is not None and not isinstance(value, str):
            return reject("bad_field", f"{field_name} is of type {type(value).__name__}, expected a string",
                          src, title=title)
    if dump_id is not None and not isinstance(dump_id, (str, int)):
        return reject("bad_field", f"id is of type {type(dump_id).__name__}, expected a string or number", src, title=title)
    url = url.strip() or None if url else None
    key = url or (f"id:{dump_id}" if dump_id is not None else f"{name}:{line.number}")
    if text is None or not text.strip():
        return reject("empty_text", "no text" if text is None else "the text is blank", src, key,
                      url, title)
    counts.kept += 1
    return Document(id=make_id(src, key), source=src, text=text.replace("\r\n", "\n").strip(),
                    url=url, title=title.strip() if title else None, input_file=path,
                    offset=line.offset)
